"""Where to split an utterance: pure functions over its text and words, for the editor and ``TranscriptService``.

- :func:`split_points`: the sentence ends 「…。」 inside the text (the natural places to split).
- :func:`locate_split`: the place the clerk means by the second part's text (or its first characters).
- :func:`find_calls`: a chair's short call (「町長。」「５番、佐藤花子議員。」) at the start or end of an utterance
  (``minutes.pipeline.calls``, which the pipeline uses to set the calls apart in the draft).
- :func:`split_words`: the words and the time of a split.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict

from minutes.errors import InputError
from minutes.pipeline.calls import Call, find_calls, is_call, split_points, split_word_records
from minutes.records import Word

__all__ = ["Call", "find_calls", "is_call", "locate_split", "split_points", "split_words", "suggest_split"]


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
        records = [Word(w["start"], w["end"], str(w.get("text", "")), w.get("probability", 1.0)) for w in words]
        first_records, second_records = split_word_records(records, at)
        first, second = [asdict(w) for w in first_records], [asdict(w) for w in second_records]
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
