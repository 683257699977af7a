"""What every page shares: the process's runtime and worker, the services of the signed-in user, the chosen meeting,
formatting. Pages reach the services only through :func:`services`; the database engine never reaches a page."""

from __future__ import annotations

import datetime as dt
import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from minutes import clock, redact
from minutes.errors import InputError, MinutesError
from minutes.services import DEFAULT_ORG, Permission, Principal, Runtime, Services, audit
from minutes.services.accounts import SignInService
from minutes.services.database import database_failure
from minutes.services.queue import start_app_worker
from minutes.services.views import MeetingInfo, MeetingSummary

LOCAL = clock.LOCAL
EDITOR_TITLE, READER_TITLE = "発言の編集", "発言"  # the transcript page, for those who may edit it and the others
MEETING_KINDS = ("定例会", "臨時会", "委員会", "全員協議会", "庁内会議", "その他")


@st.cache_resource(show_spinner=False)
def runtime() -> Runtime:
    """The one Runtime of this process (thread-safe: each call opens its own database session).

    Made once, after the app's modules are loaded: their objects (about 150,000) live as long as the process, so
    they are moved out of the garbage collector's generations (``gc.freeze``), which keeps each collection short."""
    made = Runtime()
    if not gc.get_freeze_count():  # once a process (the tests make many runtimes)
        gc.collect()
        gc.freeze()
    return made


@st.cache_resource(show_spinner=False)
def worker():
    """The in-process job worker: one daemon thread per process, started on first use (with MINUTES_QUEUE_URL the
    thread only sends queued jobs to the queue); None when a separate ``minutes worker`` process runs the jobs
    (``MINUTES_APP_WORKER=0``, as ``./run.sh`` does)."""
    if not runtime().base_settings.app_worker:
        return None
    return start_app_worker(runtime())


@contextmanager
def database_guard() -> Iterator[None]:
    """Around the whole app: a damaged or unreadable database shows as a Japanese page that says what happened and
    what to do (an ``st.error`` at the top, the rest of the rerun stopped), not Streamlit's English error page with
    a traceback. Any other error is raised as it is."""
    try:
        yield
    except Exception as error:
        failure = database_failure(error)
        if failure is None:
            raise
        logging.getLogger(__name__).error("database unavailable: %s", failure.detail)
        st.error(failure.message, icon=":material/error:")
        st.info(
            "この画面が出たら、管理者に連絡してください。上の作業はサーバーで管理者が行います（詳しい原因はサーバーのログにあります）。"
        )
        st.stop()


def sign_in_service() -> SignInService:
    """Sign-in, before anyone is known (the lockout and session settings follow the 管理 page at once)."""
    return runtime().sign_in


def services() -> Services:
    """Every service, acting for the user signed in for this rerun, with the settings in force (a light object: a
    page makes it once at its top)."""
    current = user()
    if current is None:  # the router shows only the sign-in form then
        raise MinutesError("ログインしてください。", "no signed-in user")
    return runtime().services(current)


def client_ip() -> str | None:
    try:
        ip = st.context.ip_address
    except Exception:  # not served over a socket (AppTest)
        return None
    return ip if isinstance(ip, str) else None


COOKIE = "minutes_session"


def _browser_cookie() -> str | None:
    """The session cookie sent with this browser tab's page load (None in AppTest, or when there is none)."""
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # not served over a socket (AppTest)
        return None
    return value if isinstance(value, str) and value else None


def _write_cookie(token: str | None, org_id: int = DEFAULT_ORG) -> None:
    """Keep ``token`` in the browser (a reload or a new tab stays signed in until the session ends), or forget it.

    Streamlit cannot send Set-Cookie from a script, so a small same-page script writes it: SameSite=Strict, Secure
    over HTTPS, for the session's longest life. The server keeps only the token's hash; logging out, expiry and an
    administrator's changes revoke it there, whatever the browser still holds. ``org_id``: the user's organisation,
    whose settings give the session's longest life."""
    if token:
        max_age = int(sign_in_service().settings_for(org_id).session_max_hours * 3600)
        value = f"{COOKIE}={token}; Path=/; Max-Age={max_age}; SameSite=Strict"
    else:
        value = f"{COOKIE}=; Path=/; Max-Age=0; SameSite=Strict"
    st.html(
        f"<script>document.cookie = '{value}' + (location.protocol === 'https:' ? '; Secure' : '');</script>",
        unsafe_allow_javascript=True,
    )


def sign_in(token: str) -> None:
    """Start using ``token`` in this browser session (after a login) and keep it in the browser."""
    st.session_state.auth_token = token
    st.session_state.cookie_pending = token


def setup() -> Principal | None:
    """Start the worker, check the session token against the database (expiry, revocation) and draw the sidebar.
    Call once at the top of the router; returns the signed-in user or None.

    A new browser session (a reload, a new tab) takes the token from the browser's cookie, once."""
    worker()
    redact.install()
    audit.set_context(audit.APP, client_ip())
    if "auth_token" not in st.session_state and not st.session_state.get("cookie_checked"):
        st.session_state.cookie_checked = True
        cookie = _browser_cookie()
        if cookie:
            st.session_state.auth_token = cookie
    current = sign_in_service().validate(st.session_state.get("auth_token"))
    st.session_state.user = current
    if current is None:
        if st.session_state.pop("auth_token", None):
            st.session_state.auth_message = (
                "一定時間操作がなかったか、ログインの有効期限が切れました。もう一度ログインしてください。"
            )
            st.session_state.cookie_clear = True
        if st.session_state.pop("cookie_clear", False):
            _write_cookie(None)
        return None
    if st.session_state.get("cookie_pending") == st.session_state.auth_token:
        del st.session_state.cookie_pending
        _write_cookie(st.session_state.auth_token, current.org_id)
    org = services().organizations.own_name()  # shown only when the installation serves several (団体)
    st.sidebar.text(f"{org + '　' if org else ''}{current.name}（{current.role}）")  # plain text, never markup
    st.sidebar.button("ログアウト", key="logout", on_click=_logout)
    return current


def _logout() -> None:
    """ログアウト, in a callback that names the whole app as what to run again: a click that ends typing in the
    editor reaches the server scoped to the utterance being typed in, and would otherwise rerun only that."""
    sign_in_service().logout(st.session_state.pop("auth_token", None))
    st.session_state.user = None
    st.session_state.cookie_clear = True
    st.rerun()


def user() -> Principal | None:
    """The user signed in for this rerun (validated in ``setup``)."""
    return st.session_state.get("user")


def can(permission: Permission) -> bool:
    current = user()
    return current is not None and current.can(permission)


def login_page() -> None:
    """The sign-in form; on a database without users, the form that creates the first administrator."""
    st.title("会議録作成")
    message = st.session_state.pop("auth_message", None)
    if message:
        st.info(message)
    if not sign_in_service().has_users():
        st.subheader("管理者の作成")
        st.caption("最初の利用者として管理者を作成します。パスワードは 10 文字以上にしてください。")
        with st.form("first_admin"):
            name = st.text_input("利用者名", key="admin_name")
            password = st.text_input("パスワード", type="password", key="admin_password")
            again = st.text_input("パスワード（確認）", type="password", key="admin_password_again")
            if st.form_submit_button("管理者を作成してログイン", type="primary"):
                if password != again:
                    st.error("確認のパスワードが一致しません。")
                    return
                try:
                    created = sign_in_service().create_first_admin(name, password)
                    sign_in(sign_in_service().start_session(created, ip=client_ip()))
                except MinutesError as error:
                    show_error(error)
                    return
                st.rerun()
        return
    st.subheader("ログイン")
    with st.form("login"):
        name = st.text_input("利用者名", key="login_name")
        password = st.text_input("パスワード", type="password", key="login_password")
        if st.form_submit_button("ログイン", type="primary"):
            try:
                token, _user = sign_in_service().login(name, password, ip=client_ip())
            except MinutesError as error:
                show_error(error)
                return
            sign_in(token)
            st.rerun()


def current_meeting_id() -> int | None:
    """The meeting chosen on the list (kept in the URL, so a reload shows the same meeting)."""
    raw = st.query_params.get("meeting") or st.session_state.get("meeting_id")
    try:
        meeting_id = int(raw) if raw is not None else None
    except ValueError:
        meeting_id = None
    if meeting_id is not None:
        st.session_state.meeting_id = meeting_id
        st.query_params["meeting"] = str(meeting_id)
    return meeting_id


def choose_meeting(meeting_id: int) -> None:
    st.session_state.meeting_id = meeting_id
    st.query_params["meeting"] = str(meeting_id)


def meeting_picker() -> int | None:
    """A selector of the meeting in the sidebar of the per-meeting pages; returns its id."""
    meetings: list[MeetingSummary] = services().meetings.meetings()
    if not meetings:
        st.info("会議がまだありません。「新しい会議」から録音を登録してください。")
        return None
    ids = [m.id for m in meetings]
    current = current_meeting_id()
    if current not in ids:
        current = ids[0]
    labels = {m.id: f"{m.title}（{format_date(m.held_at)}・{m.status_label}）" for m in meetings}
    chosen = st.sidebar.selectbox("会議", ids, index=ids.index(current), format_func=labels.get)
    choose_meeting(chosen)
    return chosen


def show_error(error: MinutesError) -> None:
    # a message of several lines (a CSV's bad rows) keeps its lines: Markdown needs two spaces before a newline
    st.error(error.message.replace("\n", "  \n"), icon=":material/warning:")


def date_field(column, label: str, value: dt.date | None, *, key: str, disabled: bool = False) -> str:
    """A day typed as one string (「2024/09/10」「20240910」「令和6年9月10日」…) rather than a calendar widget whose
    parts are typed separately. Returns the text; :func:`day` reads it when the form is submitted."""
    return column.text_input(
        label,
        value=value.strftime("%Y/%m/%d") if value else "",
        placeholder="2024/09/10",
        key=key,
        disabled=disabled,
        help="2024/09/10、20240910、令和6年9月10日 のどれでも入力できます。",
    )


def day(label: str, text: str) -> dt.date | None:
    """The day typed in :func:`date_field` ``label``; None when empty. InputError (naming the field) otherwise."""
    if not text.strip():
        return None
    try:
        return clock.parse_day(text)
    except ValueError as error:
        raise InputError(f"{label}: {error}", f"bad date {text!r}") from None


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def parse_seconds(text: str) -> float | None:
    """「1:02:03」「62:03」「3723」 → seconds; None when it cannot be read."""
    parts = text.strip().replace("：", ":").split(":")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return None
    if not 1 <= len(numbers) <= 3:
        return None
    seconds = 0.0
    for n in numbers:
        seconds = seconds * 60 + n
    return seconds


def format_date(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return "日時未設定"
    if isinstance(value, dt.datetime):
        return f"{value:%Y年%m月%d日 %H:%M}"
    return f"{value:%Y年%m月%d日}"


def format_moment(value: dt.datetime | None) -> str:
    """A stored (UTC) moment in the assembly's local time."""
    if value is None:
        return "—"
    return clock.local(value, "%Y年%m月%d日 %H:%M")


def open_meeting() -> tuple[int, Services, MeetingInfo]:
    """The header every per-meeting page starts with: the meeting chosen in the sidebar, the signed-in user's
    services and the meeting as that user may see it. Stops the page (with the reason shown) when there is none."""
    meeting_id = meeting_picker()
    if meeting_id is None:
        st.stop()
    mine = services()
    try:
        return meeting_id, mine, mine.details.meeting(meeting_id)
    except MinutesError as error:
        show_error(error)
        st.stop()
        raise  # unreachable: st.stop() raises
