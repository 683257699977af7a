"""Voice embeddings of stretches of speech, with the diarization's own embedding model (CAM++), for voice profiles and
speaker identification.

A voice is kept as an embedding (192 numbers, unit length), never as audio. :func:`embed_spans` turns each span of a
waveform into one embedding: spans longer than ``piece_seconds`` are cut into pieces whose embeddings are averaged
(weighted by length), spans shorter than ``min_seconds`` get None (too little speech to say whose voice it is).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from diarize.weights import DiarizationWeights, locate_weights
from minutes import offline
from minutes.errors import ModelError
from minutes.progress import ProgressCallback, no_progress
from minutes.records import SAMPLE_RATE

if TYPE_CHECKING:
    from diarize.campplus import CAMPPlusEmbedding

# The embedding model a voice sample was made with: samples of another model are never compared with these.
EMBEDDING_MODEL = "campplus_cn_en_common"
STAGE = "identify"


@dataclass(frozen=True)
class Voice:
    """One embedding (unit length, float32) and the seconds of speech it was computed from."""

    embedding: np.ndarray
    seconds: float


def load_embedding_model(weights: DiarizationWeights | None = None, device: str = "cpu") -> CAMPPlusEmbedding:
    """The CAM++ speaker-embedding network from local weights (ModelError when missing or damaged)."""
    offline.enforce()
    weights = weights or locate_weights()
    from diarize.campplus import CAMPPlusEmbedding

    try:
        return CAMPPlusEmbedding.from_checkpoint(weights.embedding, device=device)
    except Exception as error:  # a damaged file surfaces as pickle, zip or key errors
        raise ModelError(
            "話者の特徴を計算するモデルを読み込めません（minutes models で確認できます）。",
            f"{type(error).__name__}: {error}",
        ) from error


def unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype(np.float32) if norm > 0 else vector.astype(np.float32)


def average(voices: Sequence[Voice]) -> Voice | None:
    """The length-weighted mean direction of several voices (None for none)."""
    voices = [v for v in voices if v is not None and v.seconds > 0]
    if not voices:
        return None
    total = sum(v.seconds for v in voices)
    mean = sum(v.embedding.astype(np.float64) * v.seconds for v in voices) / total
    return Voice(unit(np.asarray(mean)), total)


def _pieces(start: int, end: int, piece: int) -> list[tuple[int, int]]:
    """[start, end) cut into about equal pieces no longer than ``piece`` samples."""
    count = max(1, -(-(end - start) // piece))
    bounds = np.linspace(start, end, count + 1).astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


def embed_spans(
    model: CAMPPlusEmbedding,
    waveform: np.ndarray,
    spans: Sequence[tuple[float, float]],
    *,
    min_seconds: float = 1.0,
    piece_seconds: float = 10.0,
    progress: ProgressCallback = no_progress,
) -> list[Voice | None]:
    """One Voice per (start, end) span of ``waveform`` (16 kHz mono float32), None for spans under ``min_seconds``."""
    import torch

    piece = int(piece_seconds * SAMPLE_RATE)
    total = len(spans)
    voices: list[Voice | None] = []
    progress(STAGE, 0, max(total, 1), "声の特徴を計算しています")
    with torch.inference_mode():
        for number, (start, end) in enumerate(spans, 1):
            first = max(0, round(start * SAMPLE_RATE))
            last = min(len(waveform), round(end * SAMPLE_RATE))
            if (last - first) < min_seconds * SAMPLE_RATE:
                voices.append(None)
                continue
            parts = []
            for a, b in _pieces(first, last, piece):
                chunk = torch.from_numpy(np.array(waveform[a:b], dtype=np.float32))[None, None]  # a copy: writable
                vector = model(chunk)[0].numpy()
                parts.append(Voice(unit(vector), (b - a) / SAMPLE_RATE))
            voices.append(average(parts))
            progress(STAGE, number, total, "声の特徴を計算しています")
    return voices


def to_bytes(voice: Voice) -> bytes:
    return np.asarray(voice.embedding, dtype="<f4").tobytes()


def from_bytes(data: bytes, seconds: float) -> Voice:
    return Voice(unit(np.frombuffer(data, dtype="<f4").copy()), seconds)
