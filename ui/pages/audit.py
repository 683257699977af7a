"""監査ログ: the append-only audit trail, filtered, with a CSV download (administrators only)."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from minutes import audit
from minutes.auth import Permission, require
from minutes.errors import MinutesError
from ui import state

st.title("監査ログ")
try:
    require(state.user(), Permission.VIEW_AUDIT)
except MinutesError as error:
    state.show_error(error)
    st.stop()

today = dt.datetime.now(dt.UTC).date()
a, b, c, d = st.columns(4)
date_from = a.date_input("開始日（UTC）", value=today - dt.timedelta(days=30), key="audit_from")
date_to = b.date_input("終了日（UTC）", value=today, key="audit_to")
actor = c.text_input("操作者", key="audit_actor")
action = d.text_input("操作（login, export, finalize …）", key="audit_action")
entries = audit.events(
    state.service().engine,
    date_from=date_from,
    date_to=date_to,
    actor=actor.strip(),
    action=action.strip(),
    user=state.user(),
)
st.caption(f"{len(entries):,} 件（追記のみ: 記録は変更・削除できません）")
st.dataframe(
    [
        {
            "日時": state.format_moment(e.at),
            "操作者": e.actor,
            "経路": e.actor_kind,
            "操作": e.action,
            "対象": f"{e.target_type} {e.target_id}".strip(),
            "変更前": "" if e.before is None else str(e.before)[:200],
            "変更後": "" if e.after is None else str(e.after)[:200],
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
    file_name=f"audit-{date_from}-{date_to}.csv",
    mime="text/csv",
    key="audit_csv",
)
