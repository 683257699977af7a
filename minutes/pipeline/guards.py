"""Guards against Whisper's known failures: repetition loops and phantom phrases on silence or music.

Pure functions over records, so they are tested without a model.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import replace

from minutes.records import Segment, Word

# Phrases Whisper invents on silence, music or noise (learned from video subtitles). A segment made only of these is
# dropped; they do not occur in council proceedings.
PHANTOM_PHRASES = (
    "ご視聴ありがとうございました",
    "ご視聴ありがとうございます",
    "最後までご視聴いただきありがとうございました",
    "ご覧いただきありがとうございました",
    "チャンネル登録よろしくお願いします",
    "チャンネル登録お願いします",
    "高評価とチャンネル登録",
    "字幕は視聴者によって作成されました",
    "視聴者によって作成された字幕",
    "字幕作成者",
    "次回もお楽しみに",
    "おやすみなさい",
    "thanksforwatching",
    "thankyouforwatching",
    "subtitlesby",
    "字幕",
)
_PHANTOM = sorted(set(PHANTOM_PHRASES), key=len, reverse=True)
_PUNCTUATION = re.compile(r"[\s\W_]+", re.UNICODE)

# Whisper's own no-speech rule: a segment both likely silent and decoded with low confidence is not speech.
NO_SPEECH_PROB = 0.6
LOW_LOGPROB = -1.0
# A fragment shorter than this decoded at a mean log-probability below this (every token under ~13 %, after all of
# faster-whisper's temperature fallbacks) is noise read as a word: seen at the end of a clip when a prompt of
# dictionary terms was given (「1位」 after the last sentence; benchmarks/accuracy.py).
FRAGMENT_SECONDS = 1.0
FRAGMENT_LOGPROB = -2.0
# A run of the same n words (n <= MAX_NGRAM) repeated at least MIN_REPEATS times is a decoding loop.
MAX_NGRAM = 10
MIN_REPEATS = 4
MIN_REPEATS_SINGLE_CHAR = 8


def normalize(text: str) -> str:
    """NFKC, lower case, without spaces or punctuation: the form used to compare and score text."""
    return _PUNCTUATION.sub("", unicodedata.normalize("NFKC", text)).lower()


def is_phantom(text: str) -> bool:
    """True when ``text`` consists only of phantom phrases (and punctuation)."""
    rest = normalize(text)
    if not rest:
        return False
    for phrase in _PHANTOM:
        rest = rest.replace(phrase, "")
    return rest == ""


def collapse_repeats(words: Sequence[Word]) -> list[Word]:
    """Keep one copy of any n-word sequence that repeats back to back MIN_REPEATS times or more."""
    result = list(words)
    i = 0
    while i < len(result):
        collapsed = False
        for n in range(1, MAX_NGRAM + 1):
            if i + 2 * n > len(result):
                break
            unit = [normalize(w.text) for w in result[i : i + n]]
            unit_text = "".join(unit)
            if not unit_text:
                continue
            repeats = 1
            while [normalize(w.text) for w in result[i + repeats * n : i + (repeats + 1) * n]] == unit:
                repeats += 1
            needed = MIN_REPEATS_SINGLE_CHAR if len(unit_text) == 1 else MIN_REPEATS
            if repeats >= needed:
                del result[i + n : i + repeats * n]
                collapsed = True
                break
        if not collapsed:
            i += 1
    return result


def clean_segment(segment: Segment) -> Segment | None:
    """The segment without loops, or None when it is not speech (phantom phrase, silence decoded as text)."""
    if segment.no_speech_prob > NO_SPEECH_PROB and segment.avg_logprob < LOW_LOGPROB:
        return None
    if segment.end - segment.start < FRAGMENT_SECONDS and segment.avg_logprob < FRAGMENT_LOGPROB:
        return None
    if is_phantom(segment.text):
        return None
    if not segment.words:
        return segment if normalize(segment.text) else None
    words = collapse_repeats(segment.words)
    text = "".join(w.text for w in words).strip()  # segment text keeps Whisper's spacing; utterances re-join
    if not normalize(text):
        return None
    if len(words) == len(segment.words):
        return segment
    return replace(segment, text=text, words=tuple(words), end=max(w.end for w in words))


def clean_segments(segments: Iterable[Segment]) -> list[Segment]:
    """Apply ``clean_segment`` to each segment, dropping the ones that are not speech."""
    cleaned = (clean_segment(segment) for segment in segments)
    return [segment for segment in cleaned if segment is not None]
