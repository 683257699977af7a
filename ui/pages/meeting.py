"""会議の情報・確定: live progress of the job (cancel, retry), the 会議録 header, finalize and reopen, the archive
versions with verification, the record."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import streamlit as st

import exports
from minutes.errors import EditConflict, MinutesError
from minutes.progress import STAGE_LABELS_JA
from minutes.services import Permission, who_can
from minutes.services.views import AgendaEntry, JobStatus, MeetingDetails, Person
from ui import state

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")

meeting_id, services, info = state.open_meeting()
# What the signed-in user may do here; the services check every action again.
may_run_jobs = state.can(Permission.CREATE_MEETING)
may_edit = state.can(Permission.EDIT)
may_finalize = state.can(Permission.FINALIZE)
may_export = state.can(Permission.EXPORT)


def _md(text: object) -> str:
    """User text as literal markdown (no emphasis, links or HTML)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


st.title(info.title)
facts = [info.kind or "種別未設定", state.format_date(info.held_at), info.place or "場所未設定"]
if info.recording is not None:
    facts.append(f"録音: {info.recording.original_name}（{state.format_seconds(info.recording.duration)}）")
st.caption("　".join(facts))


# ---------------------------------------------------------------- progress


def _eta_text(seconds: float | None) -> str:
    if seconds is None:
        return "残り時間を計算中…"
    if seconds < 60:
        return "まもなく完了"
    return f"残り約 {int(seconds // 60) + 1} 分"


@st.fragment(run_every=2)
def progress_panel(initial_status: str) -> None:
    job = services.details.job(meeting_id)
    if job is None:
        return
    if job.status != initial_status and not job.running:
        st.rerun(scope="app")  # finished: show the transcript links and the rest of the page
    if job.status == JobStatus.QUEUED:
        st.info("処理の順番を待っています。", icon=":material/hourglass_top:")
        st.progress(0.0, text="処理待ち")
    else:
        stage = STAGE_LABELS_JA.get(job.stage, job.stage)
        st.progress(
            min(job.progress, 100.0) / 100, text=f"{stage}　{job.progress:.0f}%　{_eta_text(job.eta_seconds())}"
        )
        if job.cancel_requested:
            st.caption("取り消しを受け付けました。処理の区切りで止まります。")
    if may_run_jobs and not job.cancel_requested and st.button("処理を取り消す", key="cancel_job"):
        try:
            services.meetings.cancel_job(job.id)
        except MinutesError as error:
            state.show_error(error)
        st.rerun(scope="app")


job = info.job
if job is None:
    st.warning("この会議には録音の処理がありません。")
elif job.running:
    st.subheader("処理の進み具合")
    progress_panel(job.status)
elif job.status == JobStatus.FAILED:
    st.error(f"文字起こしに失敗しました: {job.error_message}", icon=":material/warning:")
    if not may_run_jobs:
        st.caption(f"録音は保存されています。再試行は{who_can(Permission.CREATE_MEETING)}が行います。")
    else:
        st.caption("録音は保存されています。原因を取り除いてから再試行できます。")
    if may_run_jobs and st.button("再試行", type="primary", key="retry_job"):
        try:
            services.meetings.retry_job(job.id)
        except MinutesError as error:
            state.show_error(error)
        st.rerun()
elif job.status == JobStatus.CANCELLED:
    st.warning("処理は取り消されました。録音は保存されています。", icon=":material/stop_circle:")
    if not may_run_jobs:
        st.caption(f"再処理は{who_can(Permission.CREATE_MEETING)}が行います。")
    elif st.button("もう一度処理する", type="primary", key="retry_job"):
        try:
            services.meetings.retry_job(job.id)
        except MinutesError as error:
            state.show_error(error)
        st.rerun()
else:
    a, b, c = st.columns([2, 1, 1])
    a.success(f"文字起こし完了: {info.utterance_count} 発言", icon=":material/check_circle:")
    if b.button("発言を編集する" if may_edit else "発言を見る", type="primary", width="stretch", key="open_editor"):
        st.switch_page("ui/pages/editor.py", query_params={"meeting": meeting_id})
    if c.button("話者を確認する", width="stretch", key="open_speakers"):
        st.switch_page("ui/pages/speakers.py", query_params={"meeting": meeting_id})


# ---------------------------------------------------------------- finalize


def finalize_panel() -> None:
    """確定, or 確定の解除 with a reason (for those who may finalize)."""
    if info.finalized:
        with st.form("reopen"):
            reason = st.text_input("確定を解除する理由 *", placeholder="例: 議員からの発言訂正の申し出のため")
            if st.form_submit_button("確定を解除する"):
                try:
                    services.details.reopen(meeting_id, reason=reason, expected_version=info.edit_version)
                    st.toast("確定を解除しました。版が上がりました。")
                    st.rerun()
                except MinutesError as error:
                    state.show_error(error)
    elif job is not None and job.status == JobStatus.SUCCEEDED:
        st.caption(f"現在 第{info.version}版。確定すると、解除するまで誰も編集できなくなります。")
        confirm = st.checkbox("内容を確認しました", key="confirm_finalize")
        if st.button("会議録を確定する", type="primary", disabled=not confirm, key="finalize"):
            try:
                services.details.finalize(meeting_id, expected_version=info.edit_version)
                st.toast("会議録を確定しました。")
                st.rerun()
            except MinutesError as error:
                state.show_error(error)
    else:
        st.caption("文字起こしが完了すると確定できます。")


missing: dict[str, list[str]] = {}  # who may → what this user may not (「確定と書き出しは書記・管理者が行います。」)
for name, permission, allowed in (
    ("確定", Permission.FINALIZE, may_finalize),
    ("書き出し", Permission.EXPORT, may_export),
):
    if not allowed:
        missing.setdefault(who_can(permission), []).append(name)
if may_finalize:
    st.subheader("確定")
if info.finalized:
    st.info(
        f"この会議録は確定済みです（第{info.version}版、{info.finalized_by} さん、"
        f"{state.format_moment(info.finalized_at)}）。編集はできません。",
        icon=":material/lock:",
    )
if missing:
    st.caption("、".join(f"{'と'.join(names)}は{who}" for who, names in missing.items()) + "が行います。")
if may_finalize:
    finalize_panel()

if state.can(Permission.MANAGE_ACCESS):
    closed, members = services.details.members(meeting_id)
    with st.expander("非公開（秘密会）" + ("：非公開" if closed else ""), expanded=closed):
        st.caption(
            "非公開にすると、選んだ利用者だけが一覧・検索・書き出し・アーカイブでこの会議を見られます"
            "（管理者も、選ばれていなければ見られません）。"
        )
        names = services.accounts.names()
        with st.form("access"):
            want_closed = st.checkbox("この会議を非公開にする", value=closed, key="access_closed")
            chosen_members = st.multiselect(
                "閲覧できる利用者", list(names), default=sorted(members & set(names)), format_func=names.get
            )
            if st.form_submit_button("保存する"):
                try:
                    services.details.set_access(meeting_id, closed=want_closed, members=chosen_members)
                    st.rerun()
                except MinutesError as error:
                    state.show_error(error)

materials_count = len(services.materials.list(meeting_id))
left, right = st.columns([3, 1], vertical_alignment="center")
left.caption(f"資料 {materials_count} 件（確定すると、会議録とともにアーカイブに保存されます）")
if right.button("資料を開く", key="open_materials", width="stretch"):
    st.switch_page("ui/pages/materials.py", query_params={"meeting": meeting_id})


# ---------------------------------------------------------------- archive


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MB" if n >= 1 << 20 else f"{max(1, n // 1024):,} KB"


archives = services.archive
archived = archives.list(meeting_id)
if archived or info.finalized:
    st.subheader("アーカイブ（確定版の保存）")
    st.caption(
        "確定のたびに、会議録（Word・JSON・テキスト）と資料を読み取り専用で保存し、全ファイルの SHA-256 を目録に"
        "記録します。確定を解除して再び確定すると、新しい版として別に保存されます。"
    )
    if may_finalize and info.finalized and not any(a.version == info.version for a in archived):
        st.warning(f"第{info.version}版のアーカイブがありません（この機能の導入前に確定された会議録です）。")
        if st.button("アーカイブを作成する", key="archive_create"):
            try:
                archives.create(meeting_id)
                st.rerun()
            except MinutesError as error:
                state.show_error(error)
    for archive in reversed(archived):
        with st.container(border=True, key=f"archive-{archive.version}"):
            text_col, verify_col, zip_col = st.columns([5, 1.2, 1.6], vertical_alignment="center")
            text_col.markdown(
                f"**第{archive.version}版**　{state.format_moment(archive.created_at)}　"
                f"{_md(archive.created_by)} さん  \n"
                f"{archive.files} ファイル・{_size(archive.total_bytes)}　`{archive.path}`"
            )
            if verify_col.button("検証", key=f"verify-{archive.version}", width="stretch"):
                try:
                    st.session_state[f"verified-{meeting_id}-{archive.version}"] = archives.verify(archive.path)
                except MinutesError as error:
                    state.show_error(error)
            if may_export and zip_col.button("ZIP を作成", key=f"zip-{archive.version}", width="stretch"):
                st.session_state[f"archive_zip-{meeting_id}"] = (archive.version, archives.zip_bytes(archive.path))
            prepared_zip = st.session_state.get(f"archive_zip-{meeting_id}")
            if may_export and prepared_zip and prepared_zip[0] == archive.version:
                zip_col.download_button(
                    "ダウンロード",
                    data=prepared_zip[1],
                    file_name=f"会議録アーカイブ_{meeting_id}_第{archive.version}版.zip",
                    mime="application/zip",
                    key=f"zip-download-{archive.version}",
                    icon=":material/download:",
                )
            result = st.session_state.get(f"verified-{meeting_id}-{archive.version}")
            if result is not None:
                if result.ok:
                    st.success(f"検証OK: {result.files} ファイルすべてが作成時のままです。", icon=":material/verified:")
                else:
                    st.error(
                        f"検証NG: {len(result.problems)} 件の問題があります。\n\n"
                        + "\n".join(f"- {p.line}" for p in result.problems),
                        icon=":material/gpp_bad:",
                    )


# ---------------------------------------------------------------- export

if may_export:  # those who may not are told under 確定
    st.subheader("書き出し")
    if job is not None and job.status == JobStatus.SUCCEEDED:
        if not info.finalized:
            st.caption("確定前の書き出しには「案」と表示されます。")
        left, right = st.columns([3, 2], vertical_alignment="bottom")
        chosen = left.selectbox(
            "形式", list(exports.FORMATS), format_func=lambda key: exports.FORMATS[key].label, key="export_format"
        )
        if right.button("書き出しを作成", key="export_make", width="stretch"):
            try:
                st.session_state.export_result = (meeting_id, services.exports.export(meeting_id, chosen))
            except MinutesError as error:
                state.show_error(error)
        prepared = st.session_state.get("export_result")
        if prepared and prepared[0] == meeting_id:
            result = prepared[1]
            st.download_button(
                f"{result.filename} をダウンロード",
                data=result.data,
                file_name=result.filename,
                mime=result.mime_type,
                type="primary",
                key="export_download",
                icon=":material/download:",
            )
    else:
        st.caption("文字起こしが完了すると書き出せます。")


# ---------------------------------------------------------------- details


def _people_frame(people: tuple[Person, ...], with_seat: bool) -> pd.DataFrame:
    rows = [{"議席番号": p.seat, "氏名": p.name, "職名": p.role} for p in people]
    frame = pd.DataFrame(rows, columns=["議席番号", "氏名", "職名"])
    frame["議席番号"] = frame["議席番号"].astype("Int64")
    return frame if with_seat else frame.drop(columns=["議席番号"])


def _people_editor(
    column, people: tuple[Person, ...], key: str, caption: str, *, with_seat: bool, version: int, locked: bool
) -> pd.DataFrame:
    """One roster of the header as an editable table, keyed by the version so a saved change redraws it."""
    frame = column.data_editor(
        _people_frame(people, with_seat),
        num_rows="dynamic",
        key=f"{key}-{version}",
        disabled=locked,
        width="stretch",
    )
    column.caption(caption)
    return frame


def _people(frame: pd.DataFrame) -> tuple[Person, ...]:
    people = []
    for row in frame.to_dict("records"):
        name = str(row.get("氏名") or "").strip()
        if not name or name == "nan":
            continue
        seat = row.get("議席番号")
        role = row.get("職名")
        people.append(
            Person(
                name,
                int(seat) if seat is not None and not pd.isna(seat) else None,
                "" if role is None or pd.isna(role) else str(role).strip(),
            )
        )
    return tuple(people)


def _agenda_frame(agenda: tuple[AgendaEntry, ...]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [{"日程第": a.order, "議案番号": a.bill, "件名": a.title} for a in agenda],
        columns=["日程第", "議案番号", "件名"],
    )
    frame["日程第"] = frame["日程第"].astype("Int64")
    return frame


def _agenda(frame: pd.DataFrame) -> tuple[AgendaEntry, ...]:
    items = []
    for row in frame.to_dict("records"):
        title = str(row.get("件名") or "").strip()
        if not title or title == "nan":
            continue
        order, bill = row.get("日程第"), row.get("議案番号")
        items.append(
            AgendaEntry(
                title,
                int(order) if order is not None and not pd.isna(order) else None,
                "" if bill is None or pd.isna(bill) else str(bill).strip(),
            )
        )
    return tuple(items)


def details_text() -> None:
    """The header as text and tables, for those who may not edit it."""
    numbers = "".join(f"第{n}{unit}" for n, unit in ((details.session, "回"), (details.issue, "号")) if n)
    facts = [
        ("議会名", details.assembly),
        ("回・号", numbers),
        ("招集年月日", state.format_date(details.convened) if details.convened else ""),
        ("開会（開議）", f"{details.opened:%H:%M}" if details.opened else ""),
        ("閉会（散会）", f"{details.closed:%H:%M}" if details.closed else ""),
        ("場所", info.place),
    ]
    shown = [f"**{label}**　{_md(value)}" for label, value in facts if value]
    rosters = [
        ("出席議員", details.attendees, True),
        ("欠席議員", details.absentees, True),
        ("説明のため出席した者", details.explainers, False),
        ("職務のため出席した者", details.staff, False),
    ]
    if not shown and not details.agenda and not any(people for _, people, _ in rosters):
        st.caption("見出しはまだ入力されていません。")
        return
    if shown:
        st.markdown("  \n".join(shown))
    for label, people, with_seat in rosters:
        if people:
            st.markdown(f"**{label}**")
            st.dataframe(_people_frame(people, with_seat), hide_index=True, width="stretch")
    if details.agenda:
        st.markdown("**議事日程**")
        st.dataframe(_agenda_frame(details.agenda), hide_index=True, width="stretch")


st.subheader("会議録の見出し")
details = info.details
if not may_edit:
    details_text()
else:
    locked = info.finalized
    with st.form(f"details-{info.edit_version}"):
        a, b = st.columns([3, 1])
        title = a.text_input("会議名 *", value=info.title, max_chars=200, disabled=locked)
        kinds = list(state.MEETING_KINDS)
        if info.kind and info.kind not in kinds:
            kinds.append(info.kind)
        kind = b.selectbox("種別", kinds, index=kinds.index(info.kind) if info.kind in kinds else 0, disabled=locked)
        a, b, c = st.columns([2, 1, 1])
        assembly = a.text_input("議会名", value=details.assembly, placeholder="大磯町議会", disabled=locked)
        session_number = b.number_input("第N回", min_value=1, max_value=99, value=details.session, disabled=locked)
        issue = c.number_input("第N号", min_value=1, max_value=99, value=details.issue, disabled=locked)
        a, b, c, d = st.columns(4)
        convened = a.date_input("招集年月日", value=details.convened, format="YYYY/MM/DD", disabled=locked)
        held_date = b.date_input(
            "開催日", value=info.held_at.date() if info.held_at else None, format="YYYY/MM/DD", disabled=locked
        )
        opened = c.time_input("開会（開議）時刻", value=details.opened, step=60, disabled=locked)
        closed = d.time_input("閉会（散会）時刻", value=details.closed, step=60, disabled=locked)
        place = st.text_input("場所", value=info.place, placeholder="大磯町議会議場", disabled=locked)
        st.markdown("**出席者・欠席者**（行を追加して入力します）")
        a, b = st.columns(2)
        attendees = _people_editor(
            a, details.attendees, "attendees", "出席議員", with_seat=True, version=info.edit_version, locked=locked
        )
        absentees = _people_editor(
            b, details.absentees, "absentees", "欠席議員", with_seat=True, version=info.edit_version, locked=locked
        )
        a, b = st.columns(2)
        explainers = _people_editor(
            a,
            details.explainers,
            "explainers",
            "説明のため出席した者",
            with_seat=False,
            version=info.edit_version,
            locked=locked,
        )
        staff = _people_editor(
            b, details.staff, "staff", "職務のため出席した者", with_seat=False, version=info.edit_version, locked=locked
        )
        st.markdown("**議事日程**")
        agenda = st.data_editor(
            _agenda_frame(details.agenda),
            num_rows="dynamic",
            key=f"agenda-{info.edit_version}",
            disabled=locked,
            width="stretch",
        )
        saved = st.form_submit_button("見出しを保存", type="primary", disabled=locked)

    if saved:
        start = info.held_at.time() if info.held_at else dt.time(10, 0)
        try:
            services.details.update_meeting(
                meeting_id,
                expected_version=info.edit_version,
                title=title,
                kind=kind,
                held_at=dt.datetime.combine(held_date, start) if held_date else None,
                place=place,
                details=MeetingDetails(
                    assembly=assembly.strip(),
                    session=int(session_number) if session_number else None,
                    issue=int(issue) if issue else None,
                    convened=convened,
                    opened=opened,
                    closed=closed,
                    attendees=_people(attendees),
                    absentees=_people(absentees),
                    explainers=_people(explainers),
                    staff=_people(staff),
                    agenda=_agenda(agenda),
                ),
            )
            st.toast("会議録の見出しを保存しました。")
            st.rerun()
        except EditConflict as error:
            state.show_error(error)
            if st.button("最新の内容を表示"):
                st.rerun()
        except MinutesError as error:
            state.show_error(error)


# ---------------------------------------------------------------- record


with st.expander("操作の記録"):
    events = services.details.events(meeting_id)
    if not events:
        st.caption("まだ記録はありません。")
    for event in reversed(events):
        extra = ""
        if event.action == "reopen":
            extra = f"（理由: {event.detail.get('reason', '')}、第{event.detail.get('version')}版へ）"
        elif event.action == "replace":
            extra = (
                f"（「{event.detail.get('find')}」→「{event.detail.get('replace')}」{event.detail.get('count')} 件）"
            )
        elif event.action == "speaker_merge":
            extra = f"（{event.detail.get('source_name')} を {event.detail.get('target')} に統合）"
        elif event.action in ("material_add", "material_delete"):
            extra = f"（{event.detail.get('name')}）"
        elif event.action == "agenda":
            order = event.detail.get("order")
            target = f"日程第{order}" if order is not None else "割り当て解除"
            extra = f"（{target}、{event.detail.get('utterances')} 発言）"
        st.markdown(f"- {state.format_moment(event.at)}　{_md(event.actor)}　**{event.action_label}**{_md(extra)}")
