"""The append-only audit trail (table ``auditevent``): writing events and reading them back.

Every service writes through :func:`record` in the same transaction as the change it records; the table refuses
UPDATE and DELETE (SQLite triggers, migration 0004). Who is acting comes from the caller (the signed-in user's name,
or the operating-system user for the CLI); how (app, cli, system) and the client's address come from a context
variable that the app and the CLI set once per request or command, so services need no extra parameters.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import insert
from sqlmodel import Session, col, select

from minutes.store.tables import AuditEvent, utcnow

APP, CLI, SYSTEM = "app", "cli", "system"

# (actor_kind, ip) of whatever runs in this thread: the worker and tests run as "system".
_CONTEXT: contextvars.ContextVar[tuple[str, str | None]] = contextvars.ContextVar("audit", default=(SYSTEM, None))


def set_context(kind: str, ip: str | None = None) -> None:
    """Set how the current thread acts (``app`` per Streamlit rerun, ``cli`` per command)."""
    _CONTEXT.set((kind, ip))


@contextmanager
def acting_as(kind: str, ip: str | None = None) -> Iterator[None]:
    token = _CONTEXT.set((kind, ip))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target_type: str = "",
    target_id: object = "",
    before: dict | None = None,
    after: dict | None = None,
) -> None:
    """Add one audit event to ``session`` (committed with the change it describes)."""
    session.add(AuditEvent(**_row(actor, action, target_type, target_id, before, after)))


def record_many(
    session: Session,
    *,
    actor: str,
    action: str,
    target_type: str,
    changes: Iterable[tuple[object, dict | None, dict | None]],
) -> int:
    """Add one audit event per ``(target_id, before, after)`` in a single multi-row INSERT: the same rows as calling
    :func:`record` for each, for changes of many records at once (replace all). Returns how many were added."""
    at = utcnow()
    rows = [
        _row(actor, action, target_type, target_id, before, after) | {"at": at} for target_id, before, after in changes
    ]
    if rows:
        session.connection().execute(insert(AuditEvent), rows)
    return len(rows)


def _row(actor: str, action: str, target_type: str, target_id: object, before: dict | None, after: dict | None) -> dict:
    kind, ip = _CONTEXT.get()
    return {
        "actor": (actor or "不明")[:100],
        "actor_kind": kind,
        "action": action[:32],
        "target_type": target_type[:32],
        "target_id": str(target_id if target_id is not None else "")[:64],
        "before": _jsonable(before),
        "after": _jsonable(after),
        "ip": ip,
    }


def _jsonable(value: dict | None) -> dict | None:
    return None if value is None else json.loads(json.dumps(value, ensure_ascii=False, default=str))


def events(
    session: Session,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    actor: str = "",
    action: str = "",
    limit: int | None = None,
) -> list[AuditEvent]:
    """Audit events, oldest first, from ``start`` (inclusive) to ``end`` (exclusive), of one actor or action."""
    statement = select(AuditEvent).order_by(col(AuditEvent.id))
    if start is not None:
        statement = statement.where(col(AuditEvent.at) >= start)
    if end is not None:
        statement = statement.where(col(AuditEvent.at) < end)
    if actor:
        statement = statement.where(AuditEvent.actor == actor)
    if action:
        statement = statement.where(AuditEvent.action == action)
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.exec(statement))
