"""新しい会議: the meeting's name, kind, date and place, its recording, and the number of speakers; the job starts at
once in the background worker."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from minutes.errors import InputError, MinutesError
from minutes.services import Permission, who_can
from ui import state

AUDIO_TYPES = ["wav", "mp3", "m4a", "aac", "flac", "ogg", "opus", "wma", "mp4", "mov", "webm", "mkv"]

st.title("新しい会議")
if not state.can(Permission.CREATE_MEETING):  # the page is not in the menu then; this covers an old link
    st.info(f"新しい会議の登録（録音の登録）は{who_can(Permission.CREATE_MEETING)}が行います。", icon=":material/lock:")
    st.stop()
st.caption("録音を登録すると、すぐに文字起こしと話者の識別が始まります。処理中も他の画面を使えます。")

services = state.services()
limits = services.settings  # as an administrator set them on 管理
limit_mb = min(limits.max_upload_mb, st.get_option("server.maxUploadSize"))  # the browser upload is capped too

errors = st.container()  # filled when the form is sent: above it
with st.form("new_meeting", clear_on_submit=False):
    title = st.text_input("会議名 *", placeholder="令和７年第４回大磯町議会定例会（第２日）", max_chars=200)
    left, right = st.columns(2)
    kind = left.selectbox("種別", state.MEETING_KINDS)
    place = right.text_input("場所", placeholder="議場", max_chars=200)
    left, right = st.columns(2)
    held_text = state.date_field(left, "開催日", dt.date.today(), key="new_held_date")
    held_time = right.time_input("開始時刻", value=dt.time(10, 0), step=300)
    upload = st.file_uploader(
        "録音・録画ファイル *",
        type=AUDIO_TYPES,
        help=f"wav, mp3, m4a, flac, ogg, mp4, mov, webm など。最大 {limit_mb:,} MB、"
        f"{limits.max_duration_hours:g} 時間まで。",
    )
    mode = st.radio("話者の人数", ["自動で判定", "人数を指定", "範囲を指定"], horizontal=True)
    a, b, c = st.columns(3)
    count = a.number_input("人数", min_value=1, max_value=50, value=5, help="「人数を指定」のとき使います。")
    low = b.number_input("最小", min_value=1, max_value=50, value=2, help="「範囲を指定」のとき使います。")
    high = c.number_input("最大", min_value=1, max_value=50, value=10, help="「範囲を指定」のとき使います。")
    with st.expander("認識の詳細設定（省略可）"):
        use_dictionary = st.checkbox(
            "用語辞書と議会用語を使う",
            value=True,
            help="用語辞書の語、組み込みの議会用語、この会議の議事日程・出席者・資料名を優先して認識します。",
        )
        prompt = st.text_input(
            "初期プロンプト",
            placeholder="令和７年第４回定例会。一般質問。",
            help="会議の冒頭に出てきそうな語や表記の例。固有名詞の表記がそろいやすくなります。",
        )
        hotwords = st.text_input(
            "この会議だけで優先する語（空白区切り）",
            placeholder="大磯町 補正予算",
            help="用語辞書に加えて、この会議で優先する語。よく使う語は「用語辞書」ページに登録してください。",
        )
    submitted = st.form_submit_button("登録して文字起こしを開始", type="primary")

if submitted:
    meetings = services.meetings
    try:
        if not title.strip():
            raise InputError("会議名を入力してください。", "empty title")
        if upload is None:
            raise InputError("録音・録画ファイルを選んでください。", "no file")
        held_date = state.day("開催日", held_text)
        options = meetings.pipeline_options(
            num_speakers=int(count) if mode == "人数を指定" else None,
            min_speakers=int(low) if mode == "範囲を指定" else None,
            max_speakers=int(high) if mode == "範囲を指定" else None,
            initial_prompt=prompt.strip() or None,
            hotwords=hotwords.strip() or None,
            dictionary=use_dictionary,
        )
        with st.spinner("録音を保存しています…"):
            upload.seek(0)
            meeting_id, _job_id = meetings.create(
                upload,
                title=title,
                original_name=upload.name,
                kind=kind,
                held_at=dt.datetime.combine(held_date, held_time) if held_date else None,
                place=place,
                options=options,
            )
    except MinutesError as error:
        with errors:  # at the top of the form, where the clerk is looking (the page is scrolled to the button)
            state.show_error(error)
        st.toast(error.message, icon=":material/warning:")
        st.stop()
    state.choose_meeting(meeting_id)
    st.switch_page("ui/pages/meeting.py", query_params={"meeting": meeting_id})
