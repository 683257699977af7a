"""Meetings stored as the worker leaves them (a recording, a finished job and its transcript), without the models.

Shared by the tests and the benchmarks: ``store_meeting`` stores given utterances; ``seed_meeting`` a council meeting
of any length made of ``SAMPLE_TEXTS``; ``seed_transcript`` one utterance per ``(speaker label, text)``;
``set_details`` fills in a meeting's 会議録 header.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.engine import Engine
from sqlmodel import Session

from minutes import store
from minutes.records import Utterance, Word

HELD_AT = dt.datetime(2025, 12, 2, 10)

SAMPLE_TEXTS = [
    ("SPEAKER_00", "ただいまから本日の会議を開きます。"),
    ("SPEAKER_01", "議長。３番、山田です。補正予算について質問します。"),
    ("SPEAKER_00", "町長。"),
    ("SPEAKER_02", "お答えします。補正予算は防災のためのものです。"),
]


def words_of(text: str, start: float, end: float, low: set[int] = frozenset()) -> tuple[Word, ...]:
    """One word per two characters, evenly timed; words whose index is in ``low`` get probability 0.3."""
    chunks = [text[i : i + 2] for i in range(0, len(text), 2)]
    step = (end - start) / len(chunks)
    return tuple(
        Word(start + i * step, start + (i + 1) * step, chunk, 0.3 if i in low else 0.9)
        for i, chunk in enumerate(chunks)
    )


def store_meeting(
    engine: Engine,
    *,
    title: str,
    utterances: Sequence[Utterance],
    duration: float,
    speakers: Sequence[str] | None = None,
    kind: str = "定例会",
    held_at: dt.datetime | None = HELD_AT,
    place: str = "",
    recording_path: str = "recordings/sample.wav",
    org_id: int = 1,
) -> int:
    """A meeting of organisation ``org_id`` whose job finished with ``utterances`` (stored by ``save_result``, as the
    worker does); its id. ``speakers``: the diarization labels (default: those of the utterances)."""
    with Session(engine) as session:
        meeting = store.create_meeting(session, title=title, kind=kind, held_at=held_at, place=place, org_id=org_id)
        recording = store.add_recording(
            session,
            meeting_id=meeting.id,
            original_name="会議.wav",
            stored_path=recording_path,
            size_bytes=1,
            sha256="0" * 64,
        )
        job = store.enqueue_job(session, meeting_id=meeting.id, recording_id=recording.id, options={})
        session.commit()
        meeting_id, job_id = meeting.id, job.id
    assert store.claim_job(engine, job_id=job_id, worker_id="test")
    with Session(engine) as session:
        store.save_result(
            session,
            job_id=job_id,
            worker_id="test",
            language="ja",
            duration=duration,
            speakers=sorted(set(speakers if speakers is not None else (u.speaker for u in utterances))),
            utterances=list(utterances),
            stage_seconds={},
        )
        session.commit()
    return meeting_id


def seed_meeting(
    engine: Engine,
    *,
    title: str = "令和７年第４回定例会",
    utterances: int = len(SAMPLE_TEXTS),
    recording_path: str = "recordings/sample.wav",
    duration: float | None = None,
) -> int:
    """A meeting whose job finished with ``utterances`` utterances (the sample texts, repeated); returns its id.
    The second word of the second utterance is recognised with low confidence."""
    records, t = [], 0.0
    for i in range(utterances):
        label, text = SAMPLE_TEXTS[i % len(SAMPLE_TEXTS)]
        length = 0.25 * len(text)
        records.append(
            Utterance(label, t, t + length, text, words_of(text, t, t + length, low={1} if i == 1 else set()))
        )
        t += length + 0.5
    return store_meeting(
        engine,
        title=title,
        utterances=records,
        duration=duration or t,
        speakers=[label for label, _ in SAMPLE_TEXTS],
        recording_path=recording_path,
    )


def seed_transcript(
    engine: Engine,
    *,
    title: str,
    lines: Sequence[tuple[str, str]],
    kind: str = "定例会",
    held_at: dt.datetime | None = HELD_AT,
    org_id: int = 1,
) -> int:
    """A meeting (of organisation ``org_id``) with a finished job whose transcript is ``lines`` of (speaker label,
    text), 10 s apart; its id."""
    records = [
        Utterance(label, 10.0 * i, 10.0 * i + 8, text, (Word(10.0 * i, 10.0 * i + 8, text, 0.9),))
        for i, (label, text) in enumerate(lines)
    ]
    return store_meeting(
        engine,
        title=title,
        utterances=records,
        duration=10.0 * len(lines),
        kind=kind,
        held_at=held_at,
        org_id=org_id,
    )


def set_details(engine: Engine, data_dir, meeting_id: int, details, *, editor: str = "佐藤") -> None:
    """Save ``details`` (a ``MeetingDetails``) as the meeting's header, keeping its title, kind, date and place."""
    from minutes.services import Principal, Services
    from minutes.settings import Settings

    details_service = Services.for_user(engine, Settings(data_dir=data_dir), Principal.operator(editor)).details
    info = details_service.meeting(meeting_id)
    details_service.update_meeting(
        meeting_id,
        expected_version=info.edit_version,
        title=info.title,
        kind=info.kind,
        held_at=info.held_at,
        place=info.place,
        details=details,
    )
