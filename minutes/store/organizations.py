"""Organisations (団体) of a shared installation (``organization``; migration 0013)."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from minutes.errors import NotFoundError
from minutes.store.tables import Meeting, Organization, User


def organizations(session: Session) -> list[Organization]:
    """Every organisation, by id (the default one first)."""
    return list(session.exec(select(Organization).order_by(col(Organization.id))))


def get_organization(session: Session, *, org_id: int) -> Organization:
    row = session.get(Organization, org_id)
    if row is None:
        raise NotFoundError(f"団体（ID {org_id}）が見つかりません。", f"organization {org_id} not found")
    return row


def organization_named(session: Session, *, name: str) -> Organization | None:
    return session.exec(select(Organization).where(Organization.name == name)).first()


def add_organization(session: Session, *, name: str, created_by: str) -> Organization:
    row = Organization(name=name, created_by=created_by)
    session.add(row)
    session.flush()
    return row


def organization_counts(session: Session) -> dict[int, tuple[int, int]]:
    """Organisation id → (meetings, users)."""
    meeting_rows = session.exec(select(Meeting.org_id, func.count(col(Meeting.id))).group_by(col(Meeting.org_id)))
    user_rows = session.exec(select(User.org_id, func.count(col(User.id))).group_by(col(User.org_id)))
    meetings = {org_id: count for org_id, count in meeting_rows}
    users = {org_id: count for org_id, count in user_rows}
    return {org_id: (meetings.get(org_id, 0), users.get(org_id, 0)) for org_id in {*meetings, *users}}
