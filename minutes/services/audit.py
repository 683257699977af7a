"""The audit trail as the administrator reads it: events by day, actor and action, and its CSV export.

Writing happens in the store (``minutes.store.audit.record``), in the same transaction as each change; how the
current thread acts (app, cli, system) is set with :func:`set_context` / :func:`acting_as`, re-exported here for the
interfaces.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass

from sqlmodel import Session

from exports.csv_safety import safe_row
from minutes.services.base import Service
from minutes.services.permissions import Permission, require
from minutes.store import audit as trail
from minutes.store.audit import APP, CLI, SYSTEM, ChainReport, acting_as, set_context

__all__ = [
    "APP",
    "CLI",
    "KINDS",
    "LABELS",
    "SYSTEM",
    "AuditEntry",
    "AuditService",
    "ChainReport",
    "acting_as",
    "set_context",
    "to_csv",
]

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
    "speaker_person": "話者と名簿の結び付け",
    "person_add": "名簿への追加",
    "person_update": "名簿の変更",
    "person_retire": "名簿の在任・退任",
    "person_title_add": "職名の追加",
    "person_title_update": "職名の変更",
    "person_title_remove": "職名の削除",
    "material_add": "資料の追加",
    "material_delete": "資料の削除",
    "finalize": "確定",
    "reopen": "確定の解除",
    "archive": "保存版の作成",
    "restore": "バックアップからの復元",
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
    "term_add": "用語辞書に追加",
    "term_update": "用語辞書の変更",
    "term_delete": "用語辞書から削除",
    "dictionary_import": "用語辞書の取り込み",
    "rule_add": "補正ルールの追加",
    "rule_delete": "補正ルールの削除",
    "proposal_accept": "補正の提案を採用",
    "proposal_dismiss": "補正の提案を見送り",
    "org_add": "団体の追加",
}
KINDS = {APP: "アプリ", CLI: "コマンド", SYSTEM: "システム"}


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


class AuditService(Service):
    """The audit log, for those who may view it."""

    def events(
        self,
        *,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        actor: str = "",
        action: str = "",
        limit: int | None = None,
        tz: dt.tzinfo = dt.UTC,
    ) -> list[AuditEntry]:
        """Audit events, oldest first, between two days (inclusive, in ``tz``: UTC unless given) and of one actor or
        action."""
        require(self.user, Permission.VIEW_AUDIT)
        start = dt.datetime.combine(date_from, dt.time(), tz) if date_from is not None else None
        end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), tz) if date_to is not None else None
        with Session(self.engine) as session:
            return [
                AuditEntry(
                    e.id, e.at, e.actor, e.actor_kind, e.action, e.target_type, e.target_id, e.before, e.after, e.ip
                )
                for e in trail.events(
                    session, start=start, end=end, actor=actor, action=action, limit=limit, org_id=self.user.org_id
                )
            ]

    def verify(self) -> ChainReport:
        """Recompute the audit trail's hash chain: the first changed, deleted or unchained event, if any, and the
        chain's head (note it elsewhere, e.g. in the backup, to notice a cut-off tail later), as this user's
        organisation sees it (its own events; a break elsewhere is told without details)."""
        require(self.user, Permission.VIEW_AUDIT)
        with Session(self.engine) as session:
            return trail.verify(session, org_id=self.user.org_id)


COLUMNS = ("id", "at", "actor", "actor_kind", "action", "target_type", "target_id", "before", "after", "ip")


def to_csv(entries: list[AuditEntry]) -> bytes:
    """CSV (UTF-8 with BOM, so that Excel reads the Japanese) of audit entries. Text a spreadsheet would take for a
    formula (a user name ``=HYPERLINK(...)`` typed at a failed sign-in) starts with a single quote."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for e in entries:
        writer.writerow(
            safe_row(
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
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
