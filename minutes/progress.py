"""One progress signal across all stages: a stage name and one rising percentage.

Everything that reports or listens to progress is a :class:`ProgressCallback`, ``(stage, done, total, message="")``.
Each stage reports ``done`` out of ``total`` in its own units; ``OverallProgress`` maps that into the stage's share of
0–100 (whisperX's approach), never lets the percentage go down, and passes it on to its sink as
``sink(stage, percent, 100.0, message)``.
"""

from __future__ import annotations

from typing import Protocol

# Share of the whole run each stage takes, from measured times on 2 CPU cores (base int8, CAM++ diarization).
# "identify" (the voices matched to the roster's profiles) takes a few percent, and nothing when no profile exists.
STAGE_WEIGHTS: dict[str, float] = {"decode": 5.0, "transcribe": 40.0, "diarize": 50.0, "assign": 3.0, "identify": 2.0}
STAGE_LABELS_JA: dict[str, str] = {
    "queued": "処理待ち",
    "decode": "音声の読み込み",
    "transcribe": "文字起こし",
    "diarize": "話者の識別",
    "assign": "発言の組み立て",
    "identify": "発言者の特定",
    "save": "保存",
    "done": "完了",
}


class ProgressCallback(Protocol):
    """Progress of one stage: ``done`` out of ``total`` units (seconds of audio, chunks, percent ...)."""

    def __call__(self, stage: str, done: float, total: float, message: str = "") -> None: ...


def no_progress(stage: str, done: float, total: float, message: str = "") -> None:
    """Default progress callback: does nothing."""


class OverallProgress:
    """A ProgressCallback that calls ``sink(stage, percent, 100.0, message)`` with a monotonic overall percentage."""

    def __init__(self, sink: ProgressCallback, weights: dict[str, float] | None = None) -> None:
        self._sink = sink
        weights = weights or STAGE_WEIGHTS
        scale = 100.0 / sum(weights.values())
        self._offsets: dict[str, float] = {}
        self._spans: dict[str, float] = {}
        offset = 0.0
        for stage, weight in weights.items():
            self._offsets[stage] = offset
            self._spans[stage] = weight * scale
            offset += weight * scale
        self.percent = 0.0

    def __call__(self, stage: str, done: float, total: float, message: str = "") -> None:
        fraction = 1.0 if total <= 0 else min(max(done / total, 0.0), 1.0)
        percent = self._offsets.get(stage, self.percent) + self._spans.get(stage, 0.0) * fraction
        self.percent = max(self.percent, min(percent, 100.0))
        self._sink(stage, self.percent, 100.0, message)
