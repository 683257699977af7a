"""監査ログ: the append-only audit trail, filtered, with a CSV download (administrators only)."""

from __future__ import annotations

import datetime as dt
import json

import streamlit as st

from minutes.errors import MinutesError
from minutes.services import Permission, audit
from minutes.services.permissions import require
from ui import state

st.title("監査ログ")
try:
    require(state.user(), Permission.VIEW_AUDIT)
except MinutesError as error:
    state.show_error(error)
    st.stop()

today = dt.datetime.now(state.LOCAL).date()
a, b, c, d = st.columns(4)
from_text = state.date_field(a, "開始日", today - dt.timedelta(days=30), key="audit_from")
to_text = state.date_field(b, "終了日", today, key="audit_to")
actor = c.text_input("操作者", key="audit_actor")
action = d.selectbox(
    "操作",
    ["", *audit.LABELS],
    format_func=lambda code: audit.LABELS.get(code, "すべて"),
    key="audit_action",
)
try:
    date_from, date_to = state.day("開始日", from_text), state.day("終了日", to_text)
    entries = state.services().audit.events(
        date_from=date_from, date_to=date_to, actor=actor.strip(), action=action, tz=state.LOCAL
    )
except MinutesError as error:
    state.show_error(error)
    st.stop()
st.caption(f"{len(entries):,} 件（追記のみ: 記録は変更・削除できません。日時は日本時間）")
if len(entries) > 1000:
    st.caption("表には新しい 1,000 件を表示しています。すべては CSV に含まれます。")
st.dataframe(
    [
        {
            "日時": f"{e.at.astimezone(state.LOCAL):%Y-%m-%d %H:%M:%S}",
            "操作者": e.actor,
            "経路": audit.KINDS.get(e.actor_kind, e.actor_kind),
            "操作": audit.LABELS.get(e.action, e.action),
            "対象": f"{e.target_type} {e.target_id}".strip(),
            "変更前": "" if e.before is None else json.dumps(e.before, ensure_ascii=False)[:200],
            "変更後": "" if e.after is None else json.dumps(e.after, ensure_ascii=False)[:200],
            "IP": e.ip or "",
        }
        for e in reversed(entries[-1000:])
    ],
    hide_index=True,
    width="stretch",
)
st.download_button(
    "CSV をダウンロード",
    audit.to_csv(entries),
    file_name=f"audit-{date_from or '始め'}-{date_to or '今日'}.csv",
    mime="text/csv",
    key="audit_csv",
)
