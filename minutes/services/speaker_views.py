"""The views of speaker work on a meeting (the 話者 page and the editor): people of the header who could be added as
speakers, and a change of speaker for many utterances at once. Plain frozen copies, safe to keep across reruns, as in
``views``."""

from __future__ import annotations

from dataclasses import dataclass


def seat_label(seat: int) -> str:
    """「５番」: a seat number as the 会議録 writes it (full-width digits), in every list a clerk picks from too."""
    return f"{str(seat).translate(str.maketrans('0123456789', '０１２３４５６７８９'))}番"


@dataclass(frozen=True)
class SpeakerCandidate:
    """A person of the meeting's header (出席議員, 説明員, 職員, 議長) who could be added as a speaker."""

    name: str
    role: str
    seat: int | None
    kind: str  # one of SPEAKER_KINDS
    source: str  # 出席議員 / 説明のため出席した者 / 職務のため出席した者 / 議長
    present: bool  # a speaker of that name already exists

    @property
    def display(self) -> str:
        seat = f"{seat_label(self.seat)} " if self.seat is not None else ""
        return f"{seat}{' '.join(p for p in (self.role, self.name) if p)}（{self.source}）"


class ReassignScope:
    """How far a change of speaker reaches (``SpeakersService.preview_reassign``)."""

    ONE = "one"  # this utterance only
    SAME = "same"  # this utterance and every later utterance of its current speaker
    UNTIL = "until"  # this utterance and every later one (whoever's) up to the next one of a given speaker

    ALL = (ONE, SAME, UNTIL)


def reassign_scope_label(scope: str, current: str = "この話者", until: str = "指定した話者") -> str:
    """The rule of a scope in words, for the choice and for the record."""
    return {
        ReassignScope.ONE: "この発言だけ",
        ReassignScope.SAME: f"この発言と、これより後の「{current}」の発言すべて",
        ReassignScope.UNTIL: f"この発言から、次に「{until}」が話す前まで（間の発言すべて）",
    }[scope]


@dataclass(frozen=True)
class ReassignMatch:
    utterance_id: int
    seq: int
    start: float
    version: int
    speaker_id: int  # the speaker it has now
    text: str


@dataclass(frozen=True)
class ReassignPreview:
    """The utterances one change of speaker reaches, as they were when previewed."""

    utterance_id: int
    speaker_id: int  # the new speaker
    scope: str
    until_speaker_id: int | None
    matches: tuple[ReassignMatch, ...]

    @property
    def expected(self) -> dict[int, int]:
        return {m.utterance_id: m.version for m in self.matches}

    @property
    def changes(self) -> int:
        """How many of them get another speaker (those that already have it stay as they are)."""
        return sum(m.speaker_id != self.speaker_id for m in self.matches)
