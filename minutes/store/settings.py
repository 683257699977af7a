"""Operational settings changed by an administrator in the app."""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import Session, col, select

from minutes.store.tables import (
    AppSetting,
    utcnow,
)


def app_settings(session: Session) -> dict[str, object]:
    """Setting name → stored value."""
    return {row.key: row.value.get("value") for row in session.exec(select(AppSetting))}


def put_app_setting(session: Session, *, key: str, value: object, updated_by: str) -> None:
    row = session.get(AppSetting, key) or AppSetting(key=key, value={}, updated_by=updated_by)
    row.value, row.updated_by, row.updated_at = {"value": value}, updated_by, utcnow()
    session.add(row)


def delete_app_setting(session: Session, *, key: str) -> None:
    session.exec(delete(AppSetting).where(col(AppSetting.key) == key))
