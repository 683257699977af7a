"""Live transcription: the committed captions of a meeting transcribed live, in order; the live session run from the
app (its state, marks and 字幕表示 links)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from minutes.records import Caption
from minutes.store.live_tables import DisplayLink, LiveCaption, LiveMark, LiveSession, LiveState
from minutes.store.tables import Recording, utcnow


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


def recent_live_captions(session: Session, *, meeting_id: int, limit: int) -> list[Caption]:
    """The last ``limit`` committed captions, in order."""
    rows = session.exec(
        select(LiveCaption)
        .where(LiveCaption.meeting_id == meeting_id)
        .order_by(col(LiveCaption.position).desc())
        .limit(limit)
    ).all()
    return [Caption(row.start, row.end, row.text, True, row.heard) for row in reversed(rows)]


# ---------------------------------------------------------------- live sessions run from the app


def create_live_session(
    session: Session, *, meeting_id: int, source: str, realtime: bool, started_by: str, job_id: int
) -> LiveSession:
    row = LiveSession(meeting_id=meeting_id, source=source, realtime=realtime, started_by=started_by, job_id=job_id)
    session.add(row)
    session.flush()
    return row


def get_live_session(session: Session, *, meeting_id: int) -> LiveSession | None:
    return session.get(LiveSession, meeting_id)


def open_live_sessions(session: Session) -> list[LiveSession]:
    """The sessions not yet adjourned, newest first."""
    return list(
        session.exec(
            select(LiveSession)
            .where(LiveSession.state != LiveState.ADJOURNED)
            .order_by(col(LiveSession.started_at).desc())
        )
    )


def update_live_session(session: Session, *, meeting_id: int, **values) -> LiveSession:
    row = session.get(LiveSession, meeting_id)
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return row


def add_live_mark(
    session: Session, *, meeting_id: int, at: float, kind: str, created_by: str, number: int | None = None, text=""
) -> LiveMark:
    mark = LiveMark(meeting_id=meeting_id, at=at, kind=kind, number=number, text=text, created_by=created_by)
    session.add(mark)
    session.flush()
    return mark


def live_marks_of(session: Session, *, meeting_id: int) -> list[LiveMark]:
    return list(
        session.exec(
            select(LiveMark).where(LiveMark.meeting_id == meeting_id).order_by(col(LiveMark.at), col(LiveMark.id))
        )
    )


def add_display_link(session: Session, *, meeting_id: int, token_sha256: str, created_by: str) -> DisplayLink:
    link = DisplayLink(meeting_id=meeting_id, token_sha256=token_sha256, created_by=created_by)
    session.add(link)
    session.flush()
    return link


def display_link_by_hash(session: Session, *, token_sha256: str) -> DisplayLink | None:
    return session.exec(select(DisplayLink).where(DisplayLink.token_sha256 == token_sha256)).first()


def display_links_of(session: Session, *, meeting_id: int) -> list[DisplayLink]:
    return list(
        session.exec(select(DisplayLink).where(DisplayLink.meeting_id == meeting_id).order_by(col(DisplayLink.id)))
    )


def get_display_link(session: Session, *, link_id: int) -> DisplayLink | None:
    return session.get(DisplayLink, link_id)


def revoke_display_link(session: Session, *, link: DisplayLink, revoked_by: str) -> None:
    link.revoked_by, link.revoked_at = revoked_by, utcnow()
    session.add(link)
    session.flush()


def replace_recording_file(session: Session, *, recording_id: int, stored_path: str, size_bytes: int, sha256: str):
    """Point a live meeting's recording at the file stored at 散会."""
    recording = session.get(Recording, recording_id)
    recording.stored_path, recording.size_bytes, recording.sha256 = stored_path, size_bytes, sha256
    session.add(recording)
    session.flush()
