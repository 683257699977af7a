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


# ---------------------------------------------------------------- issue 16: the manifest's hash in the audit trail


def _rewrite_consistently(folder: Path, text: str = "書き換えた会議録") -> str:
    """Change 会議録.txt and rewrite the manifest to match (what a careful forger does); the manifest's new SHA-256."""
    _writable(folder / "会議録.txt")
    (folder / "会議録.txt").write_text(text, encoding="utf-8")
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        if entry["path"] == "会議録.txt":
            entry["sha256"] = hashlib.sha256(text.encode()).hexdigest()
            entry["size"] = len(text.encode())
    _writable(manifest_path)
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return hashlib.sha256(manifest_path.read_bytes()).hexdigest()


def _sql(engine, statement: str, **values) -> None:
    """A raw write, as anyone holding the database file can make one (the append-only triggers dropped first)."""
    import sqlalchemy

    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("DROP TRIGGER IF EXISTS auditevent_no_update"))
        connection.execute(sqlalchemy.text(statement), values)


def test_the_audit_trail_keeps_the_manifest_hash_and_verify_says_it_checked_it(
    engine, data, finalized, capsys, monkeypatch
):
    _meeting, folder = finalized
    event = next(e for e in as_(engine, data).audit.events() if e.action == "archive")
    assert event.after["manifest_sha256"] == hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()
    result = as_(engine, data).archive.verify(folder)
    assert result.ok and result.recorded and "目録のハッシュは監査ログの記録と一致しました" in result.note
    monkeypatch.setenv("MINUTES_DATA_DIR", str(data))
    monkeypatch.setenv("MINUTES_DATABASE_URL", str(engine.url))
    assert main(["archive", "verify", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "目録のハッシュは監査ログの記録と一致しました" in out and "検証OK" in out


def test_files_manifest_and_the_archive_column_rewritten_together_still_show(engine, data, finalized):
    """Issue 16 D: before, rewriting the files, the manifest and ``archive.manifest_sha256`` verified as OK."""
    _meeting, folder = finalized
    forged = _rewrite_consistently(folder)
    _sql(engine, "UPDATE archive SET manifest_sha256 = :forged", forged=forged)
    result = as_(engine, data).archive.verify(folder)
    assert not result.ok and not result.recorded
    kinds = sorted(p.kind for p in result.problems)
    assert kinds == ["manifest", "record"]  # the manifest against the trail; the column disagrees with the trail
    assert any("監査ログ" in p.line for p in result.problems)


def test_an_audit_event_rewritten_to_match_shows_too(engine, data, finalized):
    """Changing the archive event's recorded hash as well breaks the event's own link in the chain."""
    _meeting, folder = finalized
    forged = _rewrite_consistently(folder)
    _sql(engine, "UPDATE archive SET manifest_sha256 = :forged", forged=forged)
    _sql(
        engine,
        "UPDATE auditevent SET after = json_set(after, '$.manifest_sha256', :forged) WHERE action = 'archive'",
        forged=forged,
    )
    result = as_(engine, data).archive.verify(folder)
    assert [p.kind for p in result.problems] == ["record"] and "audit verify" in result.problems[0].detail


def test_a_copy_elsewhere_is_checked_against_the_trail_or_says_plainly_it_could_not(engine, data, finalized, tmp_path):
    import shutil

    from minutes.store.engine import make_engine, migrate

    _meeting, folder = finalized
    copy = tmp_path / "dvd" / "v1"
    shutil.copytree(folder, copy)
    result = as_(engine, data).archive.verify(copy)  # found in this data folder's trail by meeting and version
    assert result.ok and result.recorded and "目録のハッシュは監査ログの記録と一致しました" in result.note
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")  # another installation: nothing recorded there
    migrate(other)
    try:
        result = as_(other, tmp_path / "other").archive.verify(copy)
    finally:
        other.dispose()
    assert result.ok and not result.recorded
    assert result.note.startswith("記録されたハッシュと照合できませんでした（")
    assert "ファイルが目録と一致することだけを確かめました" in result.note


# ---------------------------------------------------------------- issue 16: no write lock while copying


def _job_heartbeat_through_another_engine(url) -> None:
    """The worker's heartbeat, from another connection that waits at most 0.2 s for the write lock."""
    import sqlalchemy

    other = sqlalchemy.create_engine(url, connect_args={"timeout": 0.2})
    try:
        with other.begin() as connection:
            connection.execute(sqlalchemy.text("UPDATE job SET heartbeat_at = '2026-01-01 00:00:00.000000'"))
    finally:
        other.dispose()


def test_finalize_copies_and_hashes_with_no_write_transaction_open(engine, data, monkeypatch):
    """Issue 16 B: before, finalize held the write lock while copying a 4 GB recording (22 s): every writer waited."""
    from minutes.services import archive_writer

    monkeypatch.setenv("MINUTES_ARCHIVE_RECORDING", "1")
    (data / "recordings").mkdir(parents=True)
    (data / "recordings" / "sample.wav").write_bytes(b"RIFF....WAVE" * 1000)
    meeting = seed_meeting(engine)
    as_(engine, data, "佐藤").materials.add(meeting, b"memo", original_name="a.txt")
    copied = []
    original = archive_writer.copy_hashed

    def copy_while_someone_writes(source, target):
        _job_heartbeat_through_another_engine(engine.url)  # raises "database is locked" if the lock is held
        copied.append(source.name)
        return original(source, target)

    monkeypatch.setattr(archive_writer, "copy_hashed", copy_while_someone_writes)
    from_env = dataclasses.replace(Settings.from_env(), data_dir=data)
    info = as_(engine, data, "課長", from_env).details.finalize(meeting, expected_version=1)
    assert info.finalized and len(copied) == 2  # the material and the recording
    assert verify(data / "archive" / str(meeting) / "v1").ok


def test_a_change_while_the_archive_is_staged_is_an_edit_conflict(engine, data, monkeypatch):
    from minutes.errors import EditConflict
    from minutes.services import archive_writer

    meeting = seed_meeting(engine)
    as_(engine, data, "佐藤").materials.add(meeting, b"memo", original_name="a.txt")
    original = archive_writer.copy_hashed

    def copy_while_someone_edits(source, target):
        editing = as_(engine, data, "佐藤").transcript
        line = editing.page(meeting).lines[0]
        editing.edit_text(line.id, text="確定の直前に直した発言。", expected_version=line.version)
        return original(source, target)

    monkeypatch.setattr(archive_writer, "copy_hashed", copy_while_someone_edits)
    with pytest.raises(EditConflict, match="確定の準備中に"):
        as_(engine, data, "課長").details.finalize(meeting, expected_version=1)
    assert not as_(engine, data).details.meeting(meeting).finalized
    assert not list((data / "archive" / str(meeting)).iterdir())  # neither v1 nor its staging folder
    monkeypatch.setattr(archive_writer, "copy_hashed", original)
    as_(engine, data, "課長").details.finalize(meeting, expected_version=1)  # the latest text, once more
    assert "確定の直前に直した発言。" in (data / "archive" / str(meeting) / "v1" / "会議録.txt").read_text("utf-8")


# ---------------------------------------------------------------- issue 16: staging left by kill -9

KILLED_FINALIZE = """
import os, sys, time
from pathlib import Path
from minutes.services import Principal, Services, archive_writer
from minutes.settings import Settings
from minutes.store.engine import make_engine

def hang(source, target):
    Path(target).write_bytes(b"half a recording")
    print("copying", flush=True)
    time.sleep(60)

archive_writer.copy_hashed = hang
engine = make_engine(sys.argv[1])
services = Services.for_user(engine, Settings(data_dir=Path(sys.argv[2])), Principal.operator("課長"))
services.details.finalize(int(sys.argv[3]), expected_version=1)
"""


def test_staging_left_by_a_killed_finalize_is_removed_at_the_next_start(engine, data, tmp_path):
    """Issue 16 C: before, ``kill -9`` during finalize left ``archive/<id>/.v1.<uuid>.part`` forever."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from minutes.services.archive import sweep_staging
    from minutes.services.archive_writer import staging_name

    meeting = seed_meeting(engine)
    as_(engine, data, "佐藤").materials.add(meeting, b"memo", original_name="a.txt")
    script = tmp_path / "killed.py"
    script.write_text(KILLED_FINALIZE, encoding="utf-8")
    child = subprocess.Popen(
        [sys.executable, str(script), str(engine.url), str(data), str(meeting)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert child.stdout.readline().strip() == "copying"
    child.send_signal(signal.SIGKILL)
    child.wait()
    root = data / "archive" / str(meeting)
    (killed,) = [p for p in root.iterdir() if p.name.endswith(".part")]
    # beside it: a finalization still running in this process, one of another host (fresh), an old-style name left
    # an hour ago, and a never-committed archive set aside
    running = root / staging_name("v2")
    elsewhere = root / ".v3.0123456789ab.p1.h00000000.part"
    old_style = root / f".v4.{'0' * 32}.part"
    aside = root / "v5.abandoned-1234abcd"
    for folder in (running, elsewhere, old_style, aside):
        folder.mkdir()
        (folder / "会議録.txt").write_text("途中")
    an_hour_ago = time.time() - 3700
    for path in (old_style, old_style / "会議録.txt"):
        os.utime(path, (an_hour_ago, an_hour_ago))
    removed = sweep_staging(Settings(data_dir=data))
    assert sorted(p.name for p in removed) == sorted([killed.name, old_style.name, aside.name])
    assert running.exists() and elsewhere.exists() and not killed.exists()
    # and the next finalization (which sweeps first, too) works
    as_(engine, data, "課長").details.finalize(meeting, expected_version=1)
    assert verify(root / "v1").ok
