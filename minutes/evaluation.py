"""Accuracy measures used by the tests and the benchmarks: character error rate and diarization error rate."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from minutes.pipeline.guards import normalize
from minutes.records import SpeakerTurn


def character_error_rate(reference: str, hypothesis: str) -> float:
    """CER after NFKC and removing punctuation and spaces (the usual normalization for Japanese)."""
    import jiwer

    reference, hypothesis = normalize(reference), normalize(hypothesis)
    if not reference:
        return 0.0 if not hypothesis else 1.0
    return float(jiwer.cer(reference, hypothesis))


def read_rttm(path: Path) -> list[SpeakerTurn]:
    turns = []
    for line in Path(path).read_text().splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[0] == "SPEAKER":
            start, duration = float(fields[3]), float(fields[4])
            turns.append(SpeakerTurn(start, start + duration, fields[7]))
    return turns


def _annotation(turns: Iterable[SpeakerTurn]):
    from pyannote.core import Annotation, Segment

    annotation = Annotation()
    for index, turn in enumerate(turns):
        annotation[Segment(turn.start, turn.end), index] = turn.speaker
    return annotation


def diarization_error_rate(
    reference: Iterable[SpeakerTurn], hypothesis: Iterable[SpeakerTurn], *, collar: float = 0.0
) -> float:
    """DER (pyannote.metrics) over the whole reference extent; ``collar`` seconds around reference boundaries are
    forgiven (0.25 s is the usual convention when references come from hand or TTS timing)."""
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=collar, skip_overlap=False)
    return float(metric(_annotation(reference), _annotation(hypothesis)))
