"""検索: full-text search across the utterances of all meetings and their materials; a result opens the editor at the
utterance, with the player ready there (or the material at its page)."""

from __future__ import annotations

import re
from html import escape

import streamlit as st

from minutes.errors import MinutesError
from minutes.services import Permission
from minutes.services.search import ORDERS, SCOPES, SearchQuery, SearchResults, Snippet
from ui import state

PER_PAGE = 20
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")

search = state.services().search
st.title("検索")
st.caption("すべての会議の発言と資料から探します。空白で区切ると、すべての語を含むものを探します（2 文字の語も可）。")
if not state.can(Permission.READ_DRAFT):
    st.caption("確定済みの会議録だけを探します（作成中の会議録は、確定されると検索できるようになります）。")

with st.form("search"):
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    text = left.text_input("検索する語", key="search_text", placeholder="例: 補正予算　防災")
    right.form_submit_button("検索", type="primary", width="stretch")
    a, b, c, d, e, f = st.columns([1.3, 1.3, 1.4, 1.6, 1.2, 1.2])
    from_text = state.date_field(a, "開催日（から）", None, key="search_from")
    to_text = state.date_field(b, "開催日（まで）", None, key="search_to")
    kind = c.selectbox(
        "会議の種別",
        [None, *search.kinds()],
        format_func=lambda k: k or "すべて",
        placeholder="すべて",
        key="search_kind",
    )
    speaker = d.text_input("話者（氏名・役職の一部）", key="search_speaker")
    scope = e.selectbox("対象", list(SCOPES), format_func=SCOPES.get, key="search_scope")
    order = f.selectbox("並び順", list(ORDERS), format_func=ORDERS.get, key="search_order")

query_text = (text or "").strip()
if not query_text:
    st.stop()
try:
    date_from, date_to = state.day("開催日（から）", from_text), state.day("開催日（まで）", to_text)
except MinutesError as error:
    state.show_error(error)
    st.stop()
criteria = (query_text, date_from, date_to, kind, speaker.strip(), scope, order)
if st.session_state.get("search_criteria") != criteria:
    st.session_state.search_criteria = criteria
    st.session_state.search_page = 0
page = st.session_state.get("search_page", 0)

try:
    results: SearchResults = search.search(
        SearchQuery(
            query_text,
            date_from=date_from,
            date_to=date_to,
            kind=kind,
            speaker=speaker.strip() or None,
            scope=scope,
            order=order,
            limit=PER_PAGE,
            offset=page * PER_PAGE,
        )
    )
except MinutesError as error:
    state.show_error(error)
    st.stop()


def _md(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _highlighted(snippet: Snippet) -> str:
    """The snippet as HTML: matches in <mark>, everything escaped (shown with st.html, no markdown)."""
    body = "".join(
        f'<mark style="background:#ffe08a;padding:0 1px">{escape(part)}</mark>' if hit else escape(part)
        for part, hit in snippet.parts
    )
    return f'<div style="line-height:1.7">{body}</div>'


def _open_utterance(meeting_id: int, utterance_id: int) -> None:
    state.choose_meeting(meeting_id)
    st.switch_page("ui/pages/editor.py", query_params={"meeting": meeting_id, "at": f"u{utterance_id}"})


def _open_material(meeting_id: int, material_id: int, page_number: int) -> None:
    state.choose_meeting(meeting_id)
    st.switch_page(
        "ui/pages/materials.py",
        query_params={"meeting": meeting_id, "material": material_id, "page": page_number},
    )


if scope != "materials":
    st.subheader(f"発言　{results.total_label}")
    st.caption(f"{results.elapsed_ms:.0f} ミリ秒")
    if not results.utterances:
        st.info(f"「{query_text}」を含む発言は見つかりませんでした。条件を変えてお試しください。")
    for hit in results.utterances:
        with st.container(border=True, key=f"hit-{hit.utterance_id}"):
            head, button = st.columns([6, 1.3], vertical_alignment="center")
            agenda = f"・日程第{hit.agenda_order}" if hit.agenda_order is not None else ""
            head.markdown(
                f"**{_md(hit.meeting_title)}**　{state.format_date(hit.held_at)}{agenda}  \n"
                f"{_md(hit.speaker)}　{state.format_seconds(hit.start)}"
            )
            with head:
                st.html(_highlighted(hit.snippet))
            if button.button("▶ 発言を開く", key=f"open-{hit.utterance_id}", width="stretch", help="この発言から再生"):
                _open_utterance(hit.meeting_id, hit.utterance_id)
    shown = page * PER_PAGE + len(results.utterances)
    more = results.utterance_total > shown or (results.total_is_lower_bound and len(results.utterances) == PER_PAGE)
    if page > 0 or more:
        a, b, c = st.columns([1, 2, 1])
        if a.button("◀ 前の 20 件", disabled=page == 0, key="search_prev"):
            st.session_state.search_page = page - 1
            st.rerun()
        b.caption(f"{page * PER_PAGE + 1}〜{shown} 件目")
        if c.button("次の 20 件 ▶", disabled=not more, key="search_next"):
            st.session_state.search_page = page + 1
            st.rerun()

if scope != "utterances" and page == 0:
    if speaker.strip():
        st.caption("話者を指定したため、資料は検索していません。")
    else:
        st.subheader(f"資料　{len(results.materials)} 件")
        if not results.materials:
            st.caption(f"「{query_text}」を含む資料はありません。")
        for hit in results.materials:
            with st.container(border=True, key=f"mhit-{hit.material_id}-{hit.page}"):
                head, button = st.columns([6, 1.3], vertical_alignment="center")
                head.markdown(
                    f"**{_md(hit.title)}**　{hit.label}  \n{_md(hit.meeting_title)}　{state.format_date(hit.held_at)}"
                )
                with head:
                    st.html(_highlighted(hit.snippet))
                if button.button("資料を開く", key=f"mopen-{hit.material_id}-{hit.page}", width="stretch"):
                    _open_material(hit.meeting_id, hit.material_id, hit.page)
