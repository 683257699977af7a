"""Assign each word to a speaker and build utterances (発言) at speaker changes.

Pure functions over records. A word gets the speaker whose turns overlap it most (whisperX's rule); a word in no turn
gets the nearest speaker within ``max_distance``, else the previous word's speaker. Short islands of another speaker
inside one speaker's run (diarization jitter at boundaries) are smoothed away. Japanese text joins without spaces.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from minutes.records import Segment, SpeakerTurn, Utterance, Word

UNKNOWN_SPEAKER = "SPEAKER_UNKNOWN"
# Languages written without spaces between words: their words are joined with no space at all.
SPACELESS_LANGUAGES = frozenset({"ja", "zh", "yue", "th", "lo", "km", "my", "bo"})


def join_words(words: Sequence[Word], language: str = "ja") -> str:
    """The text of ``words``. Whisper's words carry their own leading space in spaced languages."""
    if language in SPACELESS_LANGUAGES:
        return "".join(word.text.strip() for word in words)
    return "".join(word.text for word in words).strip()


@dataclass(frozen=True)
class AssignOptions:
    max_distance: float = 1.0  # seconds: how far a word outside every turn may look for the nearest speaker
    min_island: float = 0.4  # seconds: a shorter run of another speaker between two runs of one speaker is smoothed
    max_pause: float = 30.0  # seconds: a longer silence starts a new utterance even without a speaker change
    max_sentence_edge: float = 0.6  # seconds: a shorter run of a speaker at a sentence's edge joins the sentence


def word_speakers(words: Sequence[Word], turns: Sequence[SpeakerTurn], options: AssignOptions) -> list[str]:
    """The speaker label of each word."""
    turns = sorted(turns, key=lambda t: t.start)
    starts = [t.start for t in turns]
    # Turns that can overlap a word start before the word ends; scanning back from there is bounded by the longest turn.
    longest = max((t.end - t.start for t in turns), default=0.0)
    labels: list[str] = []
    previous = UNKNOWN_SPEAKER
    for word in words:
        overlap: dict[str, float] = {}
        nearest, nearest_distance = None, options.max_distance
        hi = bisect.bisect_right(starts, word.end + options.max_distance)
        lo = bisect.bisect_left(starts, word.start - longest - options.max_distance)
        for turn in turns[lo:hi]:
            shared = min(turn.end, word.end) - max(turn.start, word.start)
            if shared > 0:
                overlap[turn.speaker] = overlap.get(turn.speaker, 0.0) + shared
            else:
                distance = max(turn.start - word.end, word.start - turn.end, 0.0)
                if distance <= nearest_distance:
                    nearest, nearest_distance = turn.speaker, distance
        if overlap:
            label = max(overlap, key=overlap.__getitem__)
        elif nearest is not None:
            label = nearest
        else:
            label = previous
        labels.append(label)
        previous = label
    return labels


def smooth(words: Sequence[Word], labels: list[str], min_island: float) -> list[str]:
    """Relabel short runs of a speaker that sit between two runs of one other speaker."""
    labels = list(labels)
    runs: list[tuple[int, int]] = []  # [start, end) indexes of equal labels
    for index, label in enumerate(labels):
        if runs and labels[runs[-1][0]] == label:
            runs[-1] = (runs[-1][0], index + 1)
        else:
            runs.append((index, index + 1))
    for position in range(1, len(runs) - 1):
        (before, _), (start, end), (after, _) = runs[position - 1], runs[position], runs[position + 1]
        if labels[before] == labels[after] != labels[start] and words[end - 1].end - words[start].start < min_island:
            for index in range(start, end):
                labels[index] = labels[before]
    return labels


SENTENCE_END = ("。", "？", "！", "?", "!", ".")
SENTENCE_GAP = 1.0  # seconds of silence that also end a sentence


def sentences(words: Sequence[Word]) -> list[tuple[int, int]]:
    """[start, end) word indexes of sentences: ended by 。？！ or a pause."""
    spans, start = [], 0
    for index, word in enumerate(words):
        last = index == len(words) - 1
        if last or word.text.strip().endswith(SENTENCE_END) or words[index + 1].start - word.end > SENTENCE_GAP:
            spans.append((start, index + 1))
            start = index + 1
    return spans


def snap_to_sentences(words: Sequence[Word], labels: list[str], max_edge: float) -> list[str]:
    """Speakers change between sentences far more often than inside one. A short run of another speaker at the start
    or end of a sentence ("3|番、山田議員。", "お|答えいたします。") is word-timing jitter at a speaker change: it
    takes the label of the rest of its sentence. Longer runs (a real interruption) are kept."""
    labels = list(labels)
    for start, end in sentences(words):
        runs: list[list[int]] = []
        for index in range(start, end):
            if runs and labels[runs[-1][0]] == labels[index]:
                runs[-1].append(index)
            else:
                runs.append([index])
        if len(runs) < 2:
            continue
        for edge, neighbour in ((runs[0], runs[1]), (runs[-1], runs[-2])):
            if words[edge[-1]].end - words[edge[0]].start < max_edge:
                for index in edge:
                    labels[index] = labels[neighbour[0]]
    return labels


def build_utterances(
    segments: Sequence[Segment],
    turns: Sequence[SpeakerTurn],
    options: AssignOptions = AssignOptions(),
    language: str = "ja",
) -> list[Utterance]:
    """Utterances from transcribed segments and diarization turns: one per run of words of one speaker."""
    # in time order: a segment heard on a second look (pipeline.relisten) can fall between two words of one segment
    words = sorted((word for segment in segments for word in segment.words), key=lambda word: word.start)
    if not words:
        return []
    labels = smooth(words, word_speakers(words, turns, options), options.min_island)
    labels = snap_to_sentences(words, labels, options.max_sentence_edge)
    utterances: list[Utterance] = []
    current: list[Word] = [words[0]]
    for word, label, previous_label in zip(words[1:], labels[1:], labels, strict=False):
        if label != previous_label or word.start - current[-1].end > options.max_pause:
            utterances.append(_utterance(previous_label, current, language))
            current = []
        current.append(word)
    utterances.append(_utterance(labels[-1], current, language))
    return [u for u in utterances if u.text]


def _utterance(speaker: str, words: list[Word], language: str) -> Utterance:
    text = join_words(words, language)
    return Utterance(speaker=speaker, start=words[0].start, end=words[-1].end, text=text, words=tuple(words))
