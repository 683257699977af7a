"""The tools of one utterance on the editor page (``ui/pages/editor.py``): split at a place in the text with a speaker
for the second part, set a chair's short call apart, change the speaker of many utterances at once, merge with the
next one, and the edit history with revert. Kept apart from the page, which would otherwise outgrow a module.

Every action is one click and is saved at once; each names the versions it was made against, so a change someone
else made meanwhile is refused and shown (``EditConflict``). An action that changes which utterances the page holds
(split, merge, a speaker for many) reruns the page's list (the fragment ``lines``); a revert reruns its utterance."""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from minutes.errors import EditConflict, InputError, MinutesError
from minutes.services import Services
from minutes.services.speaker_views import ReassignPreview, ReassignScope, reassign_scope_label
from minutes.services.splitting import Call, find_calls, locate_split, split_points, suggest_split
from minutes.services.views import Line, SpeakerInfo
from ui import state

FREE = -1  # the split place "typed": the clerk gives the second part's first characters
LINES = "lines"  # the fragment key of the editor's list of utterances (``ui/transcript_view.py``)


def line_key(line_id: int) -> str:
    """The fragment key of one utterance on the editor page."""
    return f"line-{line_id}"


@dataclass
class Editing:
    """What the utterances and their tools share on one run of the editor page (kept by its fragments until the next
    full run: the speakers, the agenda and the chair change only with a full run)."""

    services: Services
    meeting_id: int
    speakers: list[SpeakerInfo]
    locked: bool
    flash: list  # (kind, message) shown once at the top of the next run
    conflicts: dict  # utterance id → (message, the text the clerk tried to save)
    chair: SpeakerInfo | None = None
    may_edit: bool = True
    agenda: dict = field(default_factory=dict)  # agenda order → AgendaItem
    cache: dict = field(default_factory=dict)  # utterance id → Line: the page's utterances, kept in the session
    names: dict[int, str] = field(init=False)

    def __post_init__(self) -> None:
        # a name from the voice profiles that is not sure is marked wherever the editor shows it
        self.names = {s.id: s.display + ("（要確認）" if s.unsure else "") for s in self.speakers}

    @property
    def show_marks(self) -> bool:
        """Low-confidence words marked (the toggle above the list)."""
        return self.may_edit and st.session_state.get("show_marks", True)

    @property
    def ids(self) -> list[int]:
        return [s.id for s in self.speakers]

    def report(self, error: MinutesError, line_id: int | None = None, attempted: str = "") -> None:
        if isinstance(error, EditConflict) and line_id is not None:
            self.conflicts[line_id] = (error.message, attempted)
        else:
            self.flash.append(("error", error.message))

    def speaker_box(self, label: str, key: str, default: int | None, **options) -> int:
        ids = self.ids
        return st.selectbox(
            label,
            ids,
            index=ids.index(default) if default in ids else 0,
            format_func=self.names.get,
            key=key,
            disabled=self.locked,
            **options,
        )


# ---------------------------------------------------------------- callbacks (run before the page is drawn again)


def on_split(editing: Editing, line: Line, keys: dict[str, str]) -> None:
    place = st.session_state[keys["at"]]
    speaker_id = st.session_state[keys["speaker"]]
    try:
        if place == FREE:
            second_part = st.session_state.get(keys["text"], "")
            editing.services.transcript.split(
                line.id, second_part=second_part, speaker_id=speaker_id, expected_version=line.version
            )
        else:
            editing.services.transcript.split(line.id, at=place, speaker_id=speaker_id, expected_version=line.version)
        editing.flash.append(("saved", "発言を分割しました"))
    except MinutesError as error:
        editing.report(error, line.id)
    st.rerun(LINES)


def on_call(editing: Editing, line: Line, call: Call, speaker_key: str | None) -> None:
    speaker_id = st.session_state[speaker_key] if speaker_key else editing.chair.id
    try:
        editing.services.transcript.split_call(
            line.id, expected_version=line.version, speaker_id=speaker_id, position=call.position
        )
        editing.flash.append(("saved", f"「{call.text}」を{editing.names.get(speaker_id, '')}の発言として分けました"))
    except MinutesError as error:
        editing.report(error, line.id)
    st.rerun(LINES)


def on_reassign(editing: Editing, preview: ReassignPreview) -> None:
    try:
        count = editing.services.speakers.reassign(preview)
        editing.flash.append(("saved", f"{count} 発言の話者を「{editing.names.get(preview.speaker_id)}」にしました"))
    except MinutesError as error:
        editing.report(error, preview.utterance_id)
    st.rerun(LINES)


def on_merge(editing: Editing, line: Line, following: Line | None) -> None:
    try:
        editing.services.transcript.merge_with_next(
            line.id, expected_version=line.version, next_expected_version=following.version if following else None
        )
        editing.flash.append(("saved", "次の発言と結合しました"))
    except MinutesError as error:
        editing.report(error, line.id)
    st.rerun(LINES)


def on_revert(editing: Editing, line: Line, version: int) -> None:
    try:
        editing.cache[line.id] = editing.services.transcript.revert(
            line.id, to_version=version, expected_version=line.version
        )
        editing.flash.append(("saved", f"第{version}版に戻しました"))
    except MinutesError as error:
        editing.report(error, line.id)
        st.rerun(LINES)  # the page as stored now
    st.rerun(line_key(line.id))


# ---------------------------------------------------------------- on the utterance itself


def calls_offered(editing: Editing, line: Line) -> list[Call]:
    """The chair's calls that open or close the utterance, offered as one-click splits when the chair is known and is
    not the utterance's speaker (else the tools offer them with a choice of speaker)."""
    chair = editing.chair
    if editing.locked or chair is None or line.speaker_id == chair.id:
        return []
    return find_calls(line.text)


def call_buttons(editing: Editing, line: Line, column, calls: list[Call]) -> None:
    """「『町長。』を議長の発言として分ける」 under the utterance, one per call in ``calls`` (:func:`calls_offered`)."""
    for call in calls:
        column.button(
            f"「{call.text}」を{editing.chair.display}の発言として分ける",
            key=f"call-{line.id}-{call.position}",
            on_click=on_call,
            args=(editing, line, call, None),
            help="呼びかけの部分を、議長の別の発言にします（単語の時刻も分けます）。",
            icon=":material/call_split:",
        )


# ---------------------------------------------------------------- the tools panel


def tools(editing: Editing, line: Line, following: Line | None) -> None:
    split_tab, speaker_tab, merge_tab, history_tab = st.tabs(["分割", "話者をまとめて変更", "結合", "修正履歴"])
    with split_tab:
        _split(editing, line)
    with speaker_tab:
        _reassign(editing, line)
    with merge_tab:
        if following is not None:
            st.caption(f"次: {editing.names.get(following.speaker_id, '?')}「{following.text[:40]}」")
        st.button(
            "次の発言と結合",
            key=f"merge-{line.id}",
            on_click=on_merge,
            args=(editing, line, following),
            disabled=editing.locked,
        )
    with history_tab:
        _history(editing, line)


def _place_label(text: str, at: int) -> str:
    if at == FREE:
        return "文字で指定する（後半の書き出しを入力）"
    before, after = text[:at], text[at:]
    return f"…{before[-14:]}｜{after[:14]}{'…' if len(after) > 14 else ''}"


def _split(editing: Editing, line: Line) -> None:
    calls = find_calls(line.text)
    for call in calls:
        left, right = st.columns([3, 2], vertical_alignment="bottom")
        key = f"call-speaker-{line.id}-{line.version}-{call.position}"
        with left:
            st.markdown(f"**{'冒頭' if call.position == 'start' else '末尾'}の呼びかけ「{call.text}」**")
            st.caption("議長の呼びかけが、この発言に入っています。1 回の操作で、別の発言に分けて話者を付けます。")
            chosen = editing.speaker_box("呼びかけの話者", key, editing.chair.id if editing.chair else None)
        right.button(
            f"「{call.text}」を分ける",
            key=f"do-call-{line.id}-{call.position}",
            on_click=on_call,
            args=(editing, line, call, key),
            disabled=editing.locked or chosen is None,
            width="stretch",
        )
    if len(line.text) < 2:
        st.caption("短すぎるため分割できません。")
        return
    suggested = suggest_split(line.text)
    places = [*split_points(line.text), FREE]
    keys = {name: f"split-{name}-{line.id}-{line.version}" for name in ("at", "text", "speaker")}
    place = st.selectbox(
        "分割する位置（文の区切り）",
        places,
        index=places.index(suggested) if suggested in places else len(places) - 1,
        format_func=lambda at: _place_label(line.text, at),
        key=keys["at"],
        disabled=editing.locked,
    )
    if place == FREE:
        typed = st.text_input(
            "後半の書き出し",
            value=line.text[suggested:],
            key=keys["text"],
            help="後半になる部分を、発言のとおりに入力します（最初の数文字だけでもかまいません）。",
            disabled=editing.locked,
        )
        try:
            place = locate_split(line.text, typed)
        except InputError as error:
            st.warning(error.message, icon=":material/warning:")
            place = None
    if place is not None:
        st.caption(f"前半「{line.text[:place]}」｜後半「{line.text[place:]}」")
    editing.speaker_box("後半の話者", keys["speaker"], line.speaker_id)
    st.button(
        "ここで分割",
        key=f"do-split-{line.id}",
        on_click=on_split,
        args=(editing, line, keys),
        disabled=editing.locked or place is None,
    )


def _reassign(editing: Editing, line: Line) -> None:
    stamp = f"{line.id}-{line.version}"
    others = [i for i in editing.ids if i != line.speaker_id]
    current = editing.names.get(line.speaker_id, "?")
    target = editing.speaker_box("新しい話者", f"re-speaker-{stamp}", others[0] if others else None)
    scope = st.radio(
        "変更する範囲",
        ReassignScope.ALL,
        format_func=lambda s: reassign_scope_label(s, current, "指定した話者"),
        key=f"re-scope-{stamp}",
        disabled=editing.locked,
    )
    until = None
    if scope == ReassignScope.UNTIL:
        chair = editing.chair.id if editing.chair and editing.chair.id != line.speaker_id else None
        until = editing.speaker_box(
            "どの話者が話す前まで", f"re-until-{stamp}", chair or (others[0] if others else None)
        )
    try:
        preview = editing.services.speakers.preview_reassign(
            line.id, speaker_id=target, scope=scope, until_speaker_id=until
        )
    except MinutesError as error:
        st.warning(error.message, icon=":material/warning:")
        return
    first, last = preview.matches[0], preview.matches[-1]
    reach = f"{state.format_seconds(first.start)}〜{state.format_seconds(last.start)} の {len(preview.matches)} 発言"
    st.caption(
        f"{reach}のうち {preview.changes} 発言の話者を「{editing.names.get(target)}」にします。"
        "それぞれの修正履歴に残り、元に戻せます。"
    )
    st.button(
        "話者を変更",
        key=f"do-reassign-{line.id}",
        on_click=on_reassign,
        args=(editing, preview),
        disabled=editing.locked or preview.changes == 0,
        type="primary",
    )


def _history(editing: Editing, line: Line) -> None:
    for revision in reversed(editing.services.transcript.history(line.id)):
        row_left, row_right = st.columns([5, 2])
        row_left.caption(
            f"第{revision.version}版　{revision.action_label}　{revision.edited_by}"
            f"　{state.format_moment(revision.edited_at) if revision.edited_at else ''}"
            f"　{editing.names.get(revision.speaker_id, '')}：{revision.text}"
        )
        if revision.version != line.version:
            row_right.button(
                "この版に戻す",
                key=f"revert-{line.id}-{revision.version}",
                on_click=on_revert,
                args=(editing, line, revision.version),
                disabled=editing.locked,
            )
        else:
            row_right.caption("現在の版")
