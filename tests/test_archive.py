"""Archive packages on real files: written on finalize, read-only, verified, a new version on every finalization."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import stat
from pathlib import Path

import docx
import pytest

from minutes.cli import main
from minutes.errors import InputError
from minutes.services import Principal, Services
from minutes.services.archive import verify
from minutes.settings import Settings
from tests.seeding import seed_meeting
from tests.test_materials import make_docx, make_pdf


def as_(engine, data: Path, name: str = "佐藤", settings: Settings | None = None) -> Services:
    """The services acting for the operating-system user ``name`` on the data folder ``data``."""
    return Services.for_user(engine, settings or Settings(data_dir=data), Principal.operator(name))


@pytest.fixture
def data(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def finalized(engine, data) -> tuple[int, Path]:
    """A finalized meeting with two materials; returns (meeting id, archive folder)."""
    meeting = seed_meeting(engine)
    materials = as_(engine, data, "佐藤").materials
    materials.add(meeting, make_pdf([["Budget"]]), original_name="../資料１.pdf", agenda_order=1)
    materials.add(meeting, make_docx(), original_name="補正予算の概要.docx")
    as_(engine, data, "課長").details.finalize(meeting, expected_version=1)
    return meeting, data / "archive" / str(meeting) / "v1"


def _writable(path: Path) -> None:
    for p in [path, *path.parents][:3]:
        p.chmod(p.stat().st_mode | stat.S_IWUSR)


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_finalize_writes_a_read_only_archive_with_a_manifest(engine, data, finalized):
    meeting, folder = finalized
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert names == [
        "manifest.json",
        "会議録.docx",
        "会議録.json",
        "会議録.txt",
        "資料/01_資料１.pdf",
        "資料/02_補正予算の概要.docx",
    ]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["version"] == 1 and manifest["finalized_by"] == "課長" and manifest["meeting"]["id"] == meeting
    assert manifest["software"]["name"] == "minutes" and manifest["created_at"]
    for entry in manifest["files"]:
        assert hashlib.sha256((folder / entry["path"]).read_bytes()).hexdigest() == entry["sha256"]
    assert {e["role"] for e in manifest["files"]} == {"minutes", "material"}
    # the 会議録 in the archive is the finalized one (no 案)
    text = "\n".join(p.text for p in docx.Document(str(folder / "会議録.docx")).paragraphs)
    assert "ただいまから本日の会議を開きます。" in text
    assert "（案）" not in (folder / "会議録.txt").read_text(encoding="utf-8")
    # read-only files and folders
    for path in [folder, *folder.rglob("*")]:
        assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH), path
    archives = as_(engine, data).archive.list(meeting)
    assert [(a.version, a.files, a.created_by) for a in archives] == [(1, 5, "課長")]
    assert verify(folder).ok


def test_verify_catches_a_changed_byte_a_missing_and_an_extra_file(engine, data, finalized, capsys, monkeypatch):
    _meeting, folder = finalized
    monkeypatch.setenv("MINUTES_DATA_DIR", str(data))
    monkeypatch.setenv("MINUTES_DATABASE_URL", str(engine.url))
    assert main(["archive", "verify", str(folder)]) == 0
    assert "検証OK" in capsys.readouterr().out
    _writable(folder / "会議録.txt")
    raw = bytearray((folder / "会議録.txt").read_bytes())
    raw[10] ^= 1
    (folder / "会議録.txt").write_bytes(bytes(raw))
    (folder / "資料" / "02_補正予算の概要.docx").unlink()
    (folder / "資料" / "メモ.txt").write_text("後から追加", encoding="utf-8")
    result = verify(folder)
    assert sorted((p.kind, p.path) for p in result.problems) == [
        ("changed", "会議録.txt"),
        ("extra", "資料/メモ.txt"),
        ("missing", "資料/02_補正予算の概要.docx"),
    ]
    assert main(["archive", "verify", str(folder)]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 3 and any(line.startswith("変更: 会議録.txt") for line in lines)
    assert any(line.startswith("欠落: ") for line in lines) and any(line.startswith("余分: ") for line in lines)
    assert "検証NG" in captured.err


def test_a_rewritten_manifest_shows_against_the_database(engine, data, finalized):
    _meeting, folder = finalized
    _writable(folder / "会議録.txt")
    (folder / "会議録.txt").write_text("書き換えた会議録", encoding="utf-8")
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        if entry["path"] == "会議録.txt":
            entry["sha256"] = hashlib.sha256("書き換えた会議録".encode()).hexdigest()
            entry["size"] = len("書き換えた会議録".encode())
    _writable(manifest_path)
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    assert verify(folder).ok  # the folder alone looks consistent …
    result = as_(engine, data).archive.verify(folder)
    assert [p.kind for p in result.problems] == ["manifest"]  # … but not against what was recorded


def test_reopen_and_finalize_again_makes_v2_and_leaves_v1(engine, data, finalized):
    meeting, v1 = finalized
    before = _digests(v1)
    editing = as_(engine, data)
    info = as_(engine, data, "課長").details.reopen(
        meeting, reason="発言訂正", expected_version=editing.details.meeting(meeting).edit_version
    )
    line = editing.transcript.page(meeting).lines[0]
    as_(engine, data, "佐藤").transcript.edit_text(
        line.id, text="ただいまから会議を開きます。", expected_version=line.version
    )
    as_(engine, data, "議会事務局長").details.finalize(meeting, expected_version=info.edit_version)
    v2 = v1.with_name("v2")
    assert _digests(v1) == before and verify(v1).ok and verify(v2).ok
    manifest = json.loads((v2 / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["version"] == 2 and manifest["finalized_by"] == "議会事務局長"
    assert "ただいまから会議を開きます。" in (v2 / "会議録.txt").read_text(encoding="utf-8")
    assert [a.version for a in as_(engine, data).archive.list(meeting)] == [1, 2]


def test_a_tampered_material_stops_finalization(engine, data):
    meeting = seed_meeting(engine)
    material = as_(engine, data, "佐藤").materials.add(meeting, b"memo", original_name="a.txt")
    material.path.write_bytes(b"changed")
    editing = as_(engine, data, "課長")
    with pytest.raises(InputError, match="登録時から変わっています"):
        editing.details.finalize(meeting, expected_version=1)
    assert not editing.details.meeting(meeting).finalized
    assert not list((data / "archive").rglob("*.pdf")) and not (data / "archive" / str(meeting) / "v1").exists()


def test_recording_is_included_when_configured_and_cli_create_list(engine, data, monkeypatch, capsys):
    monkeypatch.setenv("MINUTES_ARCHIVE_RECORDING", "1")
    (data / "recordings").mkdir(parents=True)
    (data / "recordings" / "sample.wav").write_bytes(b"RIFF....WAVE")
    meeting = seed_meeting(engine)
    from_env = dataclasses.replace(Settings.from_env(), data_dir=data)
    as_(engine, data, "課長", from_env).details.finalize(meeting, expected_version=1)
    folder = data / "archive" / str(meeting) / "v1"
    assert (folder / "録音" / "会議.wav").read_bytes() == b"RIFF....WAVE"
    monkeypatch.setenv("MINUTES_DATA_DIR", str(data))
    monkeypatch.setenv("MINUTES_DATABASE_URL", str(engine.url))
    assert main(["archive", "list", str(meeting)]) == 0
    assert "第1版" in capsys.readouterr().out
    assert main(["archive", "create", str(meeting)]) == 2  # v1 exists already
    assert "すでにあります" in capsys.readouterr().err
    assert main(["archive", "verify", str(data / "nowhere")]) == 2


def test_zip_download_is_an_export_of_a_known_archive_only(engine, data, tmp_path):
    import io
    import zipfile

    from minutes.errors import NotFoundError

    meeting = seed_meeting(engine)
    as_(engine, data, "課長").details.finalize(meeting, expected_version=1)
    archives = as_(engine, data).archive
    folder = archives.list(meeting)[0].path
    with zipfile.ZipFile(io.BytesIO(as_(engine, data, "課長").archive.zip_bytes(folder))) as archive:
        names = archive.namelist()
    assert f"{meeting}-v1/manifest.json" in names and any(n.endswith("会議録.docx") for n in names)
    assert as_(engine, data).details.events(meeting)[-1].action == "export"
    elsewhere = tmp_path / "not-an-archive"
    elsewhere.mkdir()
    (elsewhere / "secret.txt").write_text("x")
    with pytest.raises(NotFoundError):
        archives.zip_bytes(elsewhere)  # never any folder on the server
