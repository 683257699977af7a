"""The speakers of a meeting."""

from __future__ import annotations

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from minutes.errors import NotFoundError
from minutes.store.tables import (
    Speaker,
    Utterance,
    UtteranceRevision,
)


def speakers_of(session: Session, *, meeting_id: int) -> list[Speaker]:
    return list(session.exec(select(Speaker).where(Speaker.meeting_id == meeting_id).order_by(col(Speaker.id))))


def speaker_numbers(session: Session, *, meeting_id: int) -> dict[int, int]:
    """speaker id -> 1, 2, … by order of first utterance (speakers without utterances last, by id): the number of
    話者１, 話者２ … for speakers nobody has named."""
    first = dict(
        session.exec(
            select(Utterance.speaker_id, func.min(Utterance.seq))
            .where(Utterance.meeting_id == meeting_id)
            .group_by(col(Utterance.speaker_id))
        ).all()
    )
    ids = session.exec(select(Speaker.id).where(Speaker.meeting_id == meeting_id)).all()
    ordered = sorted(ids, key=lambda i: (i not in first, first.get(i, 0), i))
    return {speaker_id: number for number, speaker_id in enumerate(ordered, start=1)}


def add_speaker(session: Session, *, speaker: Speaker) -> Speaker:
    session.add(speaker)
    session.flush()
    return speaker


def get_speaker(session: Session, *, speaker_id: int) -> Speaker:
    speaker = session.get(Speaker, speaker_id)
    if speaker is None:
        raise NotFoundError(f"話者（ID {speaker_id}）が見つかりません。", f"speaker {speaker_id} not found")
    return speaker


def speaker_totals(session: Session, *, meeting_id: int) -> dict[int, tuple[float, int]]:
    """speaker id -> (seconds spoken, number of utterances)."""
    rows = session.exec(
        select(Utterance.speaker_id, func.sum(Utterance.end - Utterance.start), func.count())
        .where(Utterance.meeting_id == meeting_id)
        .group_by(col(Utterance.speaker_id))
    )
    return {speaker_id: (float(seconds or 0.0), int(count)) for speaker_id, seconds, count in rows}


def longest_utterance_of(session: Session, *, speaker_id: int) -> Utterance | None:
    statement = (
        select(Utterance)
        .where(Utterance.speaker_id == speaker_id)
        .order_by((col(Utterance.end) - col(Utterance.start)).desc())
        .limit(1)
    )
    return session.exec(statement).first()


def reassign_speaker(session: Session, *, from_id: int, to_id: int) -> int:
    """Move every utterance and revision of one speaker to another; returns the number of utterances moved."""
    moved = session.exec(update(Utterance).where(col(Utterance.speaker_id) == from_id).values(speaker_id=to_id))
    session.exec(update(UtteranceRevision).where(col(UtteranceRevision.speaker_id) == from_id).values(speaker_id=to_id))
    return moved.rowcount


def delete_speaker(session: Session, *, speaker_id: int) -> None:
    """Remove a speaker (its utterances moved away first); pending changes of the session are written before."""
    session.flush()
    session.exec(delete(Speaker).where(col(Speaker.id) == speaker_id))
