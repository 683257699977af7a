"""A second look at short speech Whisper did not write down: the chair's 「町長。」 just before the mayor's answer.

Whisper decodes 30-second stretches; a call of half a second right at a speaker change, 0.2 s before the next
speech, is often left out of the text altogether (the diarization hears it; no word covers it). After diarization,
the stretches of speech that no word covers and that lie at a speaker change are transcribed once more, each on its
own, and what is heard there joins the transcript as a segment of its own (through the same guards).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from minutes.pipeline.guards import LOW_LOGPROB, NO_SPEECH_PROB, clean_segments
from minutes.pipeline.transcribe import TranscriptionOptions, segment_record
from minutes.records import SAMPLE_RATE, Segment, SpeakerTurn

MIN_SECONDS = 0.3  # untranscribed speech shorter than this is a breath or a click
MAX_SECONDS = 3.0  # longer stretches are not a short turn swallowed at a speaker change
NEAR_CHANGE = 1.0  # seconds: the stretch must lie this close to a change of speaker in the diarization
PAD = 0.2  # seconds of context on either side, within the neighbouring words
MAX_COMPRESSION = 2.4  # faster-whisper's compression_ratio_threshold
# Whisper pads each stretch to 30 s, and on a breath or a click it may loop until its 448-token limit
# (「お前のお前の…」, 222 words from 0.48 s): on the sample council two such stretches took 9.6 and 9.2 CPU seconds,
# against about 1.7 for one that decodes cleanly. No speech says more than this many tokens a second, so the
# decoder stops there and a stretch that reached the limit is a loop, left as it was (as the compression ratio
# rejected it before).
TOKENS_PER_SECOND = 25
MIN_TOKENS = 16


def _union(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def _minus(spans: Sequence[tuple[float, float]], holes: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    out = []
    holes = _union(holes)
    for start, end in spans:
        cursor = start
        for a, b in holes:
            if b <= cursor or a >= end:
                continue
            if a > cursor:
                out.append((cursor, a))
            cursor = max(cursor, b)
        if cursor < end:
            out.append((cursor, end))
    return out


def speaker_changes(turns: Sequence[SpeakerTurn]) -> list[float]:
    """Times where the diarization's speaker changes (the start of a turn of another speaker than the last)."""
    changes, last = [], None
    for turn in sorted(turns, key=lambda t: t.start):
        if last is not None and turn.speaker != last.speaker:
            changes.append(turn.start)
            changes.append(last.end)
        if last is None or turn.end > last.end or turn.speaker != last.speaker:
            last = turn
    return sorted(changes)


def untranscribed_spans(segments: Sequence[Segment], turns: Sequence[SpeakerTurn]) -> list[tuple[float, float]]:
    """The stretches to listen to again: speech of the diarization that no word covers, MIN_SECONDS to MAX_SECONDS
    long, within NEAR_CHANGE of a speaker change; widened by PAD where no word is, and up to a speaker change that
    comes within PAD after the stretch even over the next word (Whisper's first word after a change often starts a
    few tenths of a second early, which cut the end off the chair's 「町長。」)."""
    words = sorted((w.start, w.end) for s in segments for w in s.words)
    speech = _union([(t.start, t.end) for t in turns if t.end > t.start])
    changes = speaker_changes(turns)
    spans = []
    for start, end in _minus(speech, words):
        if not MIN_SECONDS <= end - start <= MAX_SECONDS:
            continue
        if not any(start - NEAR_CHANGE <= change <= end + NEAR_CHANGE for change in changes):
            continue
        before = max((b for a, b in words if b <= start), default=0.0)
        after = min((a for a, b in words if a >= end), default=end + PAD)
        change = next((c for c in changes if end < c <= end + PAD), None)
        stop = max(change, min(after, end + PAD)) if change is not None else min(after, end + PAD)
        spans.append((round(max(before, start - PAD), 3), round(stop, 3)))
    return spans


def confident(segment: Segment) -> bool:
    """Whether a second look heard speech: decoded without Whisper's own fallbacks being needed (mean log-probability
    and compression ratio within the limits at which faster-whisper would sample again) and not likely silence.
    On short clips of breath or noise Whisper invents a greeting (「おはようございます。」 at −1.2 to −1.4) or a
    repeated vowel (compression ratio 33); the chair's calls came out at −0.85."""
    return (
        segment.avg_logprob >= LOW_LOGPROB
        and segment.compression_ratio <= MAX_COMPRESSION
        and segment.no_speech_prob < NO_SPEECH_PROB
        and bool(segment.words)
    )


def token_limit(seconds: float) -> int:
    """The most tokens (text and timestamps) the decoder may write for a stretch of ``seconds``."""
    return max(MIN_TOKENS, math.ceil(TOKENS_PER_SECOND * seconds))


def reached(limit: int, token_counts: Sequence[int]) -> bool:
    """Whether a decode of pieces with these text-token counts ran up to ``limit``: each piece also took its two
    timestamp tokens (the last one its opening one only, when cut off)."""
    return sum(token_counts) + 2 * len(token_counts) >= limit - 1


def relisten(
    model,
    samples: np.ndarray,
    segments: Sequence[Segment],
    spans: Sequence[tuple[float, float]],
    options: TranscriptionOptions,
    language: str,
) -> list[Segment]:
    """``segments`` with what a second look at ``spans`` (:func:`untranscribed_spans`) heard, guarded, in time
    order. Each stretch is decoded alone, without VAD (it is speech by the diarization) and without sampling."""
    added = []
    for start, end in spans:
        clip = np.ascontiguousarray(samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)], dtype=np.float32)
        limit = token_limit(end - start)
        pieces, _ = model.transcribe(
            clip,
            language=language,
            beam_size=options.beam_size,
            word_timestamps=True,
            vad_filter=False,
            condition_on_previous_text=False,
            initial_prompt=options.initial_prompt,
            temperature=0.0,  # no sampling: a stretch that does not decode cleanly is left as it was
            max_new_tokens=limit,
        )
        pieces = list(pieces)
        if not reached(limit, [len(piece.tokens) for piece in pieces]):
            added += [s for piece in pieces if confident(s := segment_record(piece, start))]
    return sorted([*segments, *clean_segments(added)], key=lambda s: s.start)
