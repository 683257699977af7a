"""``minutes people``: add with titles, list --json, import (row errors and a non-zero exit), export and import back,
retire; run in-process on a temp data folder as the operating-system user."""

from __future__ import annotations

import json

import pytest

from minutes.cli import main

ROSTER = (
    "氏名,よみ,区分,議席番号,会派,職名,就任日,退任日\n"
    "佐藤花子,さとうはなこ,議員,5,みらい会,,,\n"
    "鈴木健二,すずきけんじ,説明員,,,町長,令和5年4月1日,\n"
)


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINUTES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINUTES_DATABASE_URL", raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["people", *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def test_add_list_json_and_retire(cli):
    code, _, err = cli(
        "add", "高橋　一郎", "--yomi", "たかはしいちろう", "--seat", "10", "--group", "みらい会",
        "--title", "副議長", "--from", "R3.5.1", "--to", "2023/04/30", "--title", "議長", "--from", "2023/05/01",
    )  # fmt: skip
    assert code == 0 and "名簿に追加しました" in err
    assert cli("add", "鈴木健二", "--kind", "説明員", "--title", "町長")[0] == 0
    code, out, _ = cli("list", "--json")
    listed = json.loads(out)
    assert code == 0 and [p["name"] for p in listed] == ["高橋一郎", "鈴木健二"]
    assert listed[0] | {"id": 0} == {
        "id": 0, "name": "高橋一郎", "yomi": "たかはしいちろう", "kind": "議員", "seat": 10, "group": "みらい会",
        "retired": False, "title": "議長",
        "titles": [
            {"title": "副議長", "starts": "2021-05-01", "ends": "2023-04-30"},
            {"title": "議長", "starts": "2023-05-01", "ends": None},
        ],
    }  # fmt: skip
    assert cli("retire", "鈴木健二君")[0] == 0
    assert [p["name"] for p in json.loads(cli("list", "--json")[1])] == ["高橋一郎"]
    assert "鈴木健二" in cli("list", "--all")[1]


def test_bad_arguments_fail_clearly(cli):
    with pytest.raises(SystemExit) as exit_:
        cli("add", "佐藤花子", "--from", "2024/04/01")
    assert exit_.value.code == 2
    code, _, err = cli("add", "佐藤花子", "--title", "議長", "--from", "2024/13/01")
    assert code == 2 and "エラー: 就任日: 日付「2024/13/01」を読み取れません" in err
    code, _, err = cli("retire", "山田太郎")
    assert code == 5 and "名簿に「山田太郎」という人はいません" in err


def test_import_export_round_trip(cli, tmp_path):
    source = tmp_path / "名簿.csv"
    source.write_bytes(ROSTER.encode("cp932"))
    code, out, _ = cli("import", str(source))
    assert code == 0 and "追加 2 人" in out and "佐藤花子、鈴木健二" in out
    exported = tmp_path / "書き出し.csv"
    assert cli("export", str(exported))[0] == 0
    code, out, _ = cli("import", str(exported))
    assert code == 0 and "追加 0 人、更新 0 人、変更なし 2 人" in out
    assert cli("export")[1].encode("utf-8") == exported.read_bytes()  # to stdout, the same bytes
    bad = tmp_path / "bad.csv"
    bad.write_text("氏名,区分\n山田太郎,議員\n池田康弘,町長\n", encoding="utf-8")
    code, _, err = cli("import", str(bad))
    assert code == 2 and "3 行目: 区分「町長」" in err
    assert [p["name"] for p in json.loads(cli("list", "--json")[1])] == ["佐藤花子", "鈴木健二"]  # nothing added
