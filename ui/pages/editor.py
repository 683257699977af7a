"""発言の編集: the transcript, 20 utterances a page (表示件数: 20, 50 or 100), shown as text; 編集 on an utterance
opens its editing widgets (``ui/transcript_view.py``): text, speaker and agenda item (日程第N), with the tools of
split at a place in the text, the chair's calls set apart in one click, a speaker for many utterances at once, merge,
edit history with revert (``ui/line_tools.py``). Playback from any utterance, speakers added and separated again
(``ui/speaker_tools.py``), low-confidence marks, find & replace, and agenda suggestions from the chair's
announcements. Every change is saved at once. The list, each utterance, the player and find & replace are fragments:
a click reruns only its part.

``?meeting=M&at=u123`` opens the page of utterance 123, marked, scrolled to, with the player ready at its start;
``?meeting=M&at=1:02:03`` (or seconds) does the same for the utterance spoken then (links from the search page)."""

from __future__ import annotations

import streamlit as st

from minutes.errors import MinutesError
from minutes.services import Permission, who_can
from minutes.services.views import SpeakerInfo
from ui import line_tools, speaker_tools, state, transcript_view
from ui.transcript_view import escape, page_key, per_page

meeting_id, services, info = state.open_meeting()

st.title(state.EDITOR_TITLE if state.can(Permission.EDIT) else state.READER_TITLE)
st.caption(info.title)
if info.utterance_count == 0:
    if info.job is not None and info.job.running:
        st.info("文字起こしの処理中です。完了すると、ここで発言を編集できます。", icon=":material/hourglass_top:")
    else:
        st.info("この会議には発言がありません。", icon=":material/info:")
    st.stop()

# Those who may not edit (閲覧者) get the transcript as text; on a finalized meeting 詳細 shows the widgets, disabled.
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
flash = st.session_state.setdefault("flash", [])  # messages from callbacks, shown once
conflicts: dict[int, tuple[str, str]] = st.session_state.setdefault("conflicts", {})
agenda = {a.order: a for a in info.details.agenda if a.order is not None}


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
        st.session_state[page_key(meeting_id)] = index // per_page() + 1
        st.session_state.play = (meeting_id, start, int(target[1:]))
        return int(target[1:])
    seconds = state.parse_seconds(target)
    if seconds is None:
        return None
    page_number = services.transcript.page_at(meeting_id, seconds, per_page())
    st.session_state[page_key(meeting_id)] = page_number + 1
    lines_there = services.transcript.page(meeting_id, page_number, per_page()).lines
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


def on_suggestion(suggestions) -> None:
    try:
        for suggestion in suggestions:
            services.details.assign_agenda(meeting_id, suggestion.utterance_ids, agenda_order=suggestion.order)
        flash.append(("saved", f"{len(suggestions)} 件の議事日程の候補を適用しました"))
    except MinutesError as error:
        flash.append(("error", error.message))
    st.rerun()  # the whole page, named (a click that ends typing in an utterance is scoped to that utterance)


# ---------------------------------------------------------------- messages and player

transcript_view.show_messages(flash)


@st.fragment(key=transcript_view.PLAYER)
def player() -> None:
    """The sidebar's player (a fragment: ▶ on an utterance reruns only this)."""
    st.markdown("**再生**")
    play = st.session_state.get("play")
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


with st.sidebar:
    player()


# ---------------------------------------------------------------- speakers of the whole meeting

editing = line_tools.Editing(
    services,
    meeting_id,
    speakers,
    locked,
    flash,
    conflicts,
    services.speakers.chair(meeting_id) if may_edit else None,
    may_edit=may_edit,
    agenda=agenda,
    cache=st.session_state.setdefault("editor_lines", {}),
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


def on_replace(preview) -> None:
    try:
        count = services.transcript.apply_replace(meeting_id, preview)
        st.session_state.preview = None
        flash.append(("saved", f"{count} 箇所を置換しました"))
    except MinutesError as error:
        flash.append(("error", error.message))
    st.rerun(["replace", line_tools.LINES])  # the replaced text shows in the list


def on_clear_preview() -> None:
    st.session_state.preview = None
    st.rerun("replace")


@st.fragment(key="replace")
def find_and_replace() -> None:
    """検索・置換 (a fragment: a preview reruns only this; applying it reruns the list too)."""
    transcript_view.show_messages(flash)
    with st.form("replace"):
        a, b = st.columns(2)
        find = a.text_input("検索する語", key="find")
        replacement = b.text_input("置き換える語", key="replacement")
        previewed = st.form_submit_button("プレビュー", on_click=lambda: st.rerun("replace"))
    if previewed:
        try:
            st.session_state.preview = services.transcript.preview_replace(meeting_id, find, replacement)
        except MinutesError as error:
            state.show_error(error)
    preview = st.session_state.get("preview")
    if preview is None:
        return
    if not preview.matches:
        st.info(f"「{escape(preview.find)}」は見つかりませんでした。")
        return
    st.markdown(
        f"「{escape(preview.find)}」→「{escape(preview.replace)}」: "
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
    a.button(
        f"{preview.count} 箇所をすべて置換",
        type="primary",
        disabled=locked,
        key="apply_replace",
        on_click=on_replace,
        args=(preview,),
    )
    b.button("取り消す", key="clear_preview", on_click=on_clear_preview)


if may_edit:
    with st.expander("検索・置換", icon=":material/search:"):
        find_and_replace()


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
                    f"（{len(suggestion.utterance_ids)} 発言）  \n「{escape(suggestion.quote)}」"
                )
                button_col.button(
                    "適用", key=f"suggestion-{n}", on_click=on_suggestion, args=([suggestion],), width="stretch"
                )
            st.button(
                "候補をすべて適用", type="primary", key="apply_suggestions", on_click=on_suggestion, args=(suggestions,)
            )


# ---------------------------------------------------------------- the utterances

transcript_view.transcript(editing, focus_id)
