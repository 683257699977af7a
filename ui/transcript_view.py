"""The utterances of the editor page (``ui/pages/editor.py``): a page of 20 (表示件数: 20, 50 or 100), each shown
as text with its speaker, time and agenda item, and the editing widgets only for the utterances the clerk opened
with 編集.

Five clerks at once made the editor slow (issue 16): every click ran the whole page again and drew 50 × five
widgets. Now the list is a fragment (key ``lines``) and each utterance is a fragment of its own (``line-<id>``):
saving, changing a speaker or opening 編集 reruns that one utterance; turning the page, splitting or merging reruns
the list; ▶ reruns only the player in the sidebar (``player``). The page's utterances are kept in the session
(``editor_lines``), refreshed from the database whenever the list is drawn, when an utterance is opened for editing
and after each change; a change someone else made meanwhile is refused by the services (``EditConflict``) and shown
on the utterance with the text now stored."""

from __future__ import annotations

import re

import streamlit as st

from minutes.errors import MinutesError
from minutes.services.agenda import agenda_label
from minutes.services.views import LOW_CONFIDENCE, Line, Page
from ui import line_tools, state
from ui.line_tools import LINES, Editing

# Utterances a page holds, the clerk's choice (表示件数). Streamlit's browser side redraws the whole page on every
# rerun, even a fragment's, so its time grows with what the page holds: with 20 utterances rather than 50, one
# Chromium spent 10–43 % less CPU on a page turn and 17–46 % less on a reload (two comparisons on the loaded 2-core
# machine; 編集 and a save not measurably different), and the server 40 % less on drawing the list (issue 16).
PAGE_SIZES = (20, 50, 100)
PER_PAGE_KEY = "per_page"


def per_page() -> int:
    """The utterances one page of the editor holds (the session's 表示件数)."""
    return st.session_state.get(PER_PAGE_KEY, PAGE_SIZES[0])


PLAYER = "player"  # the fragment key of the sidebar's player
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")


def escape(text: str) -> str:
    """User text as literal markdown (no emphasis, links or HTML)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def page_key(meeting_id: int) -> str:
    return f"page-{meeting_id}"


def show_messages(flash: list) -> None:
    """Messages the callbacks left, shown once by whichever part of the page runs next."""
    for kind, message in flash:
        if kind == "error":
            st.error(message, icon=":material/warning:")
        else:
            st.toast(message, icon=":material/save:")
    flash.clear()


# ---------------------------------------------------------------- callbacks (run before the fragment is drawn again)


def _refresh(editing: Editing, line_id: int) -> None:
    """The utterance as stored now (another clerk may have changed it)."""
    try:
        editing.cache[line_id] = editing.services.transcript.line(line_id)
    except MinutesError:  # gone (merged by someone else): the list shows what is there
        editing.cache.pop(line_id, None)
        st.rerun(LINES)


def on_text(editing: Editing, line_id: int, key: str) -> None:
    text = st.session_state[key]
    try:
        editing.cache[line_id] = editing.services.transcript.edit_text(
            line_id, text=text, expected_version=editing.cache[line_id].version
        )
        editing.conflicts.pop(line_id, None)
        editing.flash.append(("saved", "保存しました"))
    except MinutesError as error:
        editing.report(error, line_id, text)
        _refresh(editing, line_id)
    st.rerun(line_tools.line_key(line_id))


def on_speaker(editing: Editing, line_id: int, key: str) -> None:
    try:
        editing.cache[line_id] = editing.services.transcript.change_speaker(
            line_id, speaker_id=st.session_state[key], expected_version=editing.cache[line_id].version
        )
        editing.flash.append(("saved", "話者を変更しました"))
    except MinutesError as error:
        editing.report(error, line_id)
        _refresh(editing, line_id)
    st.rerun(line_tools.line_key(line_id))


def on_agenda(editing: Editing, line_id: int, key: str) -> None:
    try:
        editing.services.details.assign_agenda(editing.meeting_id, [line_id], agenda_order=st.session_state[key])
        editing.flash.append(("saved", "議事日程を設定しました"))
    except MinutesError as error:
        editing.report(error, line_id)
    _refresh(editing, line_id)
    st.rerun(line_tools.line_key(line_id))


def on_open(editing: Editing, line_id: int) -> None:
    """編集 / 閉じる: the editing widgets of this utterance, from its text as stored now."""
    opened: set = st.session_state.setdefault("editor_open", set())
    if line_id in opened:
        opened.discard(line_id)
        st.session_state.get("editor_tools", set()).discard(line_id)
    else:
        opened.add(line_id)
        _refresh(editing, line_id)
        st.session_state.editor_focus = line_id  # the cursor goes to the text, ready to type
    st.rerun(line_tools.line_key(line_id))


def on_tools(line_id: int) -> None:
    tools: set = st.session_state.setdefault("editor_tools", set())
    tools.symmetric_difference_update({line_id})
    st.rerun(line_tools.line_key(line_id))


def on_play(meeting_id: int, line: Line) -> None:
    st.session_state.play = (meeting_id, line.start, line.id)
    st.rerun(PLAYER)


def on_ack(line_id: int) -> None:
    st.session_state.conflicts.pop(line_id, None)
    st.rerun(line_tools.line_key(line_id))


# Every control of the list but the page number (see ``_navigation``) names the list as the part to draw again
# (``st.rerun(LINES)``), and so does every other control of the page with its own part. A click that ends typing in
# an opened utterance reaches the server together with the text, in one message scoped to that utterance's fragment;
# a control that left the choice to Streamlit was then drawn again only with the utterance (the text saved, the page
# not turned: issue 16, streamlit#8725).


def _redraw_list() -> None:
    st.rerun(LINES)


def _on_jump(editing: Editing) -> None:
    seconds = state.parse_seconds(st.session_state.get("jump_to", ""))
    if seconds is None:
        editing.flash.append(("error", "時刻は「1:02:03」や「62:03」の形で入力してください。"))
    else:
        st.session_state[page_key(editing.meeting_id)] = (
            editing.services.transcript.page_at(
                editing.meeting_id, seconds, per_page(), st.session_state.get("speaker_filter")
            )
            + 1
        )
    st.rerun(LINES)


def _on_page_size(meeting_id: int, shown: int) -> None:
    """表示件数 changed: the page that holds the utterance that was first on the screen."""
    key = page_key(meeting_id)
    first = (st.session_state.get(key, 1) - 1) * shown
    st.session_state[key] = first // per_page() + 1
    st.rerun(LINES)


def _on_step(meeting_id: int, delta: int, pages: int) -> None:
    key = page_key(meeting_id)
    st.session_state[key] = min(max(1, st.session_state.get(key, 1) + delta), pages)
    st.rerun(LINES)


# ---------------------------------------------------------------- one utterance


def _marked(line: Line) -> str:
    """The text, with the words recognized with low confidence on an orange background."""
    return "".join(
        f":orange-background[{escape(text)}]" if low else escape(text) for text, low in line.low_confidence()
    )


def _raw_marked(line: Line) -> str:
    """The 素起こし, its low-confidence words marked while its words spell it."""
    pieces = [(str(w.get("text", "")).strip(), float(w.get("probability", 1.0)) < LOW_CONFIDENCE) for w in line.words]
    if not pieces or "".join(text for text, _ in pieces) != line.raw:
        return escape(line.raw)
    return "".join(f":orange-background[{escape(text)}]" if low else escape(text) for text, low in pieces if text)


def _layers(line: Line) -> str:
    """The other layers under the 整文 text (the toggle 「素起こし・ケバ取りも表示」), and the rules applied."""
    rows = [f":gray[素起こし]　{_raw_marked(line)}", f":gray[ケバ取り]　{escape(line.kebatori)}"]
    if line.corrections:
        applied = "、".join(f"{c.get('wrong', '')}→{c.get('right', '')}" for c in line.corrections)
        rows.append(f":gray[補正ルール　{escape(applied)}]")
    return "  \n".join(rows)


def show_layers() -> bool:
    return bool(st.session_state.get("show_layers", False))


def _agenda_caption(editing: Editing, line: Line) -> str | None:
    if line.agenda_order is None:
        return None
    item = editing.agenda.get(line.agenda_order)
    return escape(agenda_label(item)) if item else f"日程第{line.agenda_order}"


def _editing_widgets(editing: Editing, line: Line, speaker_col, text_col) -> None:
    speaker_key = f"speaker-{line.id}-{line.version}"
    ids = editing.ids
    speaker_col.selectbox(
        "話者",
        ids,
        index=ids.index(line.speaker_id) if line.speaker_id in ids else 0,
        format_func=editing.names.get,
        key=speaker_key,
        on_change=on_speaker,
        args=(editing, line.id, speaker_key),
        label_visibility="collapsed",
        disabled=editing.locked,
    )
    if editing.agenda:
        orders = [None, *sorted(editing.agenda)]
        agenda_key = f"agenda-{line.id}-{line.agenda_order}"
        speaker_col.selectbox(
            "議事日程",
            orders,
            index=orders.index(line.agenda_order) if line.agenda_order in orders else 0,
            format_func=lambda o: "日程の割り当てなし" if o is None else f"日程第{o}",
            placeholder="日程の割り当てなし",
            key=agenda_key,
            on_change=on_agenda,
            args=(editing, line.id, agenda_key),
            label_visibility="collapsed",
            disabled=editing.locked,
            help=None if line.agenda_order not in editing.agenda else agenda_label(editing.agenda[line.agenda_order]),
        )
    text_key = f"text-{line.id}-{line.version}"
    text_col.text_area(
        "本文",
        value=line.text,
        key=text_key,
        on_change=on_text,
        args=(editing, line.id, text_key),
        label_visibility="collapsed",
        height=max(68, 26 * (len(line.text) // 60 + 2)),
        disabled=editing.locked,
    )
    if editing.show_marks and any(low for _, low in line.low_confidence()):
        text_col.caption(f"要確認: {_marked(line)}")
    if st.session_state.get("editor_focus") == line.id and not editing.locked:
        del st.session_state.editor_focus
        with text_col:
            st.html(
                "<script>let tries = 0; const put = () => { const el = document.querySelector("
                f"'.st-key-{text_key} textarea'); if (el) {{ el.focus(); }} "
                "if (document.activeElement !== el && tries++ < 10) { setTimeout(put, 100); } }; put();</script>",
                unsafe_allow_javascript=True,
            )


def _conflict(editing: Editing, line: Line, column) -> None:
    message, attempted = editing.conflicts[line.id]
    column.error(message, icon=":material/warning:")
    if attempted:
        column.caption("あなたが入力した内容（保存されていません。必要ならコピーしてください）:")
        column.code(attempted, language=None, wrap_lines=True)
    column.button("確認しました", key=f"ack-{line.id}", on_click=on_ack, args=(line.id,))


def _line(editing: Editing, line_id: int, following_id: int | None, focus_id: int | None) -> None:
    """One utterance: text to read, or (opened with 編集) its editing widgets and tools. A fragment of its own."""
    line = editing.cache.get(line_id)
    if line is None:
        return
    show_messages(editing.flash)
    if editing.may_edit and line.id in st.session_state.get("editor_open", ()):
        _opened(editing, line, following_id, focus_id)
    else:
        _text(editing, line, focus_id)


# The buttons of an utterance to read have no tooltip (``help``): a tooltip is a component of its own in the browser,
# and 100 of them made a page turn take a third more of the browser's time (issue 16, five clerks on 2 cores). The
# page's caption says what 編集 does; the opened utterance keeps its tooltips.


def _play_button(editing: Editing, line: Line, where, *, opened: bool = False) -> None:
    where.button(
        f"▶ {state.format_seconds(line.start)}",
        key=f"play-{line.id}",
        on_click=on_play,
        args=(editing.meeting_id, line),
        help="この発言から再生" if opened else None,
    )


def _open_button(editing: Editing, line: Line, where, *, opened: bool) -> None:
    hint = "話者・修正履歴を見ます" if editing.locked else "この発言の本文・話者・議事日程を編集します"
    where.button(
        "閉じる" if opened else ("詳細" if editing.locked else "編集"),
        key=f"edit-{line.id}",
        on_click=on_open,
        args=(editing, line.id),
        help=hint if opened else None,
        width="stretch" if opened else "content",
    )


def _heading(editing: Editing, line: Line, focus_id: int | None) -> str:
    """「**話者**　日程第1　修正済み」 as one line of markdown."""
    notes = [note for note in (_agenda_caption(editing, line), "修正済み" if line.edited else None) if note]
    heading = f"**{escape(editing.names.get(line.speaker_id, '?'))}**"
    if notes:
        heading += f"　:gray[{'　'.join(notes)}]"
    if line.id == focus_id:
        heading += "　:orange-background[検索結果]"
    return heading


def _text(editing: Editing, line: Line, focus_id: int | None) -> None:
    """The utterance to read: few elements (a row of ▶, the text and 編集), since 50 of them are drawn per page."""
    body = f"{_heading(editing, line, focus_id)}  \n{_marked(line) if editing.show_marks else escape(line.text)}"
    if show_layers():
        body += f"  \n{_layers(line)}"
    calls = line_tools.calls_offered(editing, line) if editing.may_edit else []
    with st.container(border=True, key=f"line-{line.id}", horizontal=True, gap="small"):
        _play_button(editing, line, st)
        if calls or line.id in editing.conflicts:
            with st.container(width="stretch"):
                st.markdown(body)
                line_tools.call_buttons(editing, line, st, calls)
                if line.id in editing.conflicts:
                    _conflict(editing, line, st)
        else:
            st.markdown(body, width="stretch")
        if editing.may_edit:
            _open_button(editing, line, st, opened=False)


def _opened(editing: Editing, line: Line, following_id: int | None, focus_id: int | None) -> None:
    """The utterance opened with 編集: speaker, agenda item and text as widgets, saved at once, and its 操作."""
    with st.container(border=True, key=f"line-{line.id}"):
        time_col, speaker_col, text_col, tool_col = st.columns([1.5, 2.2, 8, 1.1])
        _play_button(editing, line, time_col, opened=True)
        if line.edited:
            time_col.caption("修正済み")
        if line.id == focus_id:
            time_col.caption(":orange-background[検索結果]")
        _editing_widgets(editing, line, speaker_col, text_col)
        if show_layers():
            text_col.markdown(_layers(line))
        line_tools.call_buttons(editing, line, text_col, line_tools.calls_offered(editing, line))
        if line.id in editing.conflicts:
            _conflict(editing, line, text_col)
        _open_button(editing, line, tool_col, opened=True)
        tools_open = line.id in st.session_state.get("editor_tools", ())
        tool_col.button(
            "操作 ▲" if tools_open else "操作 ▼",
            key=f"tools-{line.id}",
            on_click=on_tools,
            args=(line.id,),
            help="分割・話者をまとめて変更・結合・修正履歴",
            width="stretch",
        )
        if tools_open:
            line_tools.tools(editing, line, editing.cache.get(following_id) if following_id else None)


# ---------------------------------------------------------------- the list


def _navigation(editing: Editing) -> Page:
    """The speaker filter, page number, jump to a time, 前 / 次; returns the page of utterances (one query)."""
    meeting_id, key = editing.meeting_id, page_key(editing.meeting_id)
    a, b, size, c, d, e = st.columns([2, 1.2, 1, 2, 1, 1], vertical_alignment="bottom")
    speaker_filter = a.selectbox(
        "話者で絞り込み",
        [None, *editing.ids],
        format_func=lambda i: "すべての話者" if i is None else editing.names[i],
        placeholder="すべての話者",  # Streamlit shows the placeholder for None (its own is English)
        key="speaker_filter",
        on_change=_redraw_list,
    )
    size.selectbox(
        "表示件数",
        PAGE_SIZES,
        index=PAGE_SIZES.index(per_page()),
        format_func=lambda n: f"{n} 件",
        key=PER_PAGE_KEY,
        on_change=_on_page_size,
        args=(meeting_id, per_page()),
    )
    page = editing.services.transcript.page(meeting_id, st.session_state.get(key, 1) - 1, per_page(), speaker_filter)
    st.session_state[key] = page.page + 1  # within the pages there are (a filter may have fewer)
    # No callback on the page number: with one, a 次 ▶ clicked while the page before it still drew was lost (the
    # click's message carried the browser's old number; seen in CI, 1 of 3 runs under load, 0 of 4 without it).
    number = b.number_input(f"ページ（全 {page.pages}）", min_value=1, max_value=page.pages, step=1, key=key)
    c.text_input("時刻へ移動", key="jump_to", placeholder="例: 1:02:03", on_change=_on_jump, args=(editing,))
    d.button("◀ 前", on_click=_on_step, args=(meeting_id, -1, page.pages), disabled=number <= 1, width="stretch")
    e.button(
        "次 ▶", on_click=_on_step, args=(meeting_id, 1, page.pages), disabled=number >= page.pages, width="stretch"
    )
    return page


@st.fragment(key=LINES)
def transcript(editing: Editing, focus_id: int | None) -> None:
    """The page of utterances with its navigation (a fragment: turning the page reruns only this)."""
    show_messages(editing.flash)
    page = _navigation(editing)
    marks, layers, _ = st.columns([2, 2, 3])
    if editing.may_edit:
        marks.toggle("確信度の低い語に色を付けて表示", value=True, key="show_marks", on_change=_redraw_list)
    layers.toggle(
        "素起こし・ケバ取りも表示",
        value=False,
        key="show_layers",
        on_change=_redraw_list,
        help="本文は整文です。認識したままの文と、つなぎ言葉を除いた文を並べます。",
    )
    editing.cache.clear()
    editing.cache.update((line.id, line) for line in page.lines)
    how = (
        ""
        if editing.locked or not editing.may_edit
        else "「編集」で本文・話者・議事日程を直せます（本文は欄の外をクリックすると保存されます）。"
    )
    st.caption(
        f"{page.total} 発言中 {page.page * page.per_page + 1}〜{page.page * page.per_page + len(page.lines)} 件目。"
        f"▶ でその発言から再生します。{how}"
        + (":orange-background[色付き]の語は認識の確信度が低い箇所です。" if editing.show_marks else "")
    )
    lines = page.lines
    for index, line in enumerate(lines):
        following = lines[index + 1].id if index + 1 < len(lines) else None
        st.fragment(_line, key=line_tools.line_key(line.id))(editing, line.id, following, focus_id)
    a, b, _ = st.columns([1, 1, 6])
    first, last = page.page == 0, page.page + 1 >= page.pages
    a.button("◀ 前", on_click=_on_step, args=(editing.meeting_id, -1, page.pages), disabled=first, key="prev-bottom")
    b.button("次 ▶", on_click=_on_step, args=(editing.meeting_id, 1, page.pages), disabled=last, key="next-bottom")
    if focus_id is not None and focus_id in editing.cache:
        _bring_into_view(focus_id)


def _bring_into_view(focus_id: int) -> None:
    """Mark the utterance opened from a search result and scroll to it (a script in the page, as the cookie's)."""
    st.html(
        f"<style>.st-key-line-{focus_id} {{ border: 2px solid #e8a33d; background: #fff7e8; }}</style>"
        "<script>let tries = 0; const look = () => { const el = document.querySelector("
        f"'.st-key-line-{focus_id}'); if (el) {{ el.scrollIntoView({{block: 'center'}}); }} else if (tries++ < 20) "
        "{ setTimeout(look, 100); } }; look();</script>",
        unsafe_allow_javascript=True,
    )
