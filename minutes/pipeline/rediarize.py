"""Speaker separation again on a finished meeting: decode → diarize, then new speakers for the stored utterances.

The stored text is the clerk's and stays: only speaker labels and utterance boundaries move.

- An utterance whose speaker the clerk chose (``speaker_fixed``) stays as it is: one unit, that speaker.
- An utterance whose text was edited (its words no longer spell it) stays one unit with its text, and gets the speaker
  whose turns overlap it most.
- An utterance whose words still spell its text is re-segmented word by word, as the first run did
  (``assign.build_utterances``: overlap, smoothing, sentence edges): it is cut where the speaker changes.
- Neighbouring pieces of one speaker join into one utterance, as in the first run, except across the boundary of an
  utterance the clerk changed (split, merged, reassigned): the clerk's boundaries stay.
- The new speakers take over the stored ones by overlap (:func:`match_speakers`), named ones first, so a name the
  clerk gave stays with the voice it was given to.

Pure functions over records, like ``assign``; :func:`separate_speakers` is the I/O edge (decode and diarize).
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from diarize import DiarizationOptions, diarize
from minutes.pipeline.assign import (
    UNKNOWN_SPEAKER,
    AssignOptions,
    join_words,
    smooth,
    snap_to_sentences,
    word_speakers,
)
from minutes.pipeline.decode import decode_to_file
from minutes.pipeline.memory import limit_heap_fragmentation
from minutes.progress import ProgressCallback, no_progress
from minutes.records import SpeakerTurn, Word

# Share of a re-run each stage takes (no transcription: diarization is nearly all of it).
REDIARIZE_WEIGHTS: dict[str, float] = {"decode": 5.0, "diarize": 85.0, "assign": 10.0}


@dataclass(frozen=True)
class StoredUtterance:
    """An utterance as stored, for re-running speaker separation. ``speaker`` is the stored speaker's id."""

    id: int
    speaker: int
    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    touched: bool = False  # changed by the clerk (text, split, merge, speaker): its boundaries stay
    speaker_fixed: bool = False  # the clerk chose its speaker (a speaker change was its last): it keeps it
    raw: str | None = None  # the 素起こし the text (整文) was made from; None: stored before the layers

    def spelled(self, language: str = "ja") -> bool:
        """Whether the recognised words still spell the text, or the 素起こし of a text nobody edited (its 整文 is
        remade from the words)."""
        if not self.words:
            return False
        joined = join_words(self.words, language)
        return joined == self.text or (not self.touched and joined == self.raw)


@dataclass(frozen=True)
class Piece:
    """One utterance after the re-run. ``sources``: the stored utterances it is made of, in order (several when
    untouched neighbours of one speaker join; the same one in several pieces when it is cut). ``label``: the new
    diarization label, or None when no turn is near it (it keeps ``speaker``, its stored speaker)."""

    sources: tuple[int, ...]
    label: str | None
    speaker: int
    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    kept_text: bool = False  # an edited text, kept whole (its words and times are left as stored)
    raw: str | None = None  # for a text remade from words: the words as recognized (``text`` is then its 整文)
    kebatori: str | None = None


@dataclass(frozen=True)
class SeparationResult:
    duration: float
    turns: tuple[SpeakerTurn, ...]
    stage_seconds: dict[str, float]


def separate_speakers(
    source: Path,
    work_dir: Path,
    options: DiarizationOptions | None = None,
    progress: ProgressCallback = no_progress,
    max_duration: float | None = None,
) -> SeparationResult:
    """Decode ``source`` and diarize it (no transcription). Work files live in ``work_dir`` and are removed."""
    options = options or DiarizationOptions()
    limit_heap_fragmentation()
    work_dir.mkdir(parents=True, exist_ok=True)
    decoded_path = work_dir / "audio-16k.f32"
    timings: dict[str, float] = {}
    try:
        started = time.perf_counter()
        progress("decode", 0, 1)
        decoded = decode_to_file(source, decoded_path, max_duration=max_duration)
        progress("decode", 1, 1)
        timings["decode"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        turns = diarize(decoded.samples(), options, progress)
        timings["diarize"] = round(time.perf_counter() - started, 3)
        return SeparationResult(decoded.duration, tuple(turns), timings)
    finally:
        decoded_path.unlink(missing_ok=True)


# ---------------------------------------------------------------- new boundaries


def resegment(
    utterances: Sequence[StoredUtterance],
    turns: Sequence[SpeakerTurn],
    options: AssignOptions | None = None,
    language: str = "ja",
) -> list[Piece]:
    """The utterances (in order) as pieces with new speakers; every stored utterance is in at least one piece."""
    options = options or AssignOptions()
    pieces: list[Piece] = []
    run: list[StoredUtterance] = []
    for utterance in utterances:
        if utterance.spelled(language) and not utterance.speaker_fixed:
            run.append(utterance)
            continue
        pieces += _run_pieces(run, turns, options, language)
        run = []
        pieces.append(_whole(utterance, turns, options))
    return pieces + _run_pieces(run, turns, options, language)


def _whole(utterance: StoredUtterance, turns: Sequence[SpeakerTurn], options: AssignOptions) -> Piece:
    span = Word(utterance.start, utterance.end, utterance.text, 1.0)
    label = UNKNOWN_SPEAKER if utterance.speaker_fixed else word_speakers([span], turns, options)[0]
    return Piece(
        (utterance.id,),
        None if label == UNKNOWN_SPEAKER else label,
        utterance.speaker,
        utterance.start,
        utterance.end,
        utterance.text,
        utterance.words,
        kept_text=True,
    )


def _run_pieces(
    run: Sequence[StoredUtterance], turns: Sequence[SpeakerTurn], options: AssignOptions, language: str
) -> list[Piece]:
    """Consecutive utterances whose words spell their text, labelled word by word over the whole run (so smoothing
    sees across their boundaries) and cut at speaker changes, long pauses and the boundaries the clerk made."""
    words = [word for utterance in run for word in utterance.words]
    if not words:
        return []
    owners = [index for index, utterance in enumerate(run) for _ in utterance.words]
    labels = smooth(words, word_speakers(words, turns, options), options.min_island)
    labels = snap_to_sentences(words, labels, options.max_sentence_edge)
    keys = [
        (None, run[owner].speaker) if label == UNKNOWN_SPEAKER else (label, None)
        for label, owner in zip(labels, owners, strict=True)
    ]
    groups: list[list[int]] = [[0]]
    for i in range(1, len(words)):
        crossing = owners[i] != owners[i - 1]
        if (
            keys[i] != keys[i - 1]
            or (crossing and (run[owners[i]].touched or run[owners[i - 1]].touched))
            or words[i].start - words[i - 1].end > options.max_pause
        ):
            groups.append([])
        groups[-1].append(i)
    pieces = []
    for group in groups:
        piece_words = tuple(words[i] for i in group)
        sources = tuple(dict.fromkeys(run[owners[i]].id for i in group))
        label = labels[group[0]]
        pieces.append(
            Piece(
                sources,
                None if label == UNKNOWN_SPEAKER else label,
                run[owners[group[0]]].speaker,
                piece_words[0].start,
                piece_words[-1].end,
                join_words(piece_words, language),
                piece_words,
            )
        )
    return [piece for piece in pieces if piece.text]


# ---------------------------------------------------------------- who the new speakers are


def overlaps(utterances: Sequence[StoredUtterance], turns: Sequence[SpeakerTurn]) -> dict[tuple[int, str], float]:
    """Seconds each stored speaker's utterances share with each new label's turns: {(speaker id, label): seconds}."""
    ordered = sorted(turns, key=lambda t: t.start)
    starts = [t.start for t in ordered]
    longest = max((t.end - t.start for t in ordered), default=0.0)
    shared: dict[tuple[int, str], float] = {}
    for utterance in utterances:
        lo = bisect.bisect_left(starts, utterance.start - longest)
        hi = bisect.bisect_left(starts, utterance.end)
        for turn in ordered[lo:hi]:
            seconds = min(turn.end, utterance.end) - max(turn.start, utterance.start)
            if seconds > 0:
                key = (utterance.speaker, turn.speaker)
                shared[key] = shared.get(key, 0.0) + seconds
    return shared


def match_speakers(
    utterances: Sequence[StoredUtterance], turns: Sequence[SpeakerTurn], named: Collection[int] = ()
) -> dict[str, int]:
    """Which stored speaker each new label takes over: {label: speaker id}. Named speakers (``named``) choose first,
    each the label that overlaps its utterances most; then the others. One label per speaker and one speaker per
    label; a label no stored speaker overlaps is left out (a new speaker)."""
    shared = overlaps(utterances, turns)
    order = sorted(shared.items(), key=lambda item: (item[0][0] not in named, -item[1], item[0]))
    taken: dict[str, int] = {}
    for (speaker, label), _seconds in order:
        if label not in taken and speaker not in taken.values():
            taken[label] = speaker
    return taken


def speaker_fixed(revisions: Sequence[tuple[str, int]]) -> bool:
    """Whether the clerk chose an utterance's speaker, from its history ``(action, speaker id)`` oldest first: the last
    revision that changed the speaker was a change of speaker or a revert by a person (not the first recognition, a
    split, or an earlier re-run)."""
    setter, previous = None, None
    for action, speaker in revisions:
        if previous is not None and speaker != previous:
            setter = action
        previous = speaker
    return setter in ("speaker", "revert")
