"""Archive packages written at finalize."""

from __future__ import annotations

from sqlmodel import Session, col, select

from minutes.store.tables import (
    Archive,
)


def add_archive(session: Session, *, archive: Archive) -> Archive:
    session.add(archive)
    session.flush()
    return archive


def archives_of(session: Session, *, meeting_id: int) -> list[Archive]:
    statement = select(Archive).where(Archive.meeting_id == meeting_id).order_by(col(Archive.version))
    return list(session.exec(statement))


def archive_at(session: Session, *, path: str) -> Archive | None:
    return session.exec(select(Archive).where(Archive.path == path)).first()
