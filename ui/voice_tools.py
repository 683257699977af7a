"""声の登録 on the 名簿 page: who has a voice profile and where it came from, enrolling a voice from a recording (a
span where only that person speaks), deleting a profile (administrators). A profile holds voice features, never
audio."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from minutes.errors import MinutesError
from minutes.services import Permission, Services, who_can
from minutes.services.people import PersonView
from ui import state

EXPLANATION = (
    "名簿の人の声の特徴（話者認識モデルが計算した 192 個の数値。音声そのものではありません）を保存し、"
    "新しい会議の話者を名簿の人と照合して、自動で名前を付けます。会議録を確定すると、名簿の人に結び付いた話者の声が"
    "加わります（1 人につき新しい会議 10 件まで）。声の特徴は個人情報です: 見られるのは書記・管理者、"
    f"削除できるのは{who_can(Permission.DELETE_VOICES)}で、登録と削除は監査ログに残ります。"
)


def voice_section(services: Services, people: list[PersonView]) -> None:
    st.subheader("声の登録")
    st.caption(EXPLANATION)
    try:
        profiles = services.voices.profiles()
    except MinutesError as error:
        state.show_error(error)
        return
    if profiles:
        rows = [
            {
                "氏名": p.name,
                "件数": len(p.samples),
                "合計（秒）": round(p.seconds),
                "出どころ": "、".join(f"{s.source}: {s.detail}" for s in p.samples),
            }
            for p in profiles
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    else:
        st.caption("声を登録した人はまだいません。")
    _enroll_form(services, [p for p in people if not p.retired])
    if state.can(Permission.DELETE_VOICES) and profiles:
        _delete_form(services, {p.person_id: p.name for p in profiles})


def _enroll_form(services: Services, people: list[PersonView]) -> None:
    if not people:
        return
    with st.form("voice_enroll", clear_on_submit=True):
        st.markdown("**録音から声を登録する**")
        st.caption("その人だけが話している部分を指定します（3 秒以上。長いほど確実です）。録音は保存しません。")
        person = st.selectbox(
            "名簿の人", [p.id for p in people], format_func={p.id: p.display for p in people}.get, key="voice_person"
        )
        upload = st.file_uploader("録音ファイル", key="voice_file")
        a, b = st.columns(2)
        start = a.number_input("開始（秒）", min_value=0.0, value=0.0, step=1.0, key="voice_start")
        end = b.number_input("終了（秒、0 は最後まで）", min_value=0.0, value=0.0, step=1.0, key="voice_end")
        submitted = st.form_submit_button("声を登録", icon=":material/record_voice_over:")
    if not submitted:
        return
    if upload is None:
        st.error("録音ファイルを選んでください。", icon=":material/error:")
        return
    try:
        with st.spinner("声の特徴を計算しています…"):
            profile = services.voices.enroll_upload(
                person, upload.getvalue(), upload.name, start=start or None, end=end or None
            )
    except MinutesError as error:
        state.show_error(error)
        return
    st.session_state.setdefault("people_flash", []).append(
        f"{profile.name} さんの声を登録しました（登録 {len(profile.samples)} 件、計 {profile.seconds:.0f} 秒）"
    )
    st.rerun()


def _delete_form(services: Services, names: dict[int, str]) -> None:
    with st.form("voice_delete"):
        st.markdown("**声の登録を削除する**")
        person = st.selectbox("削除する人", list(names), format_func=names.get, key="voice_delete_person")
        sure = st.checkbox("この人の声の登録をすべて削除します（元に戻せません）", key="voice_delete_sure")
        submitted = st.form_submit_button("削除", icon=":material/delete:")
    if not submitted:
        return
    if not sure:
        st.error("削除する場合は、確認の欄にチェックを入れてください。", icon=":material/error:")
        return
    try:
        removed = services.voices.delete(person)
    except MinutesError as error:
        state.show_error(error)
        return
    st.session_state.setdefault("people_flash", []).append(f"{names[person]} さんの声の登録 {removed} 件を削除しました")
    st.rerun()
