"""Speakers of a whole meeting, shared by the editor, the 話者 page and the meeting page: adding a speaker the
separation did not find (by name, or one of the people of the meeting's header), linking a speaker to a person of the
roster (名簿), and 話者の分け直し — speaker separation again with a number of speakers, run as a job, with its
progress while it runs."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from minutes.errors import EditConflict, MinutesError
from minutes.progress import STAGE_LABELS_JA
from minutes.services import Services
from minutes.services.people import PersonView
from minutes.services.views import JobStatus, SpeakerInfo
from ui import state

MODES = ("人数を指定", "範囲を指定", "自動で判定")
REDIARIZE_HELP = (
    "録音から話者をもう一度分けます（文字起こしはやり直しません）。修正した本文はそのまま残り、話者と発言の区切り"
    "だけが変わります。手で話者を選んだ発言は、その話者のままです。変わった発言は「修正履歴」に「話者の分け直し」"
    "として残り、元に戻せます。話者に付けた名前は、その話者の声に最も重なる新しい話者に引き継がれます。"
)


def add_speaker_form(
    services: Services, meeting_id: int, *, disabled: bool, notify: Callable[[str], None], key: str = "add_speaker"
) -> None:
    """A speaker by name and role, or one of the header's people (出席議員・説明員・職員) not yet a speaker; it is in
    every speaker drop-down at once (the page is drawn again; ``notify`` keeps the message for that run)."""
    people = [p for p in services.speakers.header_people(meeting_id) if not p.present]
    with st.form(key, clear_on_submit=True, border=False):
        chosen = st.selectbox(
            "会議情報の出席者から選ぶ",
            [None, *range(len(people))],
            format_func=lambda i: "選ばない（下に入力する）" if i is None else people[i].display,
            placeholder="選ばない（下に入力する）",
            key=f"{key}-person",
            disabled=disabled or not people,
            help=None if people else "「会議の情報・確定」で出席者や説明員を登録すると、ここから選べます。",
        )
        left, right = st.columns(2)
        name = left.text_input("氏名", key=f"{key}-name", placeholder="池田康弘", disabled=disabled)
        role = right.text_input(
            "役職・呼び方", key=f"{key}-role", placeholder="町長、３番 議員、総務課長", disabled=disabled
        )
        submitted = st.form_submit_button("話者を追加", disabled=disabled, icon=":material/person_add:")
    if not submitted:
        return
    fields = {"name": name, "role": role}
    if chosen is not None:
        person = people[chosen]
        fields = {"name": person.name, "role": person.role, "kind": person.kind, "seat": person.seat}
    try:
        added = services.speakers.add_speaker(meeting_id, **fields)
    except MinutesError as error:
        state.show_error(error)
        return
    notify(f"話者「{added.display}」を追加しました")
    st.rerun()


def linked_text(speaker: SpeakerInfo, roster: dict[int, PersonView]) -> str:
    """「名簿: ５番 佐藤花子（確認済み）」 for a speaker linked to a person; "" for one that is not."""
    person = roster.get(speaker.person_id) if speaker.person_id is not None else None
    if person is None:
        return ""
    state_text = "確認済み" if speaker.person_confirmed else "自動の判定・未確認"
    return f"名簿: {person.display}（{state_text}）"


def shared_links(speakers: list[SpeakerInfo], roster: dict[int, PersonView]) -> None:
    """A warning when two speakers of the meeting are linked to the same person: the same voice split in two."""
    counts: dict[int, int] = {}
    for speaker in speakers:
        if speaker.person_id is not None:
            counts[speaker.person_id] = counts.get(speaker.person_id, 0) + 1
    for person_id, count in counts.items():
        if count > 1 and person_id in roster:
            st.warning(
                f"{count} 人の話者が名簿の同じ人（{roster[person_id].name}）になっています。同じ人の声なら、"
                "下の「話者の統合」で 1 人にしてください。",
                icon=":material/group:",
            )


def person_picker(
    services: Services,
    speaker: SpeakerInfo,
    roster: dict[int, PersonView],
    *,
    disabled: bool,
    notify: Callable[[str], None],
) -> None:
    """名簿から選ぶ: link the speaker to a person of the roster (name, title on the meeting's date, seat … are copied
    from the person), or to nobody. People in office are offered, and the linked person even if retired since."""
    choices = [p.id for p in roster.values() if not p.retired or p.id == speaker.person_id]
    options = [None, *choices]
    key = f"sp-person-{speaker.id}-{speaker.person_id}-{speaker.person_confirmed}"
    with st.form(key, border=False):
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        chosen = left.selectbox(
            "名簿から選ぶ",
            options,
            index=options.index(speaker.person_id) if speaker.person_id in options else 0,
            format_func=lambda i: "名簿の人ではない" if i is None else roster[i].display,
            key=f"{key}-choice",
            disabled=disabled or not choices,
            help=None if choices else "「名簿」ページで議員や説明員を登録すると、ここから選べます。",
        )
        submitted = right.form_submit_button("名簿の人にする", disabled=disabled or not choices, key=f"{key}-link")
    if not submitted:
        return
    if chosen is None and speaker.person_id is None:
        return
    try:
        linked = services.speakers.link_person(speaker.id, chosen, expected=speaker)
    except EditConflict as error:
        state.show_error(error)
        st.button("最新の内容を表示", key=f"{key}-reload")
        return
    except MinutesError as error:
        state.show_error(error)
        return
    notify(f"{linked.display} を名簿の人にしました" if chosen is not None else "名簿との結び付けを外しました")
    st.rerun()


def rediarize_form(services: Services, meeting_id: int, *, speakers: int, disabled: bool) -> None:
    """人数 (or 最小・最大, or automatic) and a button that queues the re-run."""
    with st.form("rediarize", border=False):
        mode = st.radio("話者の人数", MODES, horizontal=True, key="rediarize_mode", disabled=disabled)
        a, b, c = st.columns(3)
        count = a.number_input(
            "人数", min_value=1, max_value=50, value=max(2, speakers), key="rediarize_count", disabled=disabled
        )
        low = b.number_input("最小", min_value=1, max_value=50, value=2, key="rediarize_min", disabled=disabled)
        high = c.number_input(
            "最大", min_value=1, max_value=50, value=max(3, speakers + 1), key="rediarize_max", disabled=disabled
        )
        submitted = st.form_submit_button("話者の分け直しを開始", disabled=disabled, icon=":material/graphic_eq:")
    st.caption(REDIARIZE_HELP)
    if not submitted:
        return
    try:
        services.meetings.rediarize(
            meeting_id,
            num_speakers=int(count) if mode == MODES[0] else None,
            min_speakers=int(low) if mode == MODES[1] else None,
            max_speakers=int(high) if mode == MODES[1] else None,
        )
    except MinutesError as error:
        state.show_error(error)
        return
    st.rerun()


@st.fragment(run_every=2)
def _progress(services: Services, meeting_id: int, may_cancel: bool) -> None:
    job = services.meetings.speaker_job(meeting_id)
    if job is None or not job.running:
        st.rerun(scope="app")  # finished: the new speakers and boundaries show on the whole page
        return
    if job.status == JobStatus.QUEUED:
        st.progress(0.0, text="話者の分け直し：処理待ち")
    else:
        stage = STAGE_LABELS_JA.get(job.stage, job.stage)
        st.progress(min(job.progress, 100.0) / 100, text=f"話者の分け直し：{stage}　{job.progress:.0f}%")
    if job.cancel_requested:
        st.caption("取り消しを受け付けました。処理の区切りで止まります。")
    elif may_cancel and st.button("話者の分け直しを取り消す", key="cancel_rediarize"):
        try:
            services.meetings.cancel_job(job.id)
        except MinutesError as error:
            state.show_error(error)
        st.rerun(scope="app")


def separation_status(services: Services, meeting_id: int, *, may_run: bool) -> None:
    """The latest 話者の分け直し: its progress while it runs (updated every 2 s), why it failed (with 再試行)."""
    job = services.meetings.speaker_job(meeting_id)
    if job is None:
        return
    if job.running:
        st.info(
            "話者の分け直しを実行中です。完了すると、話者と発言の区切りが変わります（修正した本文はそのまま残ります）。",
            icon=":material/hourglass_top:",
        )
        _progress(services, meeting_id, may_run)
    elif job.status == JobStatus.FAILED:
        st.error(f"話者の分け直しに失敗しました: {job.error_message}", icon=":material/warning:")
        st.caption("発言はそのままです。")
        if may_run and st.button("話者の分け直しを再試行", key="retry_rediarize"):
            try:
                services.meetings.retry_job(job.id)
            except MinutesError as error:
                state.show_error(error)
            st.rerun()
    elif job.status == JobStatus.SUCCEEDED and job.finished_at is not None:
        st.caption(f"話者の分け直し: {state.format_moment(job.finished_at)} に完了しました。")
