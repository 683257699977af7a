"""Storage on real SQLite: migrations, round trip, WAL, stored files safe from names."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from sqlalchemy import inspect, text
from sqlmodel import Session

from minutes import store
from minutes.errors import InputError
from minutes.records import Utterance, Word
from minutes.store.engine import known_revisions, make_engine, migrate
from minutes.store.files import display_name, safe_suffix, save
from tests.media import write_wav

pytestmark = pytest.mark.both_backends  # on SQLite and on PostgreSQL (tests/conftest.py)


def test_migrations_apply_to_an_empty_database(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    migrate(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"meeting", "recording", "job", "speaker", "utterance", "alembic_version"} <= tables
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("select version_num from alembic_version")).scalar() == known_revisions()[-1]
    migrate(engine)  # idempotent


def test_processes_started_together_on_a_new_database_migrate_it_once(tmp_path, database_url):
    """The app, a worker and a command started at once on an empty database (the scene of issue 14 found "table
    meeting already exists"): one migrates, the others wait and find the schema current."""
    import subprocess
    import sys

    url = database_url(tmp_path / "new.db", migrated=False)
    code = "import sys; from minutes.store.engine import make_engine, migrate; migrate(make_engine(sys.argv[1]))"
    processes = [
        subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE, text=True) for _ in range(3)
    ]
    errors = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], errors
    engine = make_engine(url, pool_size=1)
    migrate(engine)  # with a pool of one connection, the lock's connection is the one that migrates
    with engine.connect() as connection:
        assert connection.execute(text("select version_num from alembic_version")).scalar() == known_revisions()[-1]
    engine.dispose()


def test_round_trip(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'rt.db'}")
    migrate(engine)
    with Session(engine) as session:
        meeting = store.create_meeting(
            session, title="令和７年第４回定例会", kind="本会議", held_at=datetime(2025, 12, 2, 10), place="議場"
        )
        recording = store.add_recording(
            session,
            meeting_id=meeting.id,
            original_name="会議.wav",
            stored_path="recordings/x.wav",
            size_bytes=3,
            sha256="0" * 64,
        )
        job = store.enqueue_job(session, meeting_id=meeting.id, recording_id=recording.id, options={"a": 1})
        session.commit()
        meeting_id, job_id = meeting.id, job.id
    assert store.claim_job(engine, job_id=job_id, worker_id="w1")
    words = (Word(0.0, 0.5, "ただいま", 0.91), Word(0.5, 1.0, "から", 0.42))
    with Session(engine) as session:
        store.save_result(
            session,
            job_id=job_id,
            worker_id="w1",
            language="ja",
            duration=12.5,
            speakers=["SPEAKER_00"],
            utterances=[Utterance("SPEAKER_00", 0.0, 1.0, "ただいまから", words)],
            stage_seconds={"decode": 0.1},
        )
        session.commit()
    engine.dispose()
    engine = make_engine(f"sqlite:///{tmp_path / 'rt.db'}")  # a fresh connection sees everything
    with Session(engine) as session:
        meeting = store.get_meeting(session, meeting_id=meeting_id)
        assert (meeting.title, meeting.kind, meeting.place, meeting.held_at) == (
            "令和７年第４回定例会",
            "本会議",
            "議場",
            datetime(2025, 12, 2, 10),
        )
        [speaker] = store.speakers_of(session, meeting_id=meeting_id)
        [utterance] = store.utterances_of(session, meeting_id=meeting_id)
        assert utterance.speaker_id == speaker.id and speaker.label == "SPEAKER_00"
        assert utterance.text == "ただいまから" and not utterance.edited
        assert utterance.words[1] == {"start": 0.5, "end": 1.0, "text": "から", "probability": 0.42}
        job = store.get_job(session, job_id=job_id)
        assert job.status == "succeeded" and job.progress == 100 and job.stage_seconds == {"decode": 0.1}
        assert store.get_recording(session, recording_id=job.recording_id).duration == 12.5


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "..\\..\\windows\\system32.wav",
        "会議 録音（第１回）;rm -rf ~.wav",
        "a" * 300 + ".wav",
        "議" * 120 + ".mp3",
        "\x00evil\n.wav",
        ".hidden",
        "noext",
    ],
)
def test_stored_files_are_named_by_the_system(tmp_path, name):
    stored = save(
        io.BytesIO(b"RIFF...."),
        root=tmp_path,
        folder=tmp_path / "recordings" / "2025/12",
        suffix=safe_suffix(name),
        max_bytes=100,
    )
    path = (tmp_path / stored.relative_path).resolve()
    assert path.is_file() and path.is_relative_to(tmp_path / "recordings")
    assert len(path.name) <= 40 and path.suffix in (".wav", ".mp3", ".bin")
    shown = display_name(name)
    assert "/" not in shown and "\x00" not in shown and len(shown) <= 255


def test_two_uploads_with_the_same_name_do_not_collide(tmp_path):
    first = save(
        io.BytesIO(b"one"),
        root=tmp_path,
        folder=tmp_path / "recordings" / "x",
        suffix=safe_suffix("録音.wav"),
        max_bytes=10,
    )
    second = save(
        io.BytesIO(b"two"),
        root=tmp_path,
        folder=tmp_path / "recordings" / "x",
        suffix=safe_suffix("録音.wav"),
        max_bytes=10,
    )
    assert first.relative_path != second.relative_path
    assert (tmp_path / first.relative_path).read_bytes() == b"one"


def test_oversized_upload_is_refused_and_nothing_is_left(tmp_path):
    with pytest.raises(InputError, match="大きすぎます"):
        save(
            io.BytesIO(b"x" * 5000),
            root=tmp_path,
            folder=tmp_path / "recordings" / "x",
            suffix=safe_suffix("big.wav"),
            max_bytes=1000,
        )
    assert list((tmp_path / "recordings" / "x").iterdir()) == []


def test_safe_suffix():
    assert safe_suffix("A.WAV") == ".wav"
    assert safe_suffix("x.tar.gz;rm") == ".bin"


def test_service_refuses_non_recordings_before_storing(runtime, tmp_path):
    text_file = tmp_path / "notes.wav"
    text_file.write_text("not audio")
    with pytest.raises(InputError):
        runtime.operator("system").meetings.create(text_file, title="会議")
    with Session(runtime.engine) as session:
        assert store.list_meetings(session) == []
    assert not any(p.is_file() for p in (runtime.settings.data_dir / "recordings").rglob("*"))


def test_service_stores_upload_and_queues_job(runtime, tmp_path):
    import numpy as np

    wav = write_wav(tmp_path / "会議 (1).wav", 0.1 * np.sin(np.arange(16000) / 5).astype(np.float32))
    meeting_id, job_id = runtime.operator("system").meetings.create(wav, title="総務常任委員会")
    job = runtime.operator("system").meetings.job(job_id)
    assert job.status == "queued" and job.meeting_id == meeting_id
    assert job.options["transcription"]["language"] == "ja"
    with Session(runtime.engine) as session:
        recording = store.get_recording(session, recording_id=1)
        assert recording.original_name == "会議 (1).wav"
        assert (runtime.settings.data_dir / recording.stored_path).read_bytes() == wav.read_bytes()
