"""The 会議録の見出し section of the meeting page (``ui/pages/meeting.py``): the header form for those who may edit it,
the header as text and tables for the others. Kept apart from the page, which would otherwise outgrow a module.

The rosters are text areas that take pasted lines, one person a line (``rosters.parse_people``); the time marks of the
body (休憩・再開 …) and the agenda are tables. Errors are shown at the top of the form, where the clerk sees them
without scrolling.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import streamlit as st

from minutes.errors import EditConflict, InputError, MinutesError
from minutes.services import Services
from minutes.services.rosters import parse_people, people_lines
from minutes.services.views import TIME_MARK_KINDS, AgendaEntry, MeetingDetails, MeetingInfo, Person, TimeMarkEntry
from ui import state

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")
ROSTERS = (  # (key, label, members: seat numbers rather than 職名, placeholder)
    ("attendees", "出席議員", True, "１番　山田太郎\n２番　佐藤花子"),
    ("absentees", "欠席議員", True, "７番　鈴木一郎"),
    ("explainers", "説明のため出席した者", False, "町長　池田康弘\n総務課長　佐藤一郎"),
    ("staff", "職務のため出席した者", False, "議会事務局長　大野秀樹\n書記　清水香織"),
)
ROSTER_HELP = (
    "1 行に 1 人。「１番　山田太郎」（議席番号と氏名）、「山田太郎」、「総務課長　佐藤一郎」（職名と氏名）の形で、"
    "Excel などから貼り付けることもできます。敬称（君・議員）は付けずに入力します（付けても外します）。"
)
MARK_COLUMNS = ("種類", "時刻", "直前の発言番号")


def _md(text: object) -> str:
    """User text as literal markdown (no emphasis, links or HTML)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def people_frame(people: tuple[Person, ...], with_seat: bool) -> pd.DataFrame:
    rows = [{"議席番号": p.seat, "氏名": p.name, "職名": p.role} for p in people]
    frame = pd.DataFrame(rows, columns=["議席番号", "氏名", "職名"])
    frame["議席番号"] = frame["議席番号"].astype("Int64")
    return frame if with_seat else frame.drop(columns=["議席番号"])


def agenda_frame(agenda: tuple[AgendaEntry, ...]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [{"日程第": a.order, "議案番号": a.bill, "件名": a.title} for a in agenda],
        columns=["日程第", "議案番号", "件名"],
    )
    frame["日程第"] = frame["日程第"].astype("Int64")
    return frame


def _cell(value) -> object | None:
    return None if value is None or (not isinstance(value, dt.time) and pd.isna(value)) else value


def _agenda(frame: pd.DataFrame) -> tuple[AgendaEntry, ...]:
    items = []
    for row in frame.to_dict("records"):
        title = str(_cell(row.get("件名")) or "").strip()
        if not title:
            continue
        order, bill = _cell(row.get("日程第")), _cell(row.get("議案番号"))
        items.append(AgendaEntry(title, int(order) if order is not None else None, str(bill or "").strip()))
    return tuple(items)


def marks_frame(marks: tuple[TimeMarkEntry, ...]) -> pd.DataFrame:
    """The time marks as the table shows them: the utterance numbered from 1, as on the 発言 page."""
    rows = [(m.kind, m.time, None if m.after_seq is None else m.after_seq + 1) for m in marks]
    frame = pd.DataFrame(rows, columns=list(MARK_COLUMNS))
    frame["直前の発言番号"] = frame["直前の発言番号"].astype("Int64")
    return frame


def _time(value) -> dt.time | None:
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.time().replace(second=0, microsecond=0)
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0)
    try:
        return dt.time.fromisoformat(str(value).strip()) if str(value).strip() else None
    except ValueError:
        return None


def marks_of(frame: pd.DataFrame) -> tuple[TimeMarkEntry, ...]:
    """The time marks of the table; a row with a kind but no readable time is refused, empty rows are skipped."""
    marks = []
    for number, row in enumerate(frame.to_dict("records"), start=1):
        kind, time, after = (_cell(row.get(column)) for column in MARK_COLUMNS)
        if kind is None and time is None and after is None:
            continue
        if kind not in TIME_MARK_KINDS or _time(time) is None:
            raise InputError(
                f"時刻の記録の {number} 行目: 種類（{'・'.join(TIME_MARK_KINDS)}）と時刻（例 11:05）を入れてください。",
                f"time mark row {number}: {kind!r} {time!r}",
            )
        marks.append(TimeMarkEntry(str(kind), _time(time), None if after is None else int(after) - 1))
    return tuple(marks)


def details_text(info: MeetingInfo) -> None:
    """The header as text and tables, for those who may not edit it."""
    details = info.details
    numbers = "".join(f"第{n}{unit}" for n, unit in ((details.session, "回"), (details.issue, "号")) if n)
    opened = details.opening_time(info.held_at)
    facts = [
        ("議会名", details.assembly),
        ("回・号", numbers),
        ("招集年月日", state.format_date(details.convened) if details.convened else ""),
        ("開会（開議）", f"{opened:%H:%M}" if opened else ""),
        ("閉会（散会）", f"{details.closed:%H:%M}" if details.closed else ""),
        ("場所", info.place),
        ("議長", details.chair),
        ("会議録署名議員", "、".join(details.signers)),
        ("時刻の記録", "、".join(f"{m.time:%H:%M} {m.kind}" for m in details.time_marks)),
    ]
    shown = [f"**{label}**　{_md(value)}" for label, value in facts if value]
    rosters = [(label, getattr(details, key), members) for key, label, members, _ in ROSTERS]
    if not shown and not details.agenda and not any(people for _, people, _ in rosters):
        st.caption("見出しはまだ入力されていません。")
        return
    if shown:
        st.markdown("  \n".join(shown))
    for label, people, with_seat in rosters:
        if people:
            st.markdown(f"**{label}**")
            st.dataframe(people_frame(people, with_seat), hide_index=True, width="stretch")
    if details.agenda:
        st.markdown("**議事日程**")
        st.dataframe(agenda_frame(details.agenda), hide_index=True, width="stretch")


def roster_key(key: str, info: MeetingInfo) -> str:
    """The key of a roster's text area: per meeting and header version, so that another meeting or a newer header
    never shows lines typed for this one."""
    return f"{key}-{info.id}-{info.edit_version}"


def _people_and_marks(info: MeetingInfo, values: dict) -> None:
    """The rosters (pasted lines), the signers and the time marks of the header form, into ``values``."""
    details, locked, version = info.details, info.finalized, info.edit_version
    st.markdown("**出席者・欠席者**")
    for row in (ROSTERS[:2], ROSTERS[2:]):
        for column, (key, label, _, placeholder) in zip(st.columns(2), row, strict=True):
            people = getattr(details, key)
            # the stored lines, unless 「名簿から入れる」 put the roster's there for the clerk to check and save
            st.session_state.setdefault(roster_key(key, info), people_lines(people))
            values[key] = column.text_area(
                f"{label}（{len(people)} 名）" if people else label,
                placeholder=placeholder,
                height=160,
                key=roster_key(key, info),
                disabled=locked,
                help=ROSTER_HELP,
            )
    st.markdown("**署名**（地方自治法第123条第2項。未入力の欄は署名用の空欄として印刷されます）")
    a, b, c = st.columns(3)
    values["chair"] = a.text_input("議長", value=details.chair, placeholder="山田太郎", disabled=locked)
    signers = [*details.signers, "", ""]
    values["signers"] = [
        column.text_input(f"会議録署名議員 {n}", value=signers[n - 1], disabled=locked, key=f"signer{n}-{version}")
        for n, column in ((1, b), (2, c))
    ] + list(details.signers[2:])
    st.markdown("**時刻の記録**（休憩・再開など。本文の、指定した番号の発言の後に印刷されます）")
    values["marks"] = st.data_editor(
        marks_frame(details.time_marks),
        num_rows="dynamic",
        key=f"marks-{version}",
        disabled=locked,
        width="stretch",
        column_config={
            "種類": st.column_config.SelectboxColumn(options=list(TIME_MARK_KINDS), required=True),
            "時刻": st.column_config.TimeColumn(format="HH:mm", step=60, required=True),
            "直前の発言番号": st.column_config.NumberColumn(
                min_value=1, step=1, help="「発言」ページの番号。空欄は最初の発言の前。"
            ),
        },
    )
    st.caption(
        "開議・散会を記録すると、開会・閉会時刻から作る行の代わりになります。"
        "休憩・再開は「発言」ページからも記録できます。"
    )


def _form(info: MeetingInfo) -> dict | None:
    """The header form; the values entered when it was submitted, else None."""
    details, locked, version = info.details, info.finalized, info.edit_version
    values: dict = {}
    with st.form(f"details-{version}"):
        a, b = st.columns([3, 1])
        values["title"] = a.text_input("会議名 *", value=info.title, max_chars=200, disabled=locked)
        kinds = list(state.MEETING_KINDS)
        if info.kind and info.kind not in kinds:
            kinds.append(info.kind)
        index = kinds.index(info.kind) if info.kind in kinds else 0
        values["kind"] = b.selectbox("種別", kinds, index=index, disabled=locked)
        a, b, c = st.columns([2, 1, 1])
        values["assembly"] = a.text_input("議会名", value=details.assembly, placeholder="大磯町議会", disabled=locked)
        values["session"] = b.number_input("第N回", min_value=1, max_value=99, value=details.session, disabled=locked)
        values["issue"] = c.number_input("第N号", min_value=1, max_value=99, value=details.issue, disabled=locked)
        a, b, c, d = st.columns(4)
        values["convened"] = state.date_field(a, "招集年月日", details.convened, key="header_convened", disabled=locked)
        held = info.held_at.date() if info.held_at else None
        values["held_date"] = state.date_field(b, "開催日", held, key="header_held", disabled=locked)
        values["opened"] = c.time_input(
            "開会（開議）時刻",
            value=details.opening_time(info.held_at),
            step=60,
            disabled=locked,
            help="未入力のときは開催日時の時刻です。本文の最初に「午前１０時００分開議」のように印刷されます。",
        )
        values["closed"] = d.time_input(
            "閉会（散会）時刻",
            value=details.closed,
            step=60,
            disabled=locked,
            help="本文の最後に「午後０時０３分散会」のように印刷されます。",
        )
        values["place"] = st.text_input("場所", value=info.place, placeholder="大磯町議会議場", disabled=locked)
        st.markdown("**議事日程**（行を追加して入力します）")
        values["agenda"] = st.data_editor(
            agenda_frame(details.agenda), num_rows="dynamic", key=f"agenda-{version}", disabled=locked, width="stretch"
        )
        _people_and_marks(info, values)
        submitted = st.form_submit_button("見出しを保存", type="primary", disabled=locked)
    return values if submitted else None


def _save(services: Services, meeting_id: int, info: MeetingInfo, values: dict) -> None:
    start = info.held_at.time() if info.held_at else dt.time(10, 0)
    held_date = state.day("開催日", values["held_date"])
    services.details.update_meeting(
        meeting_id,
        expected_version=info.edit_version,
        title=values["title"],
        kind=values["kind"],
        held_at=dt.datetime.combine(held_date, start) if held_date else None,
        place=values["place"],
        details=MeetingDetails(
            assembly=values["assembly"].strip(),
            session=int(values["session"]) if values["session"] else None,
            issue=int(values["issue"]) if values["issue"] else None,
            convened=state.day("招集年月日", values["convened"]),
            opened=values["opened"],
            closed=values["closed"],
            agenda=_agenda(values["agenda"]),
            chair=values["chair"].strip(),
            signers=tuple(name.strip() for name in values["signers"] if name.strip()),
            time_marks=marks_of(values["marks"]),
            **{key: parse_people(values[key], members=members) for key, _, members, _ in ROSTERS},
        ),
    )


def fill_from_roster(services: Services, meeting_id: int, info: MeetingInfo) -> None:
    """「名簿から入れる」: the roster's members, 説明員 and 職員 on the meeting's date into the form's lists
    (出席議員, 説明のため出席した者, 職務のため出席した者), for the clerk to check (move the absent to 欠席議員) and
    save: nothing is saved here."""
    left, right = st.columns([1, 3], vertical_alignment="center")
    clicked = left.button("名簿から入れる", key="header_from_roster", disabled=info.finalized, icon=":material/groups:")
    right.caption("名簿の議員・説明員・職員を、開催日の職名で下の出席者の欄に入れます。確かめてから保存してください。")
    if not clicked:
        return
    try:
        roster = services.people.header_roster(meeting_id)
    except MinutesError as error:
        state.show_error(error)
        return
    lists = {"attendees": roster.attendees, "explainers": roster.explainers, "staff": roster.staff}
    if not any(lists.values()):
        st.info("名簿に在任の人がいません。「名簿」ページで登録してください。", icon=":material/info:")
        return
    for key, people in lists.items():
        if people:
            st.session_state[roster_key(key, info)] = people_lines(people)
    counts = f"出席議員 {len(roster.attendees)} 名、説明員 {len(roster.explainers)} 名、職員 {len(roster.staff)} 名"
    st.info(
        f"名簿（{roster.day:%Y/%m/%d} 時点）から{counts}を入れました。"
        "欠席の人を欠席議員に移すなど確かめてから「見出しを保存」を押してください。",
        icon=":material/groups:",
    )


def show(services: Services, meeting_id: int, info: MeetingInfo, *, may_edit: bool) -> None:
    """The section: the form (errors above it) for those who may edit, the header as text for the others."""
    st.subheader("会議録の見出し")
    if not may_edit:
        details_text(info)
        return
    fill_from_roster(services, meeting_id, info)
    errors = st.container()  # filled after the form is read: above it, where the clerk is looking
    values = _form(info)
    if values is None:
        return
    try:
        _save(services, meeting_id, info, values)
        st.toast("会議録の見出しを保存しました。")
        st.rerun()
    except MinutesError as error:
        # The box stays above the form; the toast is seen at once by a clerk scrolled down to the save button.
        st.toast(f"見出しを保存できませんでした。{error.message}", icon=":material/warning:", duration="long")
        with errors:
            state.show_error(error)
            if isinstance(error, EditConflict) and st.button("最新の内容を表示"):
                st.rerun()
