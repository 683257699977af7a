"""ライブ: a meeting transcribed as it happens. A 書記 opens it (開会) on an input of the server (a device, a
stream URL, or a file read at the pace of real time for rehearsals), then 休憩・再開・散会; the running transcript
with time marks is read from the database every two seconds (the worker's ``live`` job writes it), and the clerk
marks 日程第N and notes. An administrator issues the 字幕表示 links for the gallery's screen here."""

from __future__ import annotations

import streamlit as st

from minutes.errors import MinutesError
from minutes.services import Permission, who_can
from minutes.services.live import LiveView
from ui import state

st.title("ライブ（即時の文字起こし）")
services = state.services()


def _start_form() -> None:
    if not state.can(Permission.CREATE_MEETING):
        st.info(f"ライブの開会は{who_can(Permission.CREATE_MEETING)}が行います。", icon=":material/lock:")
        return
    st.subheader("開会")
    with st.form("live_start"):
        title = st.text_input("会議名 *", placeholder="令和７年第４回定例会（第２日）", max_chars=200)
        source = st.text_input(
            "入力 *",
            placeholder="alsa:default",
            help="サーバーの録音デバイス（alsa:default、alsa:hw:1、pulse:default）、ストリームの URL"
            "（rtsp:// http:// srt:// など）、またはサーバー上の録音ファイルのパス。",
        )
        realtime = st.checkbox("ファイルを実際の速さで読む（リハーサル）", value=True)
        if st.form_submit_button("開会", type="primary"):
            try:
                meeting_id = services.live.start(title=title, source=source, realtime=realtime)
            except MinutesError as error:
                state.show_error(error)
                return
            state.choose_meeting(meeting_id)
            st.rerun()


def _controls(live: LiveView) -> None:
    if not state.can(Permission.CREATE_MEETING) or live.adjourned:
        return
    columns = st.columns(4)
    actions = []
    if live.running:
        actions.append(("休憩", services.live.pause))
    if live.paused:
        actions.append(("再開", services.live.resume))
    if live.running or live.paused:
        actions.append(("散会", services.live.adjourn))
    if live.stopped and not live.adjourned:
        actions.append(("続行", services.live.resume_job))
    for column, (label, action) in zip(columns, actions, strict=False):
        if column.button(label, key=f"live_{label}", type="primary" if label == "散会" else "secondary"):
            try:
                action(live.meeting_id)
            except MinutesError as error:
                state.show_error(error)
                return
            st.rerun()


@st.fragment(run_every=2)
def _transcript(meeting_id: int) -> None:
    live = services.live.session(meeting_id)
    st.markdown(f"**{live.state_label}**　録音 {state.format_seconds(live.seconds)}　入力: `{live.source}`")
    if live.message:
        st.info(live.message)
    if live.stopped:
        st.error(
            f"ライブ処理が止まりました：{live.job.error_message or '取り消されました。'}"
            "　録音と確定した字幕は保存されています。「続行」で続きを録音するか、「散会」してください。"
        )
    if live.adjourned and live.batch_job_id:
        st.success(
            "散会しました。録音全体の文字起こし（話者の識別を含む）を処理しています。「発言の編集」で確認できます。"
        )
    marks = {round(m.at): m.label for m in services.live.marks(meeting_id)}
    lines = []
    for caption in services.live.captions(meeting_id):
        lines.append(f"`{state.format_seconds(caption.start)}`　{caption.text}")
    box = st.container(height=420)
    for line in lines[-200:]:
        box.markdown(line)
    if live.provisional:
        box.markdown(f":gray[*（認識中）{live.provisional}*]")
    if not lines and not live.provisional:
        box.caption("まだ確定した字幕はありません。")
    if marks:
        st.caption("印：" + "　".join(f"{state.format_seconds(at)} {label}" for at, label in sorted(marks.items())))
    if live.state != st.session_state.get("live_state_seen"):
        st.session_state.live_state_seen = live.state
        st.rerun(scope="app")  # the buttons follow a state changed elsewhere (another clerk, the input's end)


def _mark_form(live: LiveView) -> None:
    if not state.can(Permission.CREATE_MEETING) or live.adjourned:
        return
    with st.form("live_mark", clear_on_submit=True):
        st.markdown("**印を付ける**（今の録音時刻で記録します）")
        kind, number, text = st.columns([1, 1, 4])
        chosen = kind.radio("種類", ["日程", "メモ"], horizontal=True)
        order = number.number_input("日程第", min_value=1, max_value=999, value=1)
        note = text.text_input("件名・メモ", max_chars=500, placeholder="議案第５号 一般会計補正予算")
        if st.form_submit_button("印を記録"):
            try:
                services.live.add_mark(
                    live.meeting_id, kind="agenda" if chosen == "日程" else "note", number=int(order), text=note
                )
            except MinutesError as error:
                state.show_error(error)
                return
            st.rerun()  # the transcript above shows the new mark


def _display_links(live: LiveView) -> None:
    if not state.can(Permission.ISSUE_DISPLAY_LINK):
        return
    with st.expander("字幕表示リンク（傍聴席の画面用・管理者）"):
        st.caption("ログインなしで、この会議の字幕だけを大きく表示するリンクです。非公開・秘密会には発行できません。")
        if st.button("リンクを発行", key="issue_link"):
            try:
                st.session_state.issued_token = services.live.issue_display_link(live.meeting_id)
            except MinutesError as error:
                state.show_error(error)
        token = st.session_state.get("issued_token")
        if token:
            base = (st.context.url or "").split("?")[0].rsplit("/", 1)[0]  # the server as this browser reached it
            st.code(f"{base}/?display={token}", language=None)
            st.caption("このリンクは今だけ表示されます。控えてください。")
        for link in services.live.display_links(live.meeting_id):
            row = st.columns([3, 1])
            if link.revoked_at is None:
                row[0].write(f"リンク {link.id}：{state.format_moment(link.created_at)} {link.created_by} さんが発行")
                if row[1].button("取り消す", key=f"revoke_{link.id}"):
                    services.live.revoke_display_link(link.id)
                    st.session_state.pop("issued_token", None)
                    st.rerun()
            else:
                row[0].write(
                    f"リンク {link.id}：{state.format_moment(link.revoked_at)} {link.revoked_by} さんが取り消し"
                )


meeting_id = state.current_meeting_id()
live = None
if meeting_id is not None:
    try:
        live = services.live.session(meeting_id)
    except MinutesError:
        live = None
if live is None:
    open_sessions = services.live.sessions()
    if open_sessions:
        st.subheader("進行中のライブ")
        for item in open_sessions:
            if st.button(f"{item.title}（{item.state_label}）", key=f"open_{item.meeting_id}"):
                state.choose_meeting(item.meeting_id)
                st.rerun()
    _start_form()
    st.stop()

st.subheader(live.title)
_controls(live)
_transcript(live.meeting_id)
_mark_form(live)
_display_links(live)
if st.button("新しいライブを開会する", key="live_new"):
    st.session_state.pop("meeting_id", None)
    st.query_params.pop("meeting", None)
    st.rerun()
