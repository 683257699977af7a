"""Where to split an utterance: pure functions over its text and words, for the editor and ``TranscriptService``.

- :func:`split_points`: the sentence ends 「…。」 inside the text (the natural places to split).
- :func:`locate_split`: the place the clerk means by the second part's text (or its first characters).
- :func:`find_calls`: a chair's short call (「町長。」「５番、佐藤花子議員。」) at the start or end of an utterance.
- :func:`split_words`: the words and the time of a split.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from minutes.errors import InputError

SENTENCE_ENDS = "。？！?!"

# The people a chair calls on by title: 「町長。」「総務課長。」「山田議員。」「５番、佐藤花子議員。」「山田太郎君。」
CALL_TITLES = (
    "議員",
    "君",
    "さん",
    "町長",
    "市長",
    "村長",
    "区長",
    "知事",
    "教育長",
    "部長",
    "課長",
    "局長",
    "室長",
    "所長",
    "次長",
    "参事",
    "理事",
    "委員",
    "管理者",
    "議会事務局長",
)
MAX_CALL = 20  # characters: a longer sentence is speech, not a call
_CALL = re.compile(
    r"^(?:[0-9０-９]+番[、，,\s]*)?"  # 「５番、」
    r"(?:[^。、，,！？!?\s]{0,12}?(?:" + "|".join(sorted(CALL_TITLES, key=len, reverse=True)) + r")"
    r"|[0-9０-９]+番)"  # … 議員 / 町長 …, or only 「５番」
    r"[。.]$"
)
# Said to the chair, not by the chair: 「議長。」 opens a member's own speech.
_NOT_A_CALL = re.compile(r"^(?:副?議長|副?委員長)[。.]$")


@dataclass(frozen=True)
class Call:
    """A short call at the ``start`` or ``end`` of an utterance: characters [begin, end) of its text."""

    position: str  # "start" or "end"
    begin: int
    end: int
    text: str

    @property
    def at(self) -> int:
        """Where the utterance is split to set the call apart."""
        return self.end if self.position == "start" else self.begin


def split_points(text: str) -> list[int]:
    """Positions right after each sentence end inside ``text`` (not at its very end)."""
    stripped = len(text.rstrip())
    return [i + 1 for i, ch in enumerate(text) if ch in SENTENCE_ENDS and 0 < i + 1 < stripped]


def suggest_split(text: str) -> int:
    """A natural place to split: after the sentence end nearest the middle (or the middle itself)."""
    middle = len(text) // 2
    ends = split_points(text)
    return min(ends, key=lambda i: abs(i - middle)) if ends else max(1, middle)


def locate_split(text: str, second_part: str) -> int:
    """The place to split ``text`` so that the second part is ``second_part``, or starts with it when the clerk
    typed only its first characters. Refuses text that is not there, or that occurs more than once."""
    wanted = second_part.strip()
    if not wanted:
        raise InputError("後半の書き出しを入力してください。", "empty second part")
    if len(wanted) < len(text) and text.rstrip().endswith(wanted):
        return len(text.rstrip()) - len(wanted)
    found = [m.start() for m in re.finditer(re.escape(wanted), text)]
    inside = [i for i in found if 0 < i < len(text)]
    if not inside:
        raise InputError(
            f"「{wanted}」は発言の途中に見つかりません。後半の最初の数文字を、発言のとおりに入力してください。",
            f"{wanted!r} not in text",
        )
    if len(inside) > 1:
        raise InputError(
            f"「{wanted}」は発言の中に {len(inside)} か所あります。区別できるよう、もう少し長く入力してください。",
            f"{wanted!r} found {len(inside)} times",
        )
    return inside[0]


def _sentences(text: str) -> list[tuple[int, int]]:
    bounds = [0, *split_points(text), len(text)]
    return [(a, b) for a, b in itertools.pairwise(bounds) if text[a:b].strip()]


def is_call(sentence: str) -> bool:
    """Whether one sentence is a chair's short call: a title, a seat number or a name with 議員・君, and 。"""
    sentence = sentence.strip()
    return len(sentence) <= MAX_CALL and bool(_CALL.match(sentence)) and not _NOT_A_CALL.match(sentence)


def find_calls(text: str) -> list[Call]:
    """The short calls that open or close ``text`` (the chair's words recognised into someone else's utterance),
    when something else remains."""
    sentences = _sentences(text)
    if len(sentences) < 2:
        return []
    calls = []
    for position, (begin, end) in (("start", sentences[0]), ("end", sentences[-1])):
        piece = text[begin:end]
        if is_call(piece):
            lead = len(piece) - len(piece.lstrip())
            calls.append(Call(position, begin + lead, begin + len(piece.rstrip()), piece.strip()))
    return calls


def split_words(
    words: Sequence[dict], text: str, at: int, start: float, end: float
) -> tuple[list[dict], list[dict], float]:
    """Split an utterance's words at character ``at`` of ``text``: (first words, second words, time of the split).

    While the words still spell the text, the split follows them exactly (a word cut in two gets a time in
    proportion to its characters); after an edit, the time is proportional to the characters and words go by their
    middle.
    """
    stripped = [str(w.get("text", "")).strip() for w in words]
    first: list[dict] = []
    second: list[dict] = []
    if words and "".join(stripped) == text:
        position = 0
        for word, word_text in zip(words, stripped, strict=True):
            n = len(word_text)
            if position + n <= at:
                first.append(dict(word, text=word_text))
            elif position >= at:
                second.append(dict(word, text=word_text))
            else:
                k = at - position
                cut = word["start"] + (word["end"] - word["start"]) * k / n
                first.append(dict(word, text=word_text[:k], end=cut))
                second.append(dict(word, text=word_text[k:], start=cut))
            position += n
        if first:
            split_time = first[-1]["end"]
        elif second:
            split_time = second[0]["start"]
        else:
            split_time = start
    else:
        split_time = start + (end - start) * at / max(len(text), 1)
        for word in words:
            (first if (word["start"] + word["end"]) / 2 < split_time else second).append(dict(word))
    return first, second, min(max(split_time, start), end)
