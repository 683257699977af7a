"""Records passed between pipeline stages.

Small frozen dataclasses, one module, no loose dicts: every stage takes and returns these. Times are in seconds from
the start of the recording.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Word:
    """One recognised word (for Japanese, usually a few characters) with its timing and probability."""

    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True)
class Segment:
    """One faster-whisper segment, with its words."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 1.0


@dataclass(frozen=True)
class SpeakerTurn:
    """A stretch of time during which one diarization label is speaking. Turns of different speakers may overlap."""

    start: float
    end: float
    speaker: str


@dataclass(frozen=True)
class Utterance:
    """One 発言: contiguous words of one speaker."""

    speaker: str
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = field(default_factory=tuple)
