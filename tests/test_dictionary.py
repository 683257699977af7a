"""用語辞書: terms stored, edited under permissions and audited; CSV import all or nothing (bad rows, BOM); the
meeting's own words; what a job is queued and run with; the ``minutes dictionary`` commands.

Real services on a temp SQLite database; no models are loaded.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import Session, SQLModel

from minutes import store
from minutes.cli import main
from minutes.errors import InputError, PermissionDenied
from minutes.pipeline import PipelineOptions
from minutes.pipeline.vocabulary import builtin_terms
from minutes.records import Term
from minutes.services import Role, Runtime
from minutes.services.dictionary import recognition_terms, with_meeting_terms
from minutes.services.views import AgendaEntry, MeetingDetails, Person
from minutes.services.worker import Worker
from minutes.settings import ENVIRONMENT, Settings
from minutes.store.tables import DEFAULT_ORG, JobStatus
from tests.media import write_wav
from tests.seeding import seed_meeting, set_details
from tests.test_auth import PASSWORD
from tests.test_ui_pages import fake_pipeline

GOOD = (
    "表記,読み,種別\n町営バス東循環線,ちょうえいばすひがしじゅんかんせん,事業\n山田 花子,やまだ はなこ,人名\n冠水,,\n"
)


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    monkeypatch.setenv("MINUTES_DATA_DIR", str(data))
    runtime = Runtime(Settings(data_dir=data, database_url=f"sqlite:///{data / 'minutes.db'}", device="cpu"))
    yield runtime
    runtime.engine.dispose()


def user(runtime, role: Role):
    accounts = runtime.operator("system").accounts
    return runtime.services(accounts.create_user(role.value, role, PASSWORD, must_change_password=False))


def audit_actions(runtime) -> list[str]:
    return [e.action for e in runtime.operator("system").audit.events()]


def test_a_clerk_adds_edits_and_deletes_terms_and_each_change_is_audited(runtime):
    dictionary = user(runtime, Role.CLERK).dictionary
    term = dictionary.add(" 町営バス ", reading="ちょうえいバス", kind="事業")
    assert (term.text, term.reading, term.kind, term.updated_by) == ("町営バス", "ちょうえいバス", "事業", "書記")
    with pytest.raises(InputError, match="すでに登録"):
        dictionary.add("町営バス")
    changed = dictionary.update(term.id, "町営バス東循環線", reading="", kind="事業")
    assert changed.text == "町営バス東循環線"
    assert [t.text for t in dictionary.terms(query="循環")] == ["町営バス東循環線"]
    assert [t.text for t in dictionary.terms(query="ちょうえい")] == []  # the reading was cleared
    dictionary.delete(term.id)
    assert dictionary.terms() == []
    assert {"term_add", "term_update", "term_delete"} <= set(audit_actions(runtime))


@pytest.mark.parametrize(
    ("text", "reading", "kind", "message"),
    [
        ("", "", "その他", "表記が空"),
        ("あ" * 61, "", "その他", "長すぎ"),
        ("町長", "chouchou", "その他", "ひらがな・カタカナ"),
        ("町長", "", "役職", "種別「役職」は使えません"),
    ],
)
def test_bad_terms_are_refused_in_japanese(runtime, text, reading, kind, message):
    with pytest.raises(InputError, match=message):
        user(runtime, Role.ADMIN).dictionary.add(text, reading=reading, kind=kind)


def test_everyone_who_reads_may_read_the_dictionary_only_clerks_and_administrators_change_it(runtime):
    runtime.operator("system").dictionary.add("桜川町", kind="地名")
    for role in (Role.VIEWER, Role.EDITOR):
        services = user(runtime, role)
        assert [t.text for t in services.dictionary.terms()] == ["桜川町"]
        assert services.dictionary.export_csv().decode("utf-8-sig").startswith("表記,読み,種別")
        with pytest.raises(PermissionDenied, match="用語辞書の編集"):
            services.dictionary.add("町民センター")
        with pytest.raises(PermissionDenied):
            services.dictionary.import_csv(GOOD.encode())
    user(runtime, Role.ADMIN).dictionary.add("町民センター", kind="施設")


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["utf8", "utf8-bom"])
def test_csv_import_with_or_without_bom_adds_and_updates(runtime, bom):
    dictionary = user(runtime, Role.CLERK).dictionary
    dictionary.add("冠水", reading="かんすい", kind="その他")
    result = dictionary.import_csv(bom + GOOD.replace("\n", "\r\n").encode())
    assert (result.added, result.updated, result.unchanged) == (2, 1, 0)
    assert {t.text: (t.reading, t.kind) for t in dictionary.terms()} == {
        "町営バス東循環線": ("ちょうえいばすひがしじゅんかんせん", "事業"),
        "山田 花子": ("やまだ はなこ", "人名"),
        "冠水": ("", "その他"),  # the CSV's row wins
    }
    again = dictionary.import_csv(bom + GOOD.encode())
    assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
    assert "dictionary_import" in audit_actions(runtime)


def test_a_csv_with_bad_rows_says_which_and_imports_nothing(runtime):
    dictionary = user(runtime, Role.CLERK).dictionary
    bad = (
        "表記,読み,種別\n"
        "町営バス,ちょうえいばす,事業\n"
        ",よみ,人名\n"  # line 3: no 表記
        "議会だより,gikai,その他\n"  # line 4: reading not kana
        "町営バス,,事業\n"  # line 5: duplicate
        "桜川,さくらがわ,川\n"  # line 6: unknown kind
        "a,b,その他,extra\n"  # line 7: too many columns
    )
    with pytest.raises(InputError) as raised:
        dictionary.import_csv(bad.encode())
    message = raised.value.message
    assert "誤りが 5 件" in message and "取り込みませんでした" in message
    lines = ("3行目: 表記が空", "4行目: 読みは", "5行目: 「町営バス」が重複", "6行目: 種別「川」", "7行目: 列が多すぎ")
    for line in lines:
        assert line in message
    assert dictionary.terms() == []  # nothing half-imported


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("名前,よみ\n町長,ちょうちょう\n".encode(), "見出し"),
        ("表記,読み,種別\n町長,ちょうちょう,議会用語\n".encode("cp932"), "UTF-8"),
        (b"", "見出し"),
        ("表記,読み,種別\n".encode(), "用語がありません"),
    ],
    ids=["header", "shift-jis", "empty", "header-only"],
)
def test_csv_that_is_no_dictionary_is_refused(runtime, data, message):
    with pytest.raises(InputError, match=message):
        user(runtime, Role.CLERK).dictionary.import_csv(data)


def test_export_is_utf8_with_bom_and_imports_back(runtime):
    dictionary = runtime.operator("system").dictionary
    dictionary.import_csv(GOOD.encode())
    data = dictionary.export_csv()
    assert data.startswith(b"\xef\xbb\xbf\xe8\xa1\xa8\xe8\xa8\x98")  # BOM, 表記
    dictionary.import_csv(data)
    assert dictionary.count() == 3


def test_a_job_favours_the_meetings_words_then_the_dictionary_then_the_builtins(runtime):
    services = runtime.operator("system")
    services.dictionary.import_csv(GOOD.encode())
    options = services.meetings.pipeline_options()
    terms = options.transcription.terms
    assert [t.source for t in terms[:3]] == ["dictionary"] * 3 and terms[3:] == builtin_terms()
    assert services.meetings.pipeline_options(dictionary=False).transcription.terms == ()
    # stored with the job and read back as records
    again = PipelineOptions.from_dict(json.loads(json.dumps(options.to_dict())))
    assert again == options

    meeting_id = seed_meeting(runtime.engine)
    details = MeetingDetails(
        attendees=(Person("鈴木 健二", 1),),
        agenda=(AgendaEntry("町営バスの運行について", 1, "議案第５号"),),
    )
    set_details(runtime.engine, runtime.settings.data_dir, meeting_id, details)
    with Session(runtime.engine) as session:
        run = with_meeting_terms(session, meeting_id, options).transcription.terms
        roster = recognition_terms(
            session, org_id=DEFAULT_ORG, meeting_id=meeting_id, extra=[Term("佐藤 一郎", "", "人名", "roster")]
        )
    assert [(t.text, t.kind, t.source) for t in run[:3]] == [
        ("鈴木 健二", "人名", "meeting"),
        ("議案第５号", "その他", "meeting"),
        ("町営バスの運行について", "その他", "meeting"),
    ]
    assert run[3:] == terms
    assert [t.text for t in roster[:4]] == ["鈴木 健二", "議案第５号", "町営バスの運行について", "佐藤 一郎"]
    assert roster[3].source == "meeting"  # extra terms (the roster's people) rank with the meeting's own
    with Session(runtime.engine) as session:  # without terms (dictionary off) nothing is added
        off = services.meetings.pipeline_options(dictionary=False)
        assert with_meeting_terms(session, meeting_id, off) == off
        assert store.count_dictionary_terms(session, org_id=DEFAULT_ORG) == 3


def test_the_worker_adds_the_agenda_entered_after_queueing_and_stores_what_it_ran_with(runtime, tmp_path, monkeypatch):
    seen = []

    def pipeline(source, work_dir, model_path, options, progress, max_duration=None, **identification):
        seen.append(options)
        return fake_pipeline(source, work_dir, model_path, options, progress, max_duration)

    monkeypatch.setattr("minutes.services.worker.run_pipeline", pipeline)
    monkeypatch.setattr("minutes.services.runtime.Runtime.whisper_model_path", lambda self, *_: tmp_path)
    services = runtime.operator("書記")
    services.dictionary.add("町営バス", kind="事業")
    recording = write_wav(tmp_path / "call.wav", np.zeros(16_000, dtype=np.float32) + 0.01)
    meeting_id, job_id = services.meetings.create(recording, title="定例会")
    details = MeetingDetails(agenda=(AgendaEntry("町営バスの運行について", 1, "議案第５号"),))
    set_details(runtime.engine, runtime.settings.data_dir, meeting_id, details)  # after the job was queued

    assert Worker(runtime).run_job(job_id) == JobStatus.SUCCEEDED
    terms = seen[0].transcription.terms
    assert [t.text for t in terms[:3]] == ["議案第５号", "町営バスの運行について", "町営バス"]
    with Session(runtime.engine) as session:
        stored = PipelineOptions.from_dict(store.get_job(session, job_id=job_id).options)
    assert stored.transcription.terms == terms  # the job's record says what it ran with


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_dictionary_commands(runtime, tmp_path, capsys):
    source = tmp_path / "town.csv"
    source.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    code, out, _ = run_cli(capsys, "dictionary", "import", str(source))
    assert code == 0 and "追加 3 語" in out
    add = ("dictionary", "add", "中央公民館", "--yomi", "ちゅうおうこうみんかん", "--kind", "施設")
    code, out, _ = run_cli(capsys, *add)
    assert code == 0 and "中央公民館" in out
    code, out, _ = run_cli(capsys, "dictionary", "list", "--json")
    listed = json.loads(out)
    assert {t["表記"]: t["種別"] for t in listed} == {
        "町営バス東循環線": "事業",
        "山田 花子": "人名",
        "冠水": "その他",
        "中央公民館": "施設",
    }
    code, out, _ = run_cli(capsys, "dictionary", "list", "--kind", "人名")
    assert "山田 花子（やまだ はなこ）" in out and "冠水" not in out
    code, out, _ = run_cli(capsys, "dictionary", "delete", "冠水")
    assert code == 0
    target = tmp_path / "out.csv"
    code, _, _ = run_cli(capsys, "dictionary", "export", "-o", str(target))
    assert target.read_bytes().decode("utf-8-sig").splitlines()[0] == "表記,読み,種別"
    assert len(target.read_bytes().decode("utf-8-sig").splitlines()) == 4

    bad = tmp_path / "bad.csv"
    bad.write_text("表記,読み,種別\n町長,ちょうちょう,役職\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "dictionary", "import", str(bad))
    assert code == 2 and "2行目" in err
    code, _, err = run_cli(capsys, "dictionary", "add", "町長", "--yomi", "cho")
    assert code == 2 and "ひらがな" in err


def test_migration_0007_makes_the_table_as_the_model_has_it(runtime):
    with runtime.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert [d for d in differences if "dictionaryterm" in repr(d)] == []
