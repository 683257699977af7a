"""The append-only audit trail: who did what to which record, when, from where (table ``auditevent``).

Every service writes through :func:`record` in the same transaction as the change it records; the table refuses
UPDATE and DELETE (SQLite triggers, migration 0004). Who is acting comes from the caller (the signed-in user's name,
or the operating-system user for the CLI); how (app, cli, system) and the client's address come from a context
variable that the app and the CLI set once per request or command, so services need no extra parameters.
"""

from __future__ import annotations

import contextvars
import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import insert
from sqlmodel import Session, col, select

from minutes.tables import AuditEvent, utcnow

APP, CLI, SYSTEM = "app", "cli", "system"

# What each recorded action means, for the 監査ログ page (the stored code stays English and stable).
LABELS = {
    "create": "会議の作成",
    "upload": "録音の登録",
    "details": "会議情報の変更",
    "agenda": "議事日程の割り当て",
    "access": "非公開の設定",
    "utterance_edit": "発言の修正",
    "utterance_speaker": "発言の話者変更",
    "utterance_merge": "発言の結合",
    "utterance_revert": "発言を元に戻す",
    "utterance_replace": "発言の一括置換（1 件ごと）",
    "split": "発言の分割",
    "replace": "一括置換",
    "speaker_details": "話者情報の変更",
    "speaker_merge": "話者の統合",
    "material_add": "資料の追加",
    "material_delete": "資料の削除",
    "finalize": "確定",
    "reopen": "確定の解除",
    "archive": "保存版の作成",
    "export": "書き出し",
    "login": "ログイン",
    "login_failed": "ログイン失敗",
    "logout": "ログアウト",
    "logout_others": "ほかの端末をログアウト",
    "session_expired": "ログインの期限切れ",
    "password_change": "パスワードの変更",
    "user_add": "利用者の追加",
    "user_update": "利用者の変更",
    "setting_update": "設定の変更",
    "setting_reset": "設定を既定に戻す",
}
KINDS = {APP: "アプリ", CLI: "コマンド", SYSTEM: "システム"}

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


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: dt.datetime
    actor: str
    actor_kind: str
    action: str
    target_type: str
    target_id: str
    before: dict | None
    after: dict | None
    ip: str | None


def events(
    engine,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    actor: str = "",
    action: str = "",
    limit: int | None = None,
    user=None,
    tz: dt.tzinfo = dt.UTC,
) -> list[AuditEntry]:
    """Audit events, oldest first, between two days (inclusive, in ``tz``: UTC unless given) and of one actor or
    action. ``user``: the signed-in user, who must be allowed to view the audit log (None: the local operating-system
    user)."""
    from minutes.auth import Permission, require  # auth records through this module

    require(user, Permission.VIEW_AUDIT)
    statement = select(AuditEvent).order_by(col(AuditEvent.id))
    if date_from is not None:
        statement = statement.where(col(AuditEvent.at) >= dt.datetime.combine(date_from, dt.time(), tz))
    if date_to is not None:
        end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), tz)
        statement = statement.where(col(AuditEvent.at) < end)
    if actor:
        statement = statement.where(AuditEvent.actor == actor)
    if action:
        statement = statement.where(AuditEvent.action == action)
    if limit is not None:
        statement = statement.limit(limit)
    with Session(engine) as session:
        return [
            AuditEntry(e.id, e.at, e.actor, e.actor_kind, e.action, e.target_type, e.target_id, e.before, e.after, e.ip)
            for e in session.exec(statement)
        ]


COLUMNS = ("id", "at", "actor", "actor_kind", "action", "target_type", "target_id", "before", "after", "ip")


def to_csv(entries: list[AuditEntry]) -> bytes:
    """CSV (UTF-8 with BOM, so that Excel reads the Japanese) of audit entries."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for e in entries:
        writer.writerow(
            [
                e.id,
                e.at.isoformat(),
                e.actor,
                e.actor_kind,
                e.action,
                e.target_type,
                e.target_id,
                "" if e.before is None else json.dumps(e.before, ensure_ascii=False),
                "" if e.after is None else json.dumps(e.after, ensure_ascii=False),
                e.ip or "",
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
