"""The append-only audit trail (table ``auditevent``): writing events, reading them back, checking the chain.

Every service writes through :func:`record` in the same transaction as the change it records; the table refuses
UPDATE and DELETE (triggers, migration 0004: SQLite's, or a PL/pgSQL function on PostgreSQL that also refuses
TRUNCATE). Who is acting comes from the caller (the signed-in user's name,
or the operating-system user for the CLI); how (app, cli, system) and the client's address come from a context
variable that the app and the CLI set once per request or command, so services need no extra parameters.

Each event belongs to an organisation (``org_id``, migration 0013): that of its target when the target is a meeting,
a user or a person (so the worker's and the sign-in's events land right), else the one the acting service works for
(its engine carries it as the execution option ``minutes_org``, :data:`ORG_OPTION`), else the default organisation,
the installation's own (a failed sign-in under an unknown name).
Reading is per organisation; the chain stays one for the whole installation, so :func:`verify` walks all of it and
tells an organisation only about its own events.

The trail is hash-chained (migration 0006): each event stores the previous event's hash (``prev_hash``) and its own
(``hash``, SHA-256 over that and its content, :func:`chain_hash`). Anyone with the database file can drop the
triggers, but then a deleted or changed event breaks the chain, and :func:`verify` names the first broken link. The
chain is extended under the database's write lock (``BEGIN IMMEDIATE``; an advisory lock on PostgreSQL, or there the
head's own lock under a clerk's meeting lock: ``store.engine.chain_lock``), reading the last hash inside the same
transaction as the insert, so two writers never fork it.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy import text as sql
from sqlmodel import Session, col, select

from minutes.store.engine import chain_lock
from minutes.store.tables import DEFAULT_ORG, AuditEvent, Meeting, Person, User, utcnow

APP, CLI, SYSTEM = "app", "cli", "system"
ORG_OPTION = "minutes_org"  # the execution option of a service's engine naming the organisation it acts for
_TARGETS = {"meeting": Meeting, "user": User, "person": Person}

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
    """Add one audit event to ``session``'s transaction (committed with the change it describes). From here the
    transaction holds the database's write lock (or, under a meeting lock, the audit trail's head): call it close to
    the commit."""
    _append(session, [_row(actor, action, target_type, target_id, before, after) | {"at": utcnow()}])


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
    _append(session, rows)
    return len(rows)


def _append(session: Session, rows: list[dict]) -> None:
    """Insert ``rows`` at the end of the chain: under the write lock, the last event is read in the same transaction
    as the insert, and ids and hashes are computed here for the whole batch (one multi-row INSERT)."""
    if not rows:
        return
    connection = session.connection()
    org_id = _organization(session, connection.get_execution_options().get(ORG_OPTION), rows[0])
    chain_lock(connection)
    last = connection.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(col(AuditEvent.id).desc()).limit(1)
    ).first()
    next_id, prev = (last.id + 1, last.hash or GENESIS) if last is not None else (1, GENESIS)
    for offset, row in enumerate(rows):
        row["org_id"] = org_id
        row["id"] = next_id + offset
        row["prev_hash"] = prev
        row["hash"] = prev = chain_hash(prev, row)
    connection.execute(insert(AuditEvent), rows)
    if connection.dialect.name == "postgresql":  # explicit ids do not advance the id sequence
        connection.execute(
            sql("SELECT setval(pg_get_serial_sequence('auditevent', 'id'), :last)"), {"last": rows[-1]["id"]}
        )


def _organization(session: Session, acting: int | None, row: dict) -> int:
    """The organisation of the events about to be added (see the module's description)."""
    target = str(row["target_id"])
    table = _TARGETS.get(row["target_type"])
    if table is not None and target.isdigit():
        found = session.get(table, int(target))
        if found is not None:
            return found.org_id
    return DEFAULT_ORG if acting is None else acting


# ---------------------------------------------------------------- the hash chain

GENESIS = ""  # the prev_hash of the first event
CHAINED = ("id", "at", "actor", "actor_kind", "action", "target_type", "target_id", "before", "after", "ip")


def chain_hash(prev_hash: str, event: Mapping | AuditEvent) -> str:
    """SHA-256 (hex) over the previous event's hash and this event's content (canonical JSON: sorted keys, the time
    in UTC with microseconds), the same for the row about to be inserted and for the one read back."""
    get = event.get if isinstance(event, Mapping) else lambda name: getattr(event, name)
    content = {name: get(name) for name in CHAINED}
    at = content["at"]
    if isinstance(at, dt.datetime):
        at = (at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
        content["at"] = at.isoformat(timespec="microseconds")
    text = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"minutes-audit/1\n{prev_hash}\n{text}".encode()).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """The first place where the chain does not hold."""

    event_id: int
    kind: str  # changed, deleted, relinked, unchained, deleted_first
    message: str  # Japanese, for the administrator


@dataclass(frozen=True)
class ChainReport:
    events: int  # events checked (up to the break)
    last_id: int | None
    last_hash: str | None  # the head of the chain: note it elsewhere to detect a cut-off tail later
    broken: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify(session: Session, *, org_id: int | None = None, batch: int = 2000) -> ChainReport:
    """Recompute the chain over every event in id order; stops at the first changed, deleted or unchained event.

    With ``org_id``, the report is that organisation's: the count and the head are of its events, and a break at
    another organisation's event is told without its id or content (the chain is one: it is still walked whole)."""
    count, prev_id, prev_hash = 0, None, GENESIS
    own_id, own_hash = None, None
    statement = select(AuditEvent).order_by(col(AuditEvent.id)).execution_options(yield_per=batch)
    for event in session.exec(statement):
        broken = _check_link(event, prev_id, prev_hash)
        mine = org_id is None or event.org_id == org_id
        if broken is not None:
            if org_id is None:
                return ChainReport(count, prev_id, prev_hash or None, broken)
            if not mine:
                text = "監査ログの、ほかの団体の記録の所で連鎖が切れています。全体管理者に連絡してください。"
                broken = ChainBreak(0, "elsewhere", text)
            return ChainReport(count, own_id, own_hash, broken)
        if mine:
            count, own_id, own_hash = count + 1, event.id, event.hash
        prev_id, prev_hash = event.id, event.hash
        session.expunge(event)
    if org_id is None:
        return ChainReport(count, prev_id, prev_hash or None, None)
    return ChainReport(count, own_id, own_hash, None)


def _check_link(event: AuditEvent, prev_id: int | None, prev_hash: str) -> ChainBreak | None:
    n = event.id
    if not event.hash:
        return ChainBreak(n, "unchained", f"監査ログ id {n} にハッシュがありません（連鎖の外で追加された記録です）。")
    if chain_hash(event.prev_hash or GENESIS, event) != event.hash:
        return ChainBreak(n, "changed", f"監査ログ id {n} の内容が記録時から変更されています。")
    if (event.prev_hash or GENESIS) == prev_hash:
        return None
    if prev_id is None:
        return ChainBreak(n, "deleted_first", f"監査ログ id {n} より前の記録が削除されています。")
    if n > prev_id + 1:
        missing = f"id {prev_id + 1}" if n == prev_id + 2 else f"id {prev_id + 1}〜{n - 1}"
        text = f"監査ログの {missing} が削除されています（id {n} の直前の記録が見つかりません）。"
        return ChainBreak(n, "deleted", text)
    text = f"監査ログ id {n} の直前の記録（id {prev_id}）が記録後に書き換えられたか、差し替えられています。"
    return ChainBreak(n, "relinked", text)


def head(session: Session) -> tuple[int, str | None] | None:
    """(id, hash) of the newest event, or None on an empty trail."""
    last = session.exec(select(AuditEvent.id, AuditEvent.hash).order_by(col(AuditEvent.id).desc()).limit(1)).first()
    return None if last is None else (last[0], last[1])


def event_after(session: Session, event_id: int) -> AuditEvent | None:
    """The event that follows ``event_id`` in the chain (the next id), or None if it is the newest."""
    statement = select(AuditEvent).where(col(AuditEvent.id) > event_id).order_by(col(AuditEvent.id)).limit(1)
    return session.exec(statement).first()


def archive_events(session: Session, *, meeting_id: int) -> list[AuditEvent]:
    """The ``archive`` events of a meeting, oldest first (each names the version, folder and manifest SHA-256)."""
    statement = (
        select(AuditEvent)
        .where(AuditEvent.action == "archive", AuditEvent.target_type == "meeting")
        .where(AuditEvent.target_id == str(meeting_id))
        .order_by(col(AuditEvent.id))
    )
    return list(session.exec(statement))


def link_intact(session: Session, event: AuditEvent) -> bool:
    """Whether ``event`` still hashes to its stored hash and the next event (if any) still points at it: changing
    it undetected means recomputing every later event's hash too."""
    if not event.hash or chain_hash(event.prev_hash or GENESIS, event) != event.hash:
        return False
    following = event_after(session, event.id)
    return following is None or following.prev_hash == event.hash


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
    org_id: int | None = None,
) -> list[AuditEvent]:
    """Audit events, oldest first, from ``start`` (inclusive) to ``end`` (exclusive), of one actor or action; of
    organisation ``org_id`` only when given."""
    statement = select(AuditEvent).order_by(col(AuditEvent.id))
    if org_id is not None:
        statement = statement.where(AuditEvent.org_id == org_id)
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
