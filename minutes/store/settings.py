"""Operational settings changed by an administrator in the app."""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import Session, col, select

from minutes.store.tables import (
    AppSetting,
    utcnow,
)


def app_settings(session: Session, *, org_id: int) -> dict[str, object]:
    """Setting name → the value organisation ``org_id`` stored."""
    statement = select(AppSetting).where(AppSetting.org_id == org_id)
    return {row.key: row.value.get("value") for row in session.exec(statement)}


def put_app_setting(session: Session, *, key: str, value: object, updated_by: str, org_id: int) -> None:
    row = session.get(AppSetting, (org_id, key)) or AppSetting(org_id=org_id, key=key, value={}, updated_by=updated_by)
    row.value, row.updated_by, row.updated_at = {"value": value}, updated_by, utcnow()
    session.add(row)


def delete_app_setting(session: Session, *, key: str, org_id: int) -> None:
    session.exec(delete(AppSetting).where(col(AppSetting.key) == key, col(AppSetting.org_id) == org_id))
