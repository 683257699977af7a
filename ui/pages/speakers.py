"""話者: who spoke when and for how long, a clip of each detected speaker, their name, role, seat, kind, reading and
group (会派), adding a speaker the separation did not find, and merging two detected speakers who are the same person.
Speakers nobody has named show as 話者１, 話者２ … (by order of first utterance), as in the exports."""

from __future__ import annotations

import re

import altair as alt
import pandas as pd
import streamlit as st

from minutes.errors import EditConflict, MinutesError
from minutes.services import Permission, who_can
from minutes.services.views import SPEAKER_KINDS, SpeakerInfo
from ui import identity_tools, speaker_tools, state

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")

meeting_id, services, info = state.open_meeting()

st.title("話者")
st.caption(info.title)
speakers: list[SpeakerInfo] = services.speakers.speakers(meeting_id)
if not speakers:
    st.info("話者はまだありません。文字起こしが完了すると表示されます。", icon=":material/info:")
    st.stop()
may_edit = state.can(Permission.EDIT)
locked = info.finalized
if locked and may_edit:
    st.info("確定済みの会議録です。話者の情報は変更できません。", icon=":material/lock:")
names = {s.id: s.display for s in speakers}
roster = {p.id: p for p in services.people.people(include_retired=True)}  # 名簿, for linking speakers
for message in st.session_state.pop("speaker_flash", []):
    st.toast(message, icon=":material/save:")


# ---------------------------------------------------------------- pictures

st.subheader("発言の分布")
spoken = [s for s in speakers if s.utterances]  # a speaker added but not given any utterance yet is no bar
order = [names[s.id] for s in sorted(spoken, key=lambda s: -s.seconds)]
talk = pd.DataFrame(
    {
        "話者": [names[s.id] for s in spoken],
        "発言時間（分）": [round(s.seconds / 60, 1) for s in spoken],
        "発言数": [s.utterances for s in spoken],
    }
)
timeline = pd.DataFrame(
    [
        {"話者": names.get(speaker_id, "?"), "開始（分）": start / 60, "終了（分）": end / 60}
        for speaker_id, start, end in services.speakers.timeline(meeting_id)
    ]
)
left, right = st.columns([1, 2])
with left:
    st.markdown("**話者ごとの発言時間**")
    st.altair_chart(
        alt.Chart(talk)
        .mark_bar()
        .encode(
            x=alt.X("発言時間（分）:Q"),
            y=alt.Y("話者:N", sort=order, title=None),
            color=alt.Color("話者:N", sort=order, legend=None),
            tooltip=["話者", "発言時間（分）", "発言数"],
        ),
        width="stretch",
    )
with right:
    st.markdown("**いつ、誰が話したか**")
    st.altair_chart(
        alt.Chart(timeline)
        .mark_bar(height=14)
        .encode(
            x=alt.X("開始（分）:Q", title="録音の経過時間（分）"),
            x2="終了（分）:Q",
            y=alt.Y("話者:N", sort=order, title=None),
            color=alt.Color("話者:N", sort=order, legend=None),
            tooltip=["話者", alt.Tooltip("開始（分）:Q", format=".1f"), alt.Tooltip("終了（分）:Q", format=".1f")],
        ),
        width="stretch",
    )


# ---------------------------------------------------------------- each speaker


def _md(text: str) -> str:
    """User text (a speaker's name) as literal markdown: no emphasis, links or HTML."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _facts(speaker: SpeakerInfo) -> str:
    """The speaker's details as one read-only line (for those who may not edit them)."""
    facts = [
        ("読み", speaker.yomi),
        ("区分", speaker.kind),
        ("議席番号", speaker.seat),
        ("会派", speaker.group),
    ]
    return "　".join(f"{label}: {value}" for label, value in facts if value) or "詳しい情報は登録されていません。"


st.subheader("話者の名前と役職")
if may_edit:
    st.caption(
        "名前や役職は、すべての発言に一度に反映されます。音声を聞いて、誰の声か確認してください。"
        "「名簿から選ぶ」で名簿の人にすると、氏名・議席番号と会議の日の職名が名簿から入ります。"
    )
else:
    st.caption(f"話者の名前や役職の変更は、{who_can(Permission.EDIT)}が行います。")
speaker_tools.shared_links(speakers, roster)
identity_tools.identification_panel(services, meeting_id, speakers, may_run=may_edit and not locked, disabled=locked)
playable = info.recording is not None and info.recording.path.exists()
for speaker in sorted(speakers, key=lambda s: -s.seconds):
    with st.container(border=True, key=f"speaker-{speaker.id}"):
        head, clip = st.columns([2, 3])
        head.markdown(f"**{_md(speaker.display)}**" + ("" if speaker.detected else "　:small[（追加した話者）]"))
        head.caption(f"発言時間 {state.format_seconds(speaker.seconds)}・{speaker.utterances} 発言")
        if linked := speaker_tools.linked_text(speaker, roster):
            head.caption(_md(linked))
        if voice := identity_tools.voice_line(speaker, roster):
            (head.warning if identity_tools.unsure(speaker) else head.caption)(_md(voice))
        if playable and speaker.sample is not None:
            try:
                path = services.playback.sample(meeting_id, *speaker.sample)
                clip.audio(str(path), format="audio/wav")
            except Exception as error:  # an unreadable recording must not break the page
                clip.caption(f"試聴用の音声を作れませんでした（{type(error).__name__}）。")
        if not may_edit:
            head.caption(_md(_facts(speaker)))
            continue
        notify = st.session_state.setdefault("speaker_flash", []).append
        with head:
            identity_tools.accept_buttons(services, speaker, disabled=locked, notify=notify)
        speaker_tools.person_picker(services, speaker, roster, disabled=locked, notify=notify)
        stamp = f"{speaker.id}-{abs(hash(repr(speaker.fields()))) % 10**8}"  # new widgets once the speaker changes
        with st.form(f"speaker-form-{stamp}", border=False):
            a, b, c = st.columns(3)
            name = a.text_input(
                "氏名", key=f"sp-name-{stamp}", value=speaker.name or "", placeholder="山田太郎", disabled=locked
            )
            yomi = b.text_input(
                "読み", key=f"sp-yomi-{stamp}", value=speaker.yomi or "", placeholder="やまだたろう", disabled=locked
            )
            role = c.text_input(
                "役職・呼び方",
                key=f"sp-role-{stamp}",
                value=speaker.role or "",
                placeholder="議長、町長、３番 議員、総務課長",
                disabled=locked,
            )
            a, b, c = st.columns(3)
            kinds = ["", *SPEAKER_KINDS]
            kind = a.selectbox(
                "区分",
                kinds,
                key=f"sp-kind-{stamp}",
                index=kinds.index(speaker.kind) if speaker.kind in kinds else 0,
                format_func=lambda k: k or "未設定",
                disabled=locked,
            )
            seat = b.number_input(
                "議席番号", key=f"sp-seat-{stamp}", min_value=1, max_value=999, value=speaker.seat, disabled=locked
            )
            group = c.text_input("会派", key=f"sp-group-{stamp}", value=speaker.group or "", disabled=locked)
            if st.form_submit_button("保存", disabled=locked, key=f"sp-save-{stamp}"):
                try:
                    services.speakers.update_speaker(
                        speaker.id,
                        expected=speaker,
                        name=name,
                        yomi=yomi,
                        role=role,
                        kind=kind or None,
                        seat=seat,
                        group=group,
                    )
                    st.session_state.setdefault("speaker_flash", []).append(f"{name or speaker.display} を保存しました")
                    st.rerun()
                except EditConflict as error:
                    state.show_error(error)
                    st.button("最新の内容を表示", key=f"reload-{speaker.id}")
                except MinutesError as error:
                    state.show_error(error)


# ---------------------------------------------------------------- add and merge

if not may_edit:
    st.stop()
st.subheader("話者の追加")
st.caption(
    "自動の話者分離で見つからなかった人（例: 町長の答弁が議員の声と一緒にされたとき）を追加します。"
    "追加した話者は、発言の編集の話者の選択欄にすぐ表れます。"
)
speaker_tools.add_speaker_form(
    services,
    meeting_id,
    disabled=locked,
    notify=st.session_state.setdefault("speaker_flash", []).append,
    key="add_speaker_page",
)

st.subheader("話者の統合")
st.caption("同じ人が 2 人に分かれて検出されたときに使います。統合元の発言はすべて統合先の話者になります。")
ids = [s.id for s in speakers]
a, b, c = st.columns([2, 2, 1], vertical_alignment="bottom")
source = a.selectbox("統合元（なくなる話者）", ids, format_func=names.get, key="merge_source", disabled=locked)
target = b.selectbox(
    "統合先（残る話者）",
    ids,
    index=1 if len(ids) > 1 else 0,
    format_func=names.get,
    key="merge_target",
    disabled=locked,
)
if c.button("統合する", disabled=locked or len(ids) < 2, key="merge_speakers"):
    try:
        moved = services.speakers.merge_speakers(source_id=source, target_id=target)
        st.session_state.setdefault("speaker_flash", []).append(
            f"{names[source]} を {names[target]} に統合しました（{moved} 発言）"
        )
        st.session_state.pop("merge_source", None)
        st.session_state.pop("merge_target", None)
        st.rerun()
    except MinutesError as error:
        state.show_error(error)
