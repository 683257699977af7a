"""The stable-prefix commit policy of live transcription, as pure functions over words.

The rolling window is transcribed again every second or so; each pass gives a hypothesis (words with absolute
times). Like whisper_streaming's LocalAgreement-2, a word is committed when two consecutive hypotheses agree on it
(and on everything before it): the longest common prefix of the previous and the current hypothesis. The words
already committed are first taken off the front of a new hypothesis, by time and by repeated text, because the window
still holds the audio they came from.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from minutes.records import Word

# A word of a new pass that starts this long before the end of the committed text is already committed.
OVERLAP_TOLERANCE = 0.1
# Repeated words at the seam are looked for only when the new pass starts this close to the committed end.
SEAM_SECONDS = 1.0
MAX_SEAM_WORDS = 5
SENTENCE_ENDS = ("。", "？", "！", "?", "!", ".")


def _key(word: Word) -> str:
    """What two passes must agree on: the word's text, width and case folded, without spaces."""
    return unicodedata.normalize("NFKC", word.text).strip().casefold()


def fresh_words(hypothesis: Sequence[Word], committed: Sequence[Word]) -> tuple[Word, ...]:
    """The words of ``hypothesis`` that are not yet committed: those after the committed end, less any words at the
    seam that repeat the last committed ones (1 to 5 words)."""
    if not committed:
        return tuple(hypothesis)
    end = committed[-1].end
    fresh = [w for w in hypothesis if w.start > end - OVERLAP_TOLERANCE]
    if fresh and abs(fresh[0].start - end) < SEAM_SECONDS:
        for size in range(min(MAX_SEAM_WORDS, len(fresh), len(committed)), 0, -1):
            tail = [_key(w) for w in committed[-size:]]
            if tail == [_key(w) for w in fresh[:size]]:
                return tuple(fresh[size:])
    return tuple(fresh)


def agreed_prefix(previous: Sequence[Word], current: Sequence[Word]) -> int:
    """How many leading words of ``current`` the ``previous`` hypothesis agrees on (LocalAgreement-2)."""
    count = 0
    for before, now in zip(previous, current, strict=False):
        if _key(before) != _key(now) or not _key(now):
            break
        count += 1
    return count


def sentence_cut(committed: Sequence[Word], after: float) -> float | None:
    """The end time of the last committed word that ends a sentence after ``after`` (where the window may be cut
    without losing context mid-sentence), or None when there is none."""
    for word in reversed(committed):
        if word.end <= after:
            return None
        if word.text.strip().endswith(SENTENCE_ENDS):
            return word.end
    return None


def join_words(words: Sequence[Word]) -> str:
    """The words' text as one line: Japanese words carry no spaces, other languages' words carry their own."""
    return "".join(w.text for w in words).strip()
