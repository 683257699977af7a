"""Names from the voices on the 話者 page: the person each speaker's voice matched (with how well) or suggests, one
click to accept a suggestion or every automatic name at once, and 声の登録と照合し直す (the ``identify`` job)."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from minutes.errors import EditConflict, MinutesError
from minutes.progress import STAGE_LABELS_JA
from minutes.services import Services
from minutes.services.people import PersonView
from minutes.services.views import SpeakerInfo
from ui import state


def score_text(score: float | None) -> str:
    return "" if score is None else f"声の一致度 {score:.2f}"


def unsure(speaker: SpeakerInfo) -> bool:
    """A name the voices gave that the clerk should check: automatic, not confirmed, and not clearly sure."""
    return speaker.unsure


def voice_line(speaker: SpeakerInfo, roster: dict[int, PersonView]) -> str:
    """What the voice says about a speaker: 「声から特定: 佐藤花子（一致度 0.93、未確認）」 or a suggestion."""
    if speaker.person_id is not None and speaker.person_score is not None and not speaker.person_confirmed:
        mark = "要確認" if unsure(speaker) else "未確認"
        return f"声から特定（{score_text(speaker.person_score)}、{mark}）"
    if speaker.suggested_person_id is not None and speaker.suggested_person_id in roster:
        person = roster[speaker.suggested_person_id]
        return f"声から推定: {person.display}（{score_text(speaker.person_score)}。確実でないため名前は未設定）"
    return ""


def accept_buttons(services: Services, speaker: SpeakerInfo, *, disabled: bool, notify: Callable[[str], None]) -> None:
    """「この名前で確定」 for an automatic name, 「推定の人にする」 for a suggestion."""
    target = speaker.person_id if not speaker.person_confirmed else None
    label = "この名前を確認済みにする"
    if target is None and speaker.person_id is None and speaker.suggested_person_id is not None:
        target, label = speaker.suggested_person_id, "推定の人にする"
    if target is None:
        return
    if st.button(label, key=f"accept-{speaker.id}-{target}", disabled=disabled, icon=":material/how_to_reg:"):
        try:
            linked = services.speakers.link_person(speaker.id, target, expected=speaker)
        except EditConflict as error:
            state.show_error(error)
            return
        except MinutesError as error:
            state.show_error(error)
            return
        notify(f"{linked.display} を名簿の人にしました")
        st.rerun()


def identification_panel(
    services: Services, meeting_id: int, speakers: list[SpeakerInfo], *, may_run: bool, disabled: bool
) -> None:
    """The automatic names in one step, and matching the voices again after profiles changed."""
    pending = [s for s in speakers if s.person_id is not None and not s.person_confirmed]
    suggested = [s for s in speakers if s.suggested_person_id is not None and s.person_id is None]
    if not pending and not suggested and not may_run:
        return
    st.subheader("声による発言者の特定")
    st.caption(
        "登録された声（名簿の人の声の特徴）と照合し、一致度が高く他の人と区別できるときだけ名前を付けています。"
        "付いた名前は、確認するまで「未確認」と表示します（一致度 0.8 未満は「要確認」）。"
        "名前を付けられなかった話者には、推定した人を示します。音声を聞いて確認してください。"
    )
    left, right = st.columns(2)
    if pending and left.button(
        f"自動で付いた名前をすべて確認済みにする（{len(pending)} 人）", disabled=disabled, key="confirm_people"
    ):
        try:
            count = services.speakers.confirm_people(meeting_id)
            st.session_state.setdefault("speaker_flash", []).append(f"{count} 人の名前を確認済みにしました")
        except MinutesError as error:
            state.show_error(error)
        st.rerun()
    if may_run and right.button("声の登録と照合し直す", disabled=disabled, key="identify_again"):
        try:
            services.meetings.identify(meeting_id)
        except MinutesError as error:
            state.show_error(error)
        else:
            st.rerun()
    _identify_status(services, meeting_id)


def _identify_status(services: Services, meeting_id: int) -> None:
    job = services.meetings.identify_job(meeting_id)
    if job is None:
        return
    if job.running:
        _identify_progress(services, meeting_id)
    elif job.status == "failed":
        st.error(f"声の照合に失敗しました: {job.error_message}", icon=":material/warning:")
    elif job.finished_at is not None:
        st.caption(f"声の照合: {state.format_moment(job.finished_at)} に完了しました。")


@st.fragment(run_every=2)
def _identify_progress(services: Services, meeting_id: int) -> None:
    job = services.meetings.identify_job(meeting_id)
    if job is None or not job.running:
        st.rerun(scope="app")
        return
    stage = STAGE_LABELS_JA.get(job.stage, job.stage)
    st.progress(min(job.progress, 100.0) / 100, text=f"声の照合：{stage}　{job.progress:.0f}%")
