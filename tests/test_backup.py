"""A damaged database told plainly (issue 16 A), ``minutes db check``, and ``minutes backup`` / ``minutes restore``."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from minutes.cli import main
from minutes.services import Principal, Services
from minutes.settings import Settings
from minutes.store.engine import make_engine, migrate
from tests.seeding import seed_meeting

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def data(tmp_path, monkeypatch) -> Path:
    """The data folder of the commands (``MINUTES_DATA_DIR``), with its default database."""
    folder = tmp_path / "data"
    monkeypatch.setenv("MINUTES_DATA_DIR", str(folder))
    monkeypatch.delenv("MINUTES_DATABASE_URL", raising=False)
    return folder


def _damage(path: Path, *, header: bool) -> None:
    """``header``: not a database at all (what a bad copy or a disk leaves); else garbage over its pages."""
    raw = bytearray(path.read_bytes())
    start = 0 if header else 4096
    for offset in range(start, len(raw), 4096):
        raw[offset + 8 : offset + 400] = b"\xa5" * 392
    path.write_bytes(bytes(raw))
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _populated(data: Path) -> Path:
    """A data folder with a finalized meeting (its archive), a material and a recording; returns the database."""
    data.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{data / 'minutes.db'}")
    migrate(engine)
    (data / "recordings").mkdir()
    (data / "recordings" / "sample.wav").write_bytes(b"RIFF....WAVE" * 100)
    meeting = seed_meeting(engine)
    services = Services.for_user(engine, Settings(data_dir=data), Principal.operator("佐藤"))
    services.materials.add(meeting, "予算の説明".encode(), original_name="説明.txt")
    services.details.finalize(meeting, expected_version=1)
    for cache in ("playback", "previews", "work"):
        (data / cache).mkdir(exist_ok=True)
        (data / cache / "cached.bin").write_bytes(b"cache")
    engine.dispose()
    return data / "minutes.db"


def _tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.endswith(("-wal", "-shm"))
    }


# ---------------------------------------------------------------- a damaged database, told plainly


@pytest.mark.parametrize(
    "argv",
    [
        ["show", "1"],
        ["user", "list"],
        ["archive", "list", "1"],
        ["search", "予算"],
        ["export", "1", "--format", "txt"],
        ["audit", "export", "-o", "-"],
        ["audit", "verify"],
        ["retry", "1", "--queue-only"],
    ],
)
@pytest.mark.parametrize("header", [True, False], ids=["not-a-database", "malformed"])
def test_a_damaged_database_is_one_japanese_line_from_every_command(data, capsys, argv, header):
    """Issue 16 A: before, every command printed a 131-line traceback."""
    database = _populated(data)
    _damage(database, header=header)
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    assert len(err.splitlines()) == 1 and err.startswith("エラー: データベースのファイル（")
    assert "minutes restore" in err and "minutes db check" in err


def test_a_database_that_cannot_be_opened_says_where_and_what_to_check(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "a-folder-not-a-file"
    folder.mkdir()
    monkeypatch.setenv("MINUTES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MINUTES_DATABASE_URL", f"sqlite:///{folder}")
    assert main(["user", "list"]) != 0
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "を開けません" in err and "MINUTES_DATA_DIR" in err


def test_the_app_shows_a_japanese_page_for_a_damaged_database(data):
    """Issue 16 A: before, the app showed Streamlit's English error page with a traceback."""
    _damage(_populated(data), header=True)
    st.cache_resource.clear()
    try:
        app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=30).run()
    finally:
        st.cache_resource.clear()
    assert not app.exception
    assert app.error and "データベースのファイル" in app.error[0].value and "minutes restore" in app.error[0].value
    assert "管理者に連絡してください" in app.info[0].value


def test_db_check_says_ok_or_lists_the_problems(data, capsys):
    database = _populated(data)
    assert main(["db", "check"]) == 0
    assert capsys.readouterr().out.startswith(f"OK: データベース {database} に問題はありません（integrity_check")
    assert main(["db", "check", "--quick"]) == 0
    assert "quick_check" in capsys.readouterr().out
    _damage(database, header=False)
    assert main(["db", "check"]) == 1
    captured = capsys.readouterr()
    assert captured.out.strip() and "問題があります" in captured.err and "minutes restore" in captured.err
    _damage(database, header=True)
    assert main(["db", "check"]) == 1
    assert "データベースとして読めません" in capsys.readouterr().out


# ---------------------------------------------------------------- backup and restore


def test_backup_while_the_app_writes_then_restore_a_damaged_data_folder(data, tmp_path, capsys):
    database = _populated(data)
    before = _tree(data)
    app = make_engine(f"sqlite:///{database}")  # the app, with the database open and writing
    services = Services.for_user(app, Settings(data_dir=data), Principal.operator("佐藤"))
    services.details.meeting(1)
    target = tmp_path / "backups" / "2026-04-01"
    assert main(["backup", str(target)]) == 0
    assert "バックアップを作成しました" in capsys.readouterr().out
    services.materials.add(seed_meeting(app), b"after the backup", original_name="later.txt")
    app.dispose()

    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    listed = {f["path"]: f for f in manifest["files"]}
    assert manifest["format"] == "minutes-backup/1" and manifest["schema_version"] == "0007"
    assert manifest["audit"]["last_hash"] and manifest["created_at"] and manifest["created_by"]
    assert "minutes.db" in listed and "recordings/sample.wav" in listed
    assert any(p.startswith("materials/") for p in listed) and any(p.startswith("archive/1/v1/") for p in listed)
    assert not any(p.startswith(("playback/", "previews/", "work/")) for p in listed)  # caches stay out
    for path, entry in listed.items():
        assert hashlib.sha256((target / path).read_bytes()).hexdigest() == entry["sha256"]
        assert (target / path).stat().st_size == entry["size"]
    assert not list(target.parent.glob(".*.part"))

    _damage(database, header=True)
    assert main(["restore", str(target)]) == 0
    out = capsys.readouterr().out
    assert "ファイルを復元しました" in out and "復元前のデータは" in out
    (kept,) = data.glob("before-restore-*")
    assert (kept / "minutes.db").exists() and (kept / "playback" / "cached.bin").exists()
    restored = _tree(data)
    for path, digest in before.items():
        if path != "minutes.db" and not path.startswith(("playback/", "previews/", "work/")):
            assert restored[path] == digest, path
    assert not (data / "playback").exists() and not list(data.glob(".restore-*"))
    assert main(["db", "check"]) == 0
    assert main(["audit", "verify"]) == 0
    assert main(["archive", "verify", str(data / "archive" / "1" / "v1")]) == 0
    out = capsys.readouterr().out
    assert "目録のハッシュは監査ログの記録と一致しました" in out
    engine = make_engine(f"sqlite:///{database}")
    events = Services.for_user(engine, Settings(data_dir=data), Principal.operator("root")).audit.events()
    engine.dispose()
    assert events[-1].action == "restore" and events[-1].after["from"] == str(target.resolve())
    assert not any(e.after and e.after.get("name") == "later.txt" for e in events)  # the state of the backup


def test_restore_refuses_a_changed_backup_and_leaves_the_data_folder_as_it_was(data, tmp_path, capsys):
    _populated(data)
    target = tmp_path / "backup"
    assert main(["backup", str(target)]) == 0
    recording = target / "recordings" / "sample.wav"
    recording.write_bytes(recording.read_bytes()[:-1] + b"X")
    before = _tree(data)
    capsys.readouterr()
    assert main(["restore", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("エラー: バックアップの「recordings/sample.wav」が目録と一致しません")
    assert _tree(data) == before and not list(data.glob(".restore-*")) and not list(data.glob("before-restore-*"))
    assert main(["restore", str(tmp_path / "nowhere")]) == 2
    assert "バックアップのフォルダではありません" in capsys.readouterr().err


def test_restore_refuses_while_the_database_is_in_use(data, tmp_path, capsys):
    database = _populated(data)
    target = tmp_path / "backup"
    assert main(["backup", str(target)]) == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA journal_mode=WAL'); c.execute('SELECT 1 FROM user')\n"
            "print('open', flush=True); time.sleep(30)",
            str(database),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        before = _tree(data)
        capsys.readouterr()
        assert main(["restore", str(target)]) == 1
        err = capsys.readouterr().err
        assert "使用中です" in err and "止めてから" in err
        assert _tree(data) == before
    finally:
        holder.kill()
        holder.wait()
    assert main(["restore", str(target)]) == 0  # once the app has stopped


def test_a_restore_that_fails_half_way_through_the_swap_is_undone(data, tmp_path, monkeypatch, capsys):
    _populated(data)
    target = tmp_path / "backup"
    assert main(["backup", str(target)]) == 0
    (data / "materials" / "added-after-the-backup.txt").write_text("新しい資料")
    before = _tree(data)
    real_rename = Path.rename

    def failing_rename(self, destination):
        if self.parent.name.startswith(".restore-") and self.name == "materials":
            raise OSError(5, "Input/output error (simulated)")
        return real_rename(self, destination)

    monkeypatch.setattr(Path, "rename", failing_rename)
    capsys.readouterr()
    assert main(["restore", str(target)]) == 1
    monkeypatch.setattr(Path, "rename", real_rename)
    err = capsys.readouterr().err
    assert err.startswith(
        "エラー: 復元の途中でファイルを移動できなかったため、元に戻しました（データフォルダは復元前のままです）"
    )
    assert _tree(data) == before  # the database and the recordings were already swapped: moved back
    assert not list(data.glob(".restore-*")) and not list(data.glob("before-restore-*"))


def test_backup_refuses_a_damaged_database_and_writes_nothing(data, tmp_path, capsys):
    _damage(_populated(data), header=False)
    target = tmp_path / "backup"
    assert main(["backup", str(target)]) != 0
    err = capsys.readouterr().err
    assert err.startswith("エラー: データベース") and "前のバックアップは消さずに残し" in err
    assert not target.exists() and not list(tmp_path.glob(".backup.*"))


def test_backup_refuses_a_target_inside_the_data_folder_or_not_empty(data, tmp_path, capsys):
    _populated(data)
    assert main(["backup", str(data / "backup")]) == 2
    assert "データフォルダの中です" in capsys.readouterr().err
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert main(["backup", str(tmp_path / "full")]) == 2
    assert "空ではありません" in capsys.readouterr().err


def test_the_online_backup_is_a_consistent_snapshot_while_another_process_writes(data, tmp_path):
    """Another process keeps committing while the backup runs: the copy is whole and passes integrity_check."""
    database = _populated(data)
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], timeout=30); c.execute('PRAGMA journal_mode=WAL')\n"
            "c.execute('CREATE TABLE IF NOT EXISTS scratch (x TEXT)'); c.commit(); print('go', flush=True)\n"
            "end = time.time() + 3\n"
            "while time.time() < end:\n"
            "    c.execute('INSERT INTO scratch VALUES (?)', ('x' * 2000,)); c.commit()\n",
            str(database),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "go"
        started = time.monotonic()
        assert main(["backup", str(tmp_path / "b")]) == 0
        assert time.monotonic() - started < 20
    finally:
        writer.wait(timeout=30)
    with sqlite3.connect(tmp_path / "b" / "minutes.db") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
