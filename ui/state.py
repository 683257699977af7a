"""What every page shares: the cached services and worker, the editor's name, the chosen meeting, formatting."""

from __future__ import annotations

import datetime as dt
import getpass
import os
from zoneinfo import ZoneInfo

import streamlit as st

from minutes.editing import EditingService, MeetingSummary
from minutes.errors import MinutesError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")

LOCAL = ZoneInfo("Asia/Tokyo")
MEETING_KINDS = ("定例会", "臨時会", "委員会", "全員協議会", "庁内会議", "その他")


@st.cache_resource(show_spinner=False)
def service():
    """The one MinutesService of this process (thread-safe: each call opens its own database session)."""
    from minutes.service import MinutesService

    return MinutesService()


@st.cache_resource(show_spinner=False)
def worker():
    """The in-process job worker: one daemon thread per process, started on first use."""
    from minutes.jobs import start_background_worker

    return start_background_worker(service())


@st.cache_resource(show_spinner=False)
def editing() -> EditingService:
    return EditingService.of(service())


def setup() -> None:
    """Start the worker and draw the shared sidebar (editor name). Call once at the top of the router."""
    worker()
    if "editor_name" not in st.session_state:
        st.session_state.editor_name = _default_editor()
    st.sidebar.text_input(
        "編集者",
        key="editor_name",
        help="修正・確定の記録に残る名前です（ログイン機能が入るまでの仮の入力欄）。",
    )


def _default_editor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return ""


def editor_name() -> str:
    return str(st.session_state.get("editor_name", "")).strip()


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
    meetings: list[MeetingSummary] = editing().meetings()
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
    st.error(error.message, icon=":material/warning:")


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
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return f"{value.astimezone(LOCAL):%Y年%m月%d日 %H:%M}"
