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
    # The layers (``minutes.pipeline.cleanup``): ``text`` is the 整文 layer once the cleanup stage ran; ``raw`` is
    # what was recognized (素起こし) and ``kebatori`` the text with fillers removed; "" means the same as ``text``.
    raw: str = ""
    kebatori: str = ""
    corrections: tuple[CorrectionRule, ...] = ()  # the accepted rules that changed this utterance's text


@dataclass(frozen=True)
class CorrectionRule:
    """An accepted correction (誤→正): ``wrong`` is written ``right`` in the 整文 layer. With a ``context``, only
    there: an occurrence of ``wrong`` inside ``context`` when ``context`` contains it (長栄 in 長栄バス), else an
    utterance whose text contains ``context``. ``id`` is the stored rule's, when it has one."""

    wrong: str
    right: str
    context: str = ""
    id: int | None = None


@dataclass(frozen=True)
class Term:
    """One word to favour in recognition (用語): how it is written (表記), its reading (読み, かな) and its kind (種別).
    ``source`` says where it came from, which is also its priority: ``meeting`` (this meeting's agenda, materials
    and people, and the clerk's extra words), ``dictionary`` (the assembly's 用語辞書), ``builtin`` (the shipped
    議会用語)."""

    text: str
    reading: str = ""
    kind: str = "その他"
    source: str = "dictionary"


@dataclass(frozen=True)
class Caption:
    """One event of live transcription: the text heard between ``start`` and ``end`` (seconds of the stream).

    Provisional text (``final`` False) may still change: the next event replaces it. Committed text (``final`` True)
    is kept and never repeated; it replaces the provisional text it covers. ``heard`` is how many seconds of audio
    had arrived when the event was made (its latency is ``heard - end``, less for the processing itself)."""

    start: float
    end: float
    text: str
    final: bool
    heard: float = 0.0
