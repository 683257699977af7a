"""利用者: accounts and roles (administrators only; the service refuses everyone else)."""

from __future__ import annotations

import streamlit as st

from minutes.errors import MinutesError
from minutes.services.permissions import LABELS as PERMISSION_LABELS
from minutes.services.permissions import PERMISSIONS, Permission, Role
from ui import state

st.title("利用者")
accounts = state.services().accounts
me = state.user()
try:
    users = accounts.users()
except MinutesError as error:
    state.show_error(error)
    st.stop()

st.dataframe(
    [
        {
            "ID": u.id,
            "利用者名": u.name,
            "役割": u.role.value,
            "状態": "無効" if not u.active else ("ロック中" if u.locked_until else "有効"),
            "パスワード": "初期（未変更）" if u.must_change_password else "本人が設定",
            "最終ログイン": state.format_moment(u.last_login_at),
            "認証": u.auth_provider,
        }
        for u in users
    ],
    hide_index=True,
    width="stretch",
)

with st.expander("役割と権限"):
    st.dataframe(
        [
            {"権限": PERMISSION_LABELS[p]} | {role.value: "○" if p in PERMISSIONS[role] else "" for role in Role}
            for p in Permission
        ],
        hide_index=True,
    )

st.subheader("利用者の追加")
with st.form("add_user", clear_on_submit=True):
    name = st.text_input("利用者名", key="new_user_name")
    grantable = [r.value for r in accounts.roles()]
    role = st.selectbox("役割", grantable, index=grantable.index(Role.CLERK.value), key="new_user_role")
    password = st.text_input(
        "初期パスワード（10 文字以上）",
        type="password",
        key="new_user_password",
        help="本人に伝えてください。最初のログインで本人が新しいパスワードに変更します。",
    )
    if st.form_submit_button("追加する", type="primary"):
        try:
            added = accounts.create_user(name, role, password)
            st.success(f"利用者「{added.name}」（{added.role}）を追加しました。")
        except MinutesError as error:
            state.show_error(error)

st.subheader("利用者の変更")
chosen = st.selectbox("利用者", [u.id for u in users], format_func={u.id: u.name for u in users}.get, key="edit_user")
target = next(u for u in users if u.id == chosen)
left, middle, right = st.columns(3, vertical_alignment="bottom")
roles = [r.value for r in accounts.roles()]
roles = roles if target.role in roles else [target.role.value, *roles]  # the service refuses what may not be given
new_role = left.selectbox("役割", roles, index=roles.index(target.role), key="edit_role")
if left.button("役割を変更", key="edit_role_save"):
    try:
        accounts.update_user(chosen, role=new_role)
        st.rerun()
    except MinutesError as error:
        state.show_error(error)
if middle.button("無効にする" if target.active else "有効にする", key="edit_active"):
    try:
        accounts.update_user(chosen, active=not target.active)
        st.rerun()
    except MinutesError as error:
        state.show_error(error)
if right.button("ロックを解除", key="edit_unlock", disabled=target.locked_until is None):
    accounts.update_user(chosen, unlock=True)
    st.rerun()

with st.form("reset_password", clear_on_submit=True):
    st.markdown(f"**{target.name}** さんのパスワードを再設定（忘れたとき）")
    reset = st.text_input(
        "新しい初期パスワード（10 文字以上）",
        type="password",
        key="reset_password",
        help="ロックも解除されます。本人のログイン中の端末はすべてログアウトし、次のログインで本人が変更します。",
    )
    if st.form_submit_button("パスワードを再設定"):
        try:
            accounts.update_user(chosen, password=reset, unlock=True)
            st.success(f"「{target.name}」さんのパスワードを再設定しました。本人に伝えてください。")
        except MinutesError as error:
            state.show_error(error)
