"""Live captions: the committed text of a meeting transcribed live, in order."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from minutes.records import Caption
from minutes.store.tables import LiveCaption


def add_live_captions(session: Session, *, meeting_id: int, captions: Iterable[Caption]) -> int:
    """Store the committed ``captions`` after any the meeting has; returns how many were added."""
    last = session.exec(
        select(LiveCaption.position)
        .where(LiveCaption.meeting_id == meeting_id)
        .order_by(col(LiveCaption.position).desc())
    ).first()
    position = -1 if last is None else last
    added = 0
    for caption in captions:
        if not caption.final:
            continue
        position += 1
        added += 1
        session.add(
            LiveCaption(
                meeting_id=meeting_id,
                position=position,
                start=caption.start,
                end=caption.end,
                text=caption.text,
                heard=caption.heard,
            )
        )
    return added


def live_captions_of(session: Session, *, meeting_id: int) -> list[Caption]:
    rows = session.exec(
        select(LiveCaption).where(LiveCaption.meeting_id == meeting_id).order_by(col(LiveCaption.position))
    )
    return [Caption(row.start, row.end, row.text, True, row.heard) for row in rows]
