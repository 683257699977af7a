"""発言の編集: the transcript, 50 utterances a page, with playback from any utterance, text and speaker edits, split at
a place in the text, the chair's calls set apart in one click, a speaker for many utterances at once, merge, edit
history with revert (``ui/line_tools.py``), speakers added and separated again (``ui/speaker_tools.py``),
low-confidence marks, find & replace, and the agenda item (日程第N) of each utterance with suggestions from the chair's
announcements. Every change is saved at once.

``?meeting=M&at=u123`` opens the page of utterance 123, marked, scrolled to, with the player ready at its start;
``?meeting=M&at=1:02:03`` (or seconds) does the same for the utterance spoken then (links from the search page)."""

from __future__ import annotations

import re

import streamlit as st

from minutes.errors import EditConflict, MinutesError
from minutes.services import Permission, who_can
from minutes.services.agenda import agenda_label
from minutes.services.views import Line, SpeakerInfo
from ui import line_tools, speaker_tools, state

PER_PAGE = 50
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")


def _escape(text: str) -> str:
    """User text as literal markdown (no emphasis, links or HTML)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


meeting_id, services, info = state.open_meeting()

st.title(state.EDITOR_TITLE if state.can(Permission.EDIT) else state.READER_TITLE)
st.caption(info.title)
if info.utterance_count == 0:
    if info.job is not None and info.job.running:
        st.info("文字起こしの処理中です。完了すると、ここで発言を編集できます。", icon=":material/hourglass_top:")
    else:
        st.info("この会議には発言がありません。", icon=":material/info:")
    st.stop()

# Those who may not edit (閲覧者) get the transcript as text; a finalized meeting keeps the editor's widgets, disabled.
may_edit = state.can(Permission.EDIT)
locked = info.finalized or not may_edit
if info.finalized:
    if not may_edit:
        how = ""
    elif state.can(Permission.FINALIZE):
        how = "修正するには「会議の情報・確定」で確定を解除してください。"
    else:
        how = f"修正が必要なときは、{who_can(Permission.FINALIZE)}に確定の解除を依頼してください。"
    st.info(
        f"確定済みの会議録です（{info.finalized_by} さん、{state.format_moment(info.finalized_at)}）。"
        f"閲覧のみできます。{how}",
        icon=":material/lock:",
    )
elif not may_edit:
    st.caption(f"発言の編集は{who_can(Permission.EDIT)}が行います。")

speakers: list[SpeakerInfo] = services.speakers.speakers(meeting_id)
speaker_names = {s.id: s.display for s in speakers}
speaker_ids = [s.id for s in speakers]
flash = st.session_state.setdefault("flash", [])  # messages from callbacks, shown once
conflicts: dict[int, tuple[str, str]] = st.session_state.setdefault("conflicts", {})
page_key = f"page-{meeting_id}"
agenda = {a.order: a for a in info.details.agenda if a.order is not None}
agenda_orders = [None, *sorted(agenda)]


def _open_at(target: str) -> int | None:
    """Go to the page of ``u<id>`` or of a time, ready to play there; returns the utterance to mark."""
    st.session_state["speaker_filter"] = None
    if target.startswith("u") and target[1:].isdigit():
        try:
            found_meeting, index, start = services.search.locate(int(target[1:]))
        except MinutesError as error:
            flash.append(("error", error.message))
            return None
        if found_meeting != meeting_id:
            return None
        st.session_state[page_key] = index // PER_PAGE + 1
        st.session_state.play = (meeting_id, start, int(target[1:]))
        return int(target[1:])
    seconds = state.parse_seconds(target)
    if seconds is None:
        return None
    page_number = services.transcript.page_at(meeting_id, seconds, PER_PAGE)
    st.session_state[page_key] = page_number + 1
    lines_there = services.transcript.page(meeting_id, page_number, PER_PAGE).lines
    line = next((x for x in lines_there if x.end > seconds), lines_there[-1] if lines_there else None)
    st.session_state.play = (meeting_id, seconds, line.id if line else 0)
    return line.id if line else None


at = st.query_params.get("at")
if at and st.session_state.get("opened_at") != (meeting_id, at):
    st.session_state.opened_at = (meeting_id, at)
    st.session_state.focus = (meeting_id, _open_at(at))
focus = st.session_state.get("focus")
focus_id = focus[1] if focus and focus[0] == meeting_id else None


# ---------------------------------------------------------------- callbacks (run before the page is drawn again)


def _report(error: MinutesError, line_id: int | None = None, attempted: str = "") -> None:
    if isinstance(error, EditConflict) and line_id is not None:
        conflicts[line_id] = (error.message, attempted)
    else:
        flash.append(("error", error.message))


def on_text(line: Line, key: str) -> None:
    text = st.session_state[key]
    try:
        services.transcript.edit_text(line.id, text=text, expected_version=line.version)
        conflicts.pop(line.id, None)
        flash.append(("saved", "保存しました"))
    except MinutesError as error:
        _report(error, line.id, text)


def on_speaker(line: Line, key: str) -> None:
    try:
        services.transcript.change_speaker(line.id, speaker_id=st.session_state[key], expected_version=line.version)
        flash.append(("saved", "話者を変更しました"))
    except MinutesError as error:
        _report(error, line.id)


def on_play(line: Line) -> None:
    st.session_state.play = (meeting_id, line.start, line.id)


def on_tools(line: Line) -> None:
    st.session_state.tools = None if st.session_state.get("tools") == line.id else line.id


def on_jump() -> None:
    seconds = state.parse_seconds(st.session_state.get("jump_to", ""))
    if seconds is None:
        flash.append(("error", "時刻は「1:02:03」や「62:03」の形で入力してください。"))
        return
    st.session_state[page_key] = (
        services.transcript.page_at(meeting_id, seconds, PER_PAGE, st.session_state.get("speaker_filter")) + 1
    )


def on_agenda(line: Line, key: str) -> None:
    try:
        services.details.assign_agenda(meeting_id, [line.id], agenda_order=st.session_state[key])
        flash.append(("saved", "議事日程を設定しました"))
    except MinutesError as error:
        _report(error, line.id)


def on_suggestion(suggestions) -> None:
    try:
        for suggestion in suggestions:
            services.details.assign_agenda(meeting_id, suggestion.utterance_ids, agenda_order=suggestion.order)
        flash.append(("saved", f"{len(suggestions)} 件の議事日程の候補を適用しました"))
    except MinutesError as error:
        flash.append(("error", error.message))


def on_step(delta: int, pages: int) -> None:
    st.session_state[page_key] = min(max(1, st.session_state.get(page_key, 1) + delta), pages)


# ---------------------------------------------------------------- messages and player

for kind, message in flash:
    if kind == "error":
        st.error(message, icon=":material/warning:")
    else:
        st.toast(message, icon=":material/save:")
flash.clear()

play = st.session_state.get("play")
with st.sidebar:
    st.markdown("**再生**")
    if info.recording is None or not info.recording.path.exists():
        st.caption("録音ファイルが見つからないため再生できません。")
    elif play is None or play[0] != meeting_id:
        st.caption("発言の ▶ を押すと、その発言から再生します。")
    else:
        _, start, line_id = play
        try:
            clip, offset = services.playback.clip(meeting_id, start)
            st.audio(str(clip), format="audio/wav", start_time=offset, autoplay=True)
            st.caption(f"{state.format_seconds(start)} から再生（発言 {line_id}）")
        except Exception as error:  # an unreadable recording must not break the editor
            st.warning(f"再生用の音声を作れませんでした（{type(error).__name__}）。")


# ---------------------------------------------------------------- speakers of the whole meeting

editing = line_tools.Editing(
    services, meeting_id, speakers, locked, flash, conflicts, services.speakers.chair(meeting_id) if may_edit else None
)
if may_edit:
    speaker_tools.separation_status(services, meeting_id, may_run=not locked)
    with st.expander("話者の追加・分け直し", icon=":material/record_voice_over:"):
        left, right = st.columns(2, gap="large")
        with left:
            st.markdown("**話者を追加**")
            st.caption("自動で見つからなかった話者（例: 町長）を追加します。すべての話者の選択欄にすぐ表れます。")
            speaker_tools.add_speaker_form(
                services, meeting_id, disabled=locked, notify=lambda message: flash.append(("saved", message))
            )
        with right:
            st.markdown("**話者の分け直し**")
            speaker_tools.rediarize_form(
                services, meeting_id, speakers=sum(s.utterances > 0 for s in speakers), disabled=locked
            )


# ---------------------------------------------------------------- find and replace

if may_edit:
    with st.expander("検索・置換", icon=":material/search:"):
        with st.form("replace"):
            a, b = st.columns(2)
            find = a.text_input("検索する語", key="find")
            replacement = b.text_input("置き換える語", key="replacement")
            previewed = st.form_submit_button("プレビュー")
        if previewed:
            try:
                st.session_state.preview = services.transcript.preview_replace(meeting_id, find, replacement)
            except MinutesError as error:
                state.show_error(error)
        preview = st.session_state.get("preview")
        if preview is not None:
            if not preview.matches:
                st.info(f"「{_escape(preview.find)}」は見つかりませんでした。")
            else:
                st.markdown(
                    f"「{_escape(preview.find)}」→「{_escape(preview.replace)}」: "
                    f"**{len(preview.matches)} 発言で {preview.count} 箇所**"
                )
                st.dataframe(
                    [
                        {"時刻": state.format_seconds(m.start), "件数": m.count, "変更前": m.before, "変更後": m.after}
                        for m in preview.matches
                    ],
                    hide_index=True,
                    width="stretch",
                    height=min(400, 38 + 35 * len(preview.matches)),
                )
                a, b, _ = st.columns([1, 1, 3])
                if a.button(f"{preview.count} 箇所をすべて置換", type="primary", disabled=locked, key="apply_replace"):
                    try:
                        count = services.transcript.apply_replace(meeting_id, preview)
                        st.session_state.preview = None
                        flash.append(("saved", f"{count} 箇所を置換しました"))
                        st.rerun()
                    except MinutesError as error:
                        state.show_error(error)
                if b.button("取り消す", key="clear_preview"):
                    st.session_state.preview = None
                    st.rerun()


# ---------------------------------------------------------------- agenda suggestions

if agenda and not locked:
    suggestions = services.agenda.suggestions(meeting_id)
    if suggestions:
        with st.expander(f"議事日程の候補（{len(suggestions)} 件）", icon=":material/format_list_numbered:"):
            st.caption("議長の「日程第N」の発言から、次の「日程第N」までの発言をその日程に割り当てる候補です。")
            for n, suggestion in enumerate(suggestions):
                text_col, button_col = st.columns([6, 1], vertical_alignment="center")
                text_col.markdown(
                    f"**{suggestion.label}**　発言 {suggestion.first_seq + 1}〜{suggestion.last_seq + 1}"
                    f"（{len(suggestion.utterance_ids)} 発言）  \n「{_escape(suggestion.quote)}」"
                )
                button_col.button(
                    "適用", key=f"suggestion-{n}", on_click=on_suggestion, args=([suggestion],), width="stretch"
                )
            st.button(
                "候補をすべて適用", type="primary", key="apply_suggestions", on_click=on_suggestion, args=(suggestions,)
            )


# ---------------------------------------------------------------- navigation

a, b, c, d, e = st.columns([2, 1.2, 2.2, 1, 1], vertical_alignment="bottom")
speaker_filter = a.selectbox(
    "話者で絞り込み",
    [None, *speaker_ids],
    format_func=lambda i: "すべての話者" if i is None else speaker_names[i],
    placeholder="すべての話者",  # Streamlit shows the placeholder for None (its own is English)
    key="speaker_filter",
)
first = services.transcript.page(meeting_id, 0, PER_PAGE, speaker_filter)
pages = first.pages
if st.session_state.get(page_key, 1) > pages:
    st.session_state[page_key] = pages
page_number = b.number_input(f"ページ（全 {pages}）", min_value=1, max_value=pages, step=1, key=page_key)
c.text_input("時刻へ移動", key="jump_to", placeholder="例: 1:02:03", on_change=on_jump)
d.button("◀ 前", on_click=on_step, args=(-1, pages), disabled=page_number <= 1, width="stretch")
e.button("次 ▶", on_click=on_step, args=(1, pages), disabled=page_number >= pages, width="stretch")

show_marks = may_edit and st.toggle("確信度の低い語に色を付けて表示", value=True, key="show_marks")
page = first if page_number == 1 else services.transcript.page(meeting_id, page_number - 1, PER_PAGE, speaker_filter)
st.caption(
    f"{page.total} 発言中 {page.page * PER_PAGE + 1}〜{page.page * PER_PAGE + len(page.lines)} 件目。"
    + ("" if locked else "本文は欄の外をクリックすると保存されます。")
    + (":orange-background[色付き]の語は認識の確信度が低い箇所です。" if show_marks else "")
)


# ---------------------------------------------------------------- the utterances


def _marked(line: Line) -> str | None:
    pieces = line.low_confidence()
    if not any(low for _, low in pieces):
        return None
    return "".join(f":orange-background[{_escape(text)}]" if low else _escape(text) for text, low in pieces)


lines = page.lines
for index, line in enumerate(lines):
    following = lines[index + 1] if index + 1 < len(lines) else None
    with st.container(border=True, key=f"line-{line.id}"):
        time_col, speaker_col, text_col, tool_col = st.columns([1.5, 2.2, 8, 1.1])
        time_col.button(
            f"▶ {state.format_seconds(line.start)}",
            key=f"play-{line.id}",
            on_click=on_play,
            args=(line,),
            help="この発言から再生",
        )
        if line.edited:
            time_col.caption("修正済み")
        if line.id == focus_id:
            time_col.caption(":orange-background[検索結果]")
        if not may_edit:
            speaker_col.markdown(f"**{_escape(speaker_names.get(line.speaker_id, '?'))}**")
            if line.agenda_order is not None:
                item = agenda.get(line.agenda_order)
                speaker_col.caption(_escape(agenda_label(item)) if item else f"日程第{line.agenda_order}")
            text_col.markdown(_escape(line.text))
            continue
        speaker_key = f"speaker-{line.id}-{line.version}"
        speaker_col.selectbox(
            "話者",
            speaker_ids,
            index=speaker_ids.index(line.speaker_id) if line.speaker_id in speaker_ids else 0,
            format_func=speaker_names.get,
            key=speaker_key,
            on_change=on_speaker,
            args=(line, speaker_key),
            label_visibility="collapsed",
            disabled=locked,
        )
        if agenda:
            agenda_key = f"agenda-{line.id}-{line.agenda_order}"
            speaker_col.selectbox(
                "議事日程",
                agenda_orders,
                index=agenda_orders.index(line.agenda_order) if line.agenda_order in agenda_orders else 0,
                format_func=lambda o: "日程の割り当てなし" if o is None else f"日程第{o}",
                placeholder="日程の割り当てなし",
                key=agenda_key,
                on_change=on_agenda,
                args=(line, agenda_key),
                label_visibility="collapsed",
                disabled=locked,
                help=None if line.agenda_order not in agenda else agenda_label(agenda[line.agenda_order]),
            )
        text_key = f"text-{line.id}-{line.version}"
        text_col.text_area(
            "本文",
            value=line.text,
            key=text_key,
            on_change=on_text,
            args=(line, text_key),
            label_visibility="collapsed",
            height=max(68, 26 * (len(line.text) // 60 + 2)),
            disabled=locked,
        )
        marked = _marked(line) if show_marks else None
        if marked:
            text_col.caption(f"要確認: {marked}")
        line_tools.call_buttons(editing, line, text_col)
        if line.id in conflicts:
            message, attempted = conflicts[line.id]
            text_col.error(message, icon=":material/warning:")
            if attempted:
                text_col.caption("あなたが入力した内容（保存されていません。必要ならコピーしてください）:")
                text_col.code(attempted, language=None, wrap_lines=True)
            if text_col.button("確認しました", key=f"ack-{line.id}"):
                conflicts.pop(line.id, None)
                st.rerun()
        tool_col.button(
            "閉じる" if st.session_state.get("tools") == line.id else "操作",
            key=f"tools-{line.id}",
            on_click=on_tools,
            args=(line,),
            help="分割・話者をまとめて変更・結合・修正履歴",
            width="stretch",
        )
        if st.session_state.get("tools") == line.id:
            line_tools.tools(editing, line, following)

a, b, _ = st.columns([1, 1, 6])
a.button("◀ 前", on_click=on_step, args=(-1, pages), disabled=page_number <= 1, key="prev-bottom", width="stretch")
b.button("次 ▶", on_click=on_step, args=(1, pages), disabled=page_number >= pages, key="next-bottom", width="stretch")

if focus_id is not None and any(line.id == focus_id for line in lines):
    # Mark the utterance opened from a search result and bring it into view (a script in a same-origin frame).
    st.markdown(
        f"<style>.st-key-line-{focus_id} {{ border: 2px solid #e8a33d; background: #fff7e8; }}</style>",
        unsafe_allow_html=True,
    )
    from streamlit.components.v1 import html

    html(
        "<script>let tries = 0; const look = () => { const el = window.parent.document.querySelector("
        f"'.st-key-line-{focus_id}'); if (el) {{ el.scrollIntoView({{block: 'center'}}); }} else if (tries++ < 20) "
        "{ setTimeout(look, 100); } }; look();</script>",
        height=0,
    )
