"""Speaker diarization: who spoke when, from a 16 kHz mono waveform, fully offline.

pyannote.audio 4's ``SpeakerDiarization`` with local weights only (see ``diarize.weights``): segmentation-3.0 on 10 s
windows, CAM++ speaker embeddings (``diarize.campplus``) per window and local speaker, agglomerative clustering.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from diarize.weights import DiarizationWeights, locate_weights
from minutes import offline
from minutes.errors import InputError, ModelError
from minutes.progress import ProgressCallback, no_progress
from minutes.records import SAMPLE_RATE, SpeakerTurn

if TYPE_CHECKING:
    from pyannote.audio.pipelines import SpeakerDiarization

STAGE = "diarize"

# Share of diarization time per step, measured on 2 CPU cores at the default step (60 min: segmentation 33 s,
# embeddings 165 s, clustering and reconstruction 4 s). Used only to turn pyannote's per-step progress into one rising
# progress stream.
_SEGMENTATION_SHARE = 0.16
_EMBEDDING_SHARE = 0.81

# Shorter input cannot hold one CAM++ frame; pyannote pads a single 10 s window anyway, so this is just "no speech".
_MIN_SAMPLES = SAMPLE_RATE // 10


@dataclass(frozen=True)
class DiarizationOptions:
    """How to diarize. Defaults were calibrated on AMI meeting excerpts and pyannote's sample (see the README).

    num_speakers: exact number of speakers when known (overrides min/max). None: estimated.
    min_speakers, max_speakers: bounds on the estimated number of speakers. None: unbounded.
    segmentation_step: step of the 10 s segmentation window, as a fraction of it. Embeddings are computed once per
        window, so time scales with 1 / step and clustering memory with its square. pyannote's default is 0.1 (1 s);
        0.3 (3 s) is 3x faster with the same DER on the calibration set.
    clustering_threshold: distance threshold of centroid-linkage agglomerative clustering on unit-normalized CAM++
        embeddings (Euclidean; 0.58 is cosine similarity 0.83). Lower splits speakers more readily (more speakers
        found), higher merges them. Sensitive: 0.56 split pyannote's English sample in three, 0.60 merged two of the
        three Japanese voices of samples_audio/council_ja. Pass the speaker count when it is known.
    min_cluster_size: clusters with fewer embeddings than this are merged into the nearest large cluster. A speaker
        turn of L seconds yields about (L + 6) / (10 * segmentation_step) embeddings, so 6 at step 0.3 is about one
        12 s turn. pyannote lowers it to 10 % of the embeddings for short recordings.
    embedding_batch_size: (window, local speaker) pairs per CAM++ batch; a multiple of 3 keeps each window's three
        local speakers in one batch so the network runs once per window.
    segmentation_batch_size: windows per segmentation batch.
    device: "cpu" or "cuda".
    exclusive: return pyannote's exclusive diarization (at most one speaker at a time: overlapping speech is given to
        the most likely speaker). Default False: regular turns, which may overlap, as ``SpeakerTurn`` allows.
    """

    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    segmentation_step: float = 0.3
    clustering_threshold: float = 0.58
    min_cluster_size: int = 6
    embedding_batch_size: int = 48
    segmentation_batch_size: int = 32
    device: str = "cpu"
    exclusive: bool = False

    def __post_init__(self) -> None:
        for name in ("num_speakers", "min_speakers", "max_speakers"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise InputError("話者数は 1 以上を指定してください。", f"{name}={value}")
        if self.min_speakers and self.max_speakers and self.min_speakers > self.max_speakers:
            raise InputError(
                "最小話者数が最大話者数を超えています。", f"min_speakers={self.min_speakers} > {self.max_speakers}"
            )
        if not 0.0 < self.segmentation_step <= 1.0:
            raise InputError("segmentation_step は 0 より大きく 1 以下です。", f"{self.segmentation_step=}")
        if not 0.0 < self.clustering_threshold < 2.0:
            raise InputError("clustering_threshold は 0 と 2 の間です。", f"{self.clustering_threshold=}")
        if self.min_cluster_size < 1 or self.embedding_batch_size < 1 or self.segmentation_batch_size < 1:
            raise InputError("min_cluster_size とバッチサイズは 1 以上です。", repr(self))
        if self.device not in ("cpu", "cuda") and not self.device.startswith("cuda:"):
            raise InputError("device は cpu か cuda を指定してください。", f"device={self.device!r}")

    def pipeline_key(self) -> DiarizationOptions:
        """The options a loaded pipeline is built for: all but the per-call speaker counts and ``exclusive``."""
        return replace(self, num_speakers=None, min_speakers=None, max_speakers=None, exclusive=False)


def load_pipeline(
    options: DiarizationOptions = DiarizationOptions(), weights: DiarizationWeights | None = None
) -> SpeakerDiarization:
    """Build pyannote's SpeakerDiarization from local weights. Slow (seconds): callers may keep and reuse it.

    The pipeline is read-only during :func:`diarize`, so one instance may serve several threads in turn (torch
    itself parallelises each call). Raises ModelError when weights are missing or cannot be loaded.
    """
    offline.enforce()  # before pyannote / huggingface_hub are imported: no hub access, no telemetry
    weights = weights or locate_weights()

    import torch
    from pyannote.audio import Model
    from pyannote.audio.core.plda import PLDA
    from pyannote.audio.pipelines import SpeakerDiarization

    from diarize import clustering
    from diarize.campplus import CAMPPlusEmbedding

    clustering.install()  # centroid linkage in O(n) memory, so 3-hour meetings cluster in the memory of 1-hour ones
    device = torch.device(options.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ModelError(
            "GPU（CUDA）が使えません。device を cpu にしてください。", "torch.cuda.is_available() is False"
        )
    try:
        # A file path: from_pretrained only goes to the hub for names that are not local files.
        segmentation = Model.from_pretrained(str(weights.segmentation), strict=False)
        embedding = CAMPPlusEmbedding.from_checkpoint(weights.embedding)
    except Exception as error:  # a damaged file surfaces as pickle, zip or key errors
        raise ModelError(
            "話者分離モデルを読み込めません。ファイルが壊れている可能性があります（minutes models で確認できます）。",
            f"{type(error).__name__}: {error}",
        ) from error
    if segmentation is None:
        raise ModelError("話者分離モデルを読み込めません。", f"no checkpoint at {weights.segmentation}")

    pipeline = SpeakerDiarization(
        segmentation=segmentation,
        segmentation_step=options.segmentation_step,
        embedding=embedding,
        # pyannote 4 loads a PLDA even for agglomerative clustering, which never uses it: an empty instance will do
        # (no PLDA exists for CAM++; VBx clustering would need one).
        plda=PLDA.__new__(PLDA),
        clustering="AgglomerativeClustering",
        embedding_batch_size=options.embedding_batch_size,
        segmentation_batch_size=options.segmentation_batch_size,
    )
    pipeline.instantiate(
        {
            "segmentation": {"min_duration_off": 0.0},
            "clustering": {
                "method": "centroid",
                "min_cluster_size": options.min_cluster_size,
                "threshold": options.clustering_threshold,
            },
        }
    )
    pipeline.to(device)
    pipeline.minutes_options = options.pipeline_key()
    return pipeline


class _Progress:
    """Maps pyannote's hook(step, artifact, completed=, total=) to one rising progress("diarize", done, total)."""

    def __init__(self, progress: ProgressCallback, total: float) -> None:
        self.progress = progress
        self.total = total
        self.done = 0.0
        self.started = False

    def report(self, fraction: float, message: str = "") -> None:
        done = float(min(self.total, max(self.done, fraction * self.total)))
        if done > self.done or not self.started:
            self.started = True
            self.done = done
            self.progress(STAGE, done, self.total, message)

    def __call__(
        self, step: str, artifact: Any, file: Any = None, completed: int | None = None, total: int | None = None
    ) -> None:
        # pyannote's segmentation reports completed = batch end, which may exceed total.
        share = min(1.0, completed / total) if completed is not None and total else 1.0
        if step == "segmentation":
            self.report(_SEGMENTATION_SHARE * share, "発話区間を検出しています")
        elif step == "embeddings":
            self.report(_SEGMENTATION_SHARE + _EMBEDDING_SHARE * share, "話者の特徴を抽出しています")
        elif step == "discrete_diarization":
            self.report(_SEGMENTATION_SHARE + _EMBEDDING_SHARE + 0.5 * (1 - _SEGMENTATION_SHARE - _EMBEDDING_SHARE))


def _to_turns(annotation: Any) -> list[SpeakerTurn]:
    tracks = sorted(
        ((segment.start, segment.end, label) for segment, _, label in annotation.itertracks(yield_label=True)),
        key=lambda track: (track[0], track[1]),
    )
    names: dict[Any, str] = {}
    for _, _, label in tracks:
        names.setdefault(label, f"SPEAKER_{len(names):02d}")
    return [SpeakerTurn(start=float(start), end=float(end), speaker=names[label]) for start, end, label in tracks]


def diarize(
    waveform: np.ndarray,
    options: DiarizationOptions = DiarizationOptions(),
    progress: ProgressCallback = no_progress,
    pipeline: SpeakerDiarization | None = None,
) -> list[SpeakerTurn]:
    """Who spoke when.

    waveform: (samples,) float32 mono at 16 kHz, e.g. an np.memmap (it is wrapped, not copied).
    pipeline: from :func:`load_pipeline` with the same options (speaker counts and ``exclusive`` may differ);
        built here when None.
    progress: called as progress("diarize", done, total) with done rising from 0 to total (seconds of audio).
    Returns turns sorted by start, labelled SPEAKER_00, SPEAKER_01, ... in order of first appearance; [] when nobody
    speaks.
    """
    waveform = np.asarray(waveform) if not isinstance(waveform, np.ndarray) else waveform
    if waveform.ndim != 1:
        raise InputError(
            "音声データの形式が正しくありません（モノラルが必要です）。", f"waveform shape {waveform.shape}"
        )
    if waveform.dtype != np.float32:
        waveform = waveform.astype(np.float32)
    duration = len(waveform) / SAMPLE_RATE
    tracker = _Progress(progress, duration)
    tracker.report(0.0, "話者分離を開始します")
    if len(waveform) < _MIN_SAMPLES:
        tracker.report(1.0)
        return []

    if pipeline is None:
        pipeline = load_pipeline(options)
    elif getattr(pipeline, "minutes_options", options.pipeline_key()) != options.pipeline_key():
        raise ValueError(
            f"pipeline was loaded with {pipeline.minutes_options}, not {options.pipeline_key()}: "
            "call load_pipeline(options) with the options used here."
        )

    import torch

    with warnings.catch_warnings():
        # A read-only np.memmap gives a read-only tensor; pyannote only reads it.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        samples = torch.from_numpy(waveform)
    with warnings.catch_warnings():
        # pyannote warns when fewer speakers than min_speakers were found; the result is still usable.
        warnings.filterwarnings("ignore", message=r"\s*The detected number of speakers")
        output = pipeline(
            {"waveform": samples[None], "sample_rate": SAMPLE_RATE, "uri": "minutes"},
            num_speakers=options.num_speakers,
            min_speakers=options.min_speakers,
            max_speakers=options.max_speakers,
            hook=tracker,
        )
    annotation = output.exclusive_speaker_diarization if options.exclusive else output.speaker_diarization
    turns = _to_turns(annotation)
    tracker.report(1.0, f"話者分離が完了しました（{len({turn.speaker for turn in turns})} 人）")
    return turns
