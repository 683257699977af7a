"""会議の情報・確定: live progress of the job (cancel, retry), the 会議録 header, finalize and reopen, the archive
versions with verification, the record."""

from __future__ import annotations

import re

import streamlit as st

import exports
from minutes.errors import MinutesError
from minutes.progress import STAGE_LABELS_JA
from minutes.services import Permission, who_can
from minutes.services.views import JobStatus
from ui import meeting_header, speaker_tools, state

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
    speaker_tools.separation_status(services, meeting_id, may_run=may_edit and not info.finalized)  # 話者の分け直し


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
                "閲覧できる利用者",
                list(names),
                default=sorted(members & set(names)),
                format_func=names.get,
                placeholder="利用者を選んでください",
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
            # version, date, files and size: never the server's folder, which means nothing to a clerk
            text_col.markdown(
                f"**第{archive.version}版**　{state.format_moment(archive.created_at)}　"
                f"{archive.files} ファイル・{_size(archive.total_bytes)}"
            )
            if verify_col.button("検証", key=f"verify-{archive.version}", width="stretch"):
                try:
                    st.session_state[f"verified-{meeting_id}-{archive.version}"] = archives.verify(archive.path)
                except MinutesError as error:
                    state.show_error(error)
            if may_export:  # made when clicked (and recorded as an export then)
                zip_col.download_button(
                    "ZIP をダウンロード",
                    data=lambda path=archive.path: archives.zip_bytes(path),
                    file_name=f"会議録アーカイブ_{meeting_id}_第{archive.version}版.zip",
                    mime="application/zip",
                    key=f"zip-{archive.version}",
                    icon=":material/download:",
                    on_click="ignore",
                    width="stretch",
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
        st.caption(
            ("確定前の書き出しには「案」と表示されます。" if not info.finalized else "")
            + "ボタンを押すとその場で作成してダウンロードします（操作の記録に残ります）。"
        )
        columns = st.columns(3)
        for number, fmt in enumerate(exports.FORMATS.values()):
            try:
                prepared = services.exports.prepare(meeting_id, fmt.key)
            except MinutesError as error:
                state.show_error(error)
                break
            columns[number % 3].download_button(
                fmt.label,
                data=prepared.render,  # rendered and recorded only when clicked
                file_name=prepared.filename,
                mime=prepared.mime_type,
                type="primary" if fmt.key == "docx" else "secondary",
                key=f"export-{fmt.key}",
                icon=":material/download:",
                on_click="ignore",
                width="stretch",
            )
    else:
        st.caption("文字起こしが完了すると書き出せます。")


# ---------------------------------------------------------------- details

meeting_header.show(services, meeting_id, info, may_edit=may_edit)


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
        elif event.action == "speaker_person":
            person = event.detail.get("person")
            extra = f"（{person} さんに結び付け）" if person else "（名簿との結び付けを外す）"
        elif event.action in ("material_add", "material_delete"):
            extra = f"（{event.detail.get('name')}）"
        elif event.action in ("time_mark_add", "time_mark_remove"):
            after = event.detail.get("after_seq")
            place = "最初の発言の前" if after is None else f"発言 {after + 1} の後"
            extra = f"（{event.detail.get('time')} {event.detail.get('kind')}、{place}）"
        elif event.action == "agenda":
            order = event.detail.get("order")
            target = f"日程第{order}" if order is not None else "割り当て解除"
            extra = f"（{target}、{event.detail.get('utterances')} 発言）"
        st.markdown(f"- {state.format_moment(event.at)}　{_md(event.actor)}　**{event.action_label}**{_md(extra)}")
