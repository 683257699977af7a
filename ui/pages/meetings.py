"""会議一覧: every meeting with its status, date and kind; filter, sort, open."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from minutes.services import Permission, who_can
from minutes.services.views import STATUS_LABELS_JA, MeetingSummary
from ui import state

SORTS = {
    "開催日時（新しい順）": (lambda m: m.held_at or dt.datetime.min, True),
    "開催日時（古い順）": (lambda m: m.held_at or dt.datetime.max, False),
    "登録日時（新しい順）": (lambda m: m.created_at, True),
    "状態": (lambda m: list(STATUS_LABELS_JA).index(m.status), False),
    "種別": (lambda m: m.kind or "〿", False),
}

st.title("会議一覧")

meetings: list[MeetingSummary] = state.services().meetings.meetings()
if not meetings:
    if state.can(Permission.CREATE_MEETING):
        st.info("会議がまだありません。左の「新しい会議」から録音を登録してください。")
        if st.button("新しい会議を登録する", type="primary", key="new_meeting"):
            st.switch_page("ui/pages/new_meeting.py")
    elif state.can(Permission.READ_DRAFT):
        st.info(f"会議がまだありません。{who_can(Permission.CREATE_MEETING)}が録音を登録すると、ここに表示されます。")
    else:
        st.info("確定済みの会議録はまだありません。確定されると、ここに表示されます。")
    st.stop()

left, middle, right, far = st.columns([2, 2, 2, 2])
statuses = left.multiselect(
    "状態で絞り込み",
    list(STATUS_LABELS_JA),
    format_func=STATUS_LABELS_JA.get,
    placeholder="すべての状態",
    key="filter_status",
)
kinds = middle.multiselect(
    "種別で絞り込み",
    sorted({m.kind for m in meetings if m.kind}),
    placeholder="すべての種別",
    key="filter_kind",
)
words = right.text_input("会議名で検索", key="filter_title", placeholder="例: 定例会")
sort = far.selectbox("並べ替え", list(SORTS), key="sort")


def _shown(all_meetings: list[MeetingSummary]) -> list[MeetingSummary]:
    chosen = [
        m
        for m in all_meetings
        if (not statuses or m.status in statuses)
        and (not kinds or m.kind in kinds)
        and (not words.strip() or words.strip() in m.title)
    ]
    key, descending = SORTS[sort]
    return sorted(chosen, key=key, reverse=descending)


running = any(m.status in ("queued", "running") for m in meetings)


@st.fragment(run_every=3 if running else None)
def meeting_table() -> None:
    shown = _shown(state.services().meetings.meetings())
    st.caption(f"{len(shown)} 件（全 {len(meetings)} 件）")
    st.dataframe(
        [
            {
                "会議名": m.title,
                "種別": m.kind or "—",
                "開催日時": state.format_date(m.held_at),
                "場所": m.place or "—",
                "状態": m.status_label,
                "進み具合": m.progress / 100 if m.status in ("queued", "running", "succeeded") else None,
                "ID": m.id,
            }
            for m in shown
        ],
        hide_index=True,
        width="stretch",
        column_config={
            "進み具合": st.column_config.ProgressColumn("進み具合", min_value=0.0, max_value=1.0, format="percent"),
            "ID": st.column_config.NumberColumn("ID", width="small"),
        },
    )


meeting_table()

shown = _shown(meetings)
if shown:
    st.subheader("会議を開く")
    ids = [m.id for m in shown]
    current = state.current_meeting_id()
    titles = {m.id: f"{m.title}（{state.format_date(m.held_at)}・{m.status_label}）" for m in shown}
    chosen = st.selectbox(
        "会議",
        ids,
        index=ids.index(current) if current in ids else 0,
        format_func=titles.get,
        key="open_meeting",
    )
    a, b, c, _ = st.columns([1.5, 1, 1, 2.5])
    if a.button("会議の情報・進み具合", type="primary", width="stretch", key="open_meeting_page"):
        state.choose_meeting(chosen)
        st.switch_page("ui/pages/meeting.py", query_params={"meeting": chosen})
    if b.button("発言を編集" if state.can(Permission.EDIT) else "発言を見る", width="stretch", key="open_editor"):
        state.choose_meeting(chosen)
        st.switch_page("ui/pages/editor.py", query_params={"meeting": chosen})
    if c.button("話者", width="stretch", key="open_speakers"):
        state.choose_meeting(chosen)
        st.switch_page("ui/pages/speakers.py", query_params={"meeting": chosen})
