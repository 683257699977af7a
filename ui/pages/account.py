"""アカウント: the signed-in user's own account: change the password, see and end sessions on other computers."""

from __future__ import annotations

import streamlit as st

from minutes.errors import MinutesError
from minutes.services.accounts import MIN_PASSWORD
from ui import state

st.title("アカウント")
me = state.user()
if me is None:
    st.stop()
account = state.services().accounts

if me.must_change_password:
    st.warning(
        "管理者が設定した初期パスワード（または再設定されたパスワード）でログインしています。"
        "続けるには、ご自身だけが知る新しいパスワードに変更してください。",
        icon=":material/key:",
    )
st.markdown(f"利用者名: **{me.name}**　役割: **{me.role}**")

st.subheader("パスワードの変更")
if me.auth_provider != "local":
    st.info("このアカウントのパスワードは、所属の認証システムで管理されています。")
else:
    with st.form("change_password", clear_on_submit=True):
        current = st.text_input("今のパスワード", type="password", key="current_password")
        new = st.text_input(f"新しいパスワード（{MIN_PASSWORD} 文字以上）", type="password", key="new_password")
        again = st.text_input("新しいパスワード（確認）", type="password", key="new_password_again")
        if st.form_submit_button("パスワードを変更", type="primary"):
            if new != again:
                st.error("確認のパスワードが一致しません。", icon=":material/warning:")
            else:
                try:
                    account.change_password(current, new, keep_token=st.session_state.get("auth_token"))
                except MinutesError as error:
                    state.show_error(error)
                else:
                    st.session_state.password_changed = True
                    st.rerun()
if st.session_state.pop("password_changed", False):
    st.success("パスワードを変更しました。ほかの端末でのログインは終了しました。", icon=":material/check:")

st.subheader("ログイン中の端末")
sessions = account.sessions()
st.dataframe(
    [
        {
            "ログイン": state.format_moment(started),
            "最後の操作": state.format_moment(seen),
            "接続元": ip or "—",
        }
        for started, seen, ip in sessions
    ],
    hide_index=True,
)
if st.button("この端末以外をすべてログアウト", disabled=len(sessions) <= 1, key="end_others"):
    account.end_other_sessions(st.session_state.get("auth_token"))
    st.rerun()
