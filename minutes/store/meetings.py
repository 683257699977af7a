"""Meetings, their recordings and their event log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from minutes.errors import NotFoundError
from minutes.store import audit
from minutes.store.tables import (
    DEFAULT_ORG,
    Meeting,
    MeetingAccess,
    MeetingEvent,
    Recording,
    utcnow,
)


def create_meeting(
    session: Session,
    *,
    title: str,
    kind: str = "",
    held_at: datetime | None = None,
    place: str = "",
    org_id: int = DEFAULT_ORG,
) -> Meeting:
    meeting = Meeting(title=title, kind=kind, held_at=held_at, place=place, org_id=org_id)
    session.add(meeting)
    session.flush()
    return meeting


def get_meeting(session: Session, *, meeting_id: int) -> Meeting:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFoundError(f"会議（ID {meeting_id}）が見つかりません。", f"meeting {meeting_id} not found")
    return meeting


def list_meetings(session: Session, *, org_id: int | None = None) -> list[Meeting]:
    """Newest first: organisation ``org_id``'s, or (None: the worker, maintenance) every organisation's."""
    statement = select(Meeting).order_by(col(Meeting.held_at).desc(), col(Meeting.id).desc())
    if org_id is not None:
        statement = statement.where(Meeting.org_id == org_id)
    return list(session.exec(statement))


def add_recording(
    session: Session, *, meeting_id: int, original_name: str, stored_path: str, size_bytes: int, sha256: str
) -> Recording:
    recording = Recording(
        meeting_id=meeting_id,
        original_name=original_name[:255],
        stored_path=stored_path,
        size_bytes=size_bytes,
        sha256=sha256,
    )
    session.add(recording)
    session.flush()
    return recording


def get_recording(session: Session, *, recording_id: int) -> Recording:
    recording = session.get(Recording, recording_id)
    if recording is None:
        raise NotFoundError(f"録音（ID {recording_id}）が見つかりません。", f"recording {recording_id} not found")
    return recording


def update_meeting_row(session: Session, *, meeting_id: int, expected_version: int, **values) -> bool:
    """Change a meeting only if its ``edit_version`` is still ``expected_version`` (raising it); False if not."""
    result = session.exec(
        update(Meeting)
        .where(col(Meeting.id) == meeting_id, col(Meeting.edit_version) == expected_version)
        .values(edit_version=Meeting.edit_version + 1, updated_at=utcnow(), **values)
    )
    return result.rowcount == 1


def set_details(session: Session, *, meeting_id: int, details: dict) -> None:
    """Replace the meeting's header JSON without raising its edit version (a change that follows an edit of the
    transcript, such as time marks moving with a split, is not an edit of the header)."""
    session.exec(update(Meeting).where(col(Meeting.id) == meeting_id).values(details=details))


def touch_meeting(session: Session, *, meeting_id: int) -> None:
    session.exec(update(Meeting).where(col(Meeting.id) == meeting_id).values(updated_at=utcnow()))


def add_event(session: Session, *, meeting_id: int, action: str, actor: str, detail: dict | None = None) -> None:
    """Record an action in the meeting's own log and in the audit trail (same transaction)."""
    session.add(MeetingEvent(meeting_id=meeting_id, action=action, actor=actor, detail=detail or {}))
    audit.record(session, actor=actor, action=action, target_type="meeting", target_id=meeting_id, after=detail)


def events_of(session: Session, *, meeting_id: int) -> list[MeetingEvent]:
    statement = select(MeetingEvent).where(MeetingEvent.meeting_id == meeting_id).order_by(col(MeetingEvent.id))
    return list(session.exec(statement))


def recording_of(session: Session, *, meeting_id: int) -> Recording | None:
    statement = select(Recording).where(Recording.meeting_id == meeting_id).order_by(col(Recording.id).desc()).limit(1)
    return session.exec(statement).first()


def meeting_kinds(session: Session, *, org_id: int = DEFAULT_ORG) -> list[str]:
    statement = (
        select(Meeting.kind).where(Meeting.kind != "", Meeting.org_id == org_id).distinct().order_by(col(Meeting.kind))
    )
    return list(session.exec(statement))


# ---------------------------------------------------------------- closed meetings (非公開・秘密会)


def members_of(session: Session, *, meeting_id: int) -> set[int]:
    """Ids of the users who may see a closed meeting."""
    return set(session.exec(select(MeetingAccess.user_id).where(MeetingAccess.meeting_id == meeting_id)))


def meetings_of_member(session: Session, *, user_id: int) -> set[int]:
    """Ids of the closed meetings ``user_id`` is listed for."""
    return set(session.exec(select(MeetingAccess.meeting_id).where(MeetingAccess.user_id == user_id)))


def visibility(session: Session, *, org_id: int = DEFAULT_ORG) -> list[tuple[int, bool, datetime | None]]:
    """(id, closed, finalized_at) of every meeting: what deciding who may see it needs."""
    return list(session.exec(select(Meeting.id, Meeting.closed, Meeting.finalized_at).where(Meeting.org_id == org_id)))


def set_access(session: Session, *, meeting_id: int, closed: bool, members: set[int]) -> None:
    """Mark a meeting closed with its list of members, or open (the list is then empty)."""
    session.exec(delete(MeetingAccess).where(col(MeetingAccess.meeting_id) == meeting_id))
    for user_id in sorted(members) if closed else []:
        session.add(MeetingAccess(meeting_id=meeting_id, user_id=user_id))
    meeting = get_meeting(session, meeting_id=meeting_id)
    meeting.closed = closed
    session.add(meeting)
