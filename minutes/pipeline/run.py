"""The whole run for one recording: decode → transcribe → diarize → assign, with one progress signal."""

from __future__ import annotations

import gc
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from diarize import DiarizationOptions, diarize
from minutes.errors import InputError
from minutes.pipeline.assign import UNKNOWN_SPEAKER, AssignOptions, build_utterances
from minutes.pipeline.decode import decode_to_file
from minutes.pipeline.memory import limit_heap_fragmentation, release_free_memory
from minutes.pipeline.transcribe import TranscriptionOptions, load_model, transcribe
from minutes.progress import ProgressCallback, no_progress
from minutes.records import Utterance


@dataclass(frozen=True)
class PipelineOptions:
    transcription: TranscriptionOptions = field(default_factory=TranscriptionOptions)
    diarization: DiarizationOptions = field(default_factory=DiarizationOptions)
    assign: AssignOptions = field(default_factory=AssignOptions)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> PipelineOptions:
        return cls(
            transcription=TranscriptionOptions.from_dict(data.get("transcription", {})),
            diarization=DiarizationOptions(**data.get("diarization", {})),
            assign=AssignOptions(**data.get("assign", {})),
        )


@dataclass(frozen=True)
class PipelineResult:
    language: str
    duration: float
    speakers: tuple[str, ...]  # labels in order of first utterance
    utterances: tuple[Utterance, ...]
    stage_seconds: dict[str, float]


@contextmanager
def _timed(timings: dict[str, float], stage: str):
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = round(timings.get(stage, 0.0) + time.perf_counter() - started, 3)


def run_pipeline(
    source: Path,
    work_dir: Path,
    model_path: Path,
    options: PipelineOptions = PipelineOptions(),
    progress: ProgressCallback = no_progress,
    max_duration: float | None = None,
) -> PipelineResult:
    """Process one recording. Work files live in ``work_dir`` and are removed afterwards; ``source`` is untouched."""
    limit_heap_fragmentation()
    timings: dict[str, float] = {}
    work_dir.mkdir(parents=True, exist_ok=True)
    decoded_path = work_dir / "audio-16k.f32"
    try:
        with _timed(timings, "decode"):
            progress("decode", 0, 1)
            decoded = decode_to_file(source, decoded_path, max_duration=max_duration)
            samples = decoded.samples()
            progress("decode", 1, 1)
        with _timed(timings, "transcribe"):
            model = load_model(model_path, options.transcription)
            transcript = transcribe(model, samples, options.transcription, progress)
            # Free Whisper before diarizing: with both loaded, diarization ran 30–60 % slower on the CPU.
            del model
            gc.collect()
            release_free_memory()
        if not transcript.segments:
            raise InputError(
                "録音から発言を聞き取れませんでした（音声が小さい・音楽や雑音のみ・無音の可能性）。"
                "録音の内容と音量を確認してください。",
                "no speech recognised",
            )
        with _timed(timings, "diarize"):
            turns = diarize(samples, options.diarization, progress)
        with _timed(timings, "assign"):
            progress("assign", 0, 1)
            utterances = build_utterances(transcript.segments, turns, options.assign, transcript.language)
            utterances = _name_unknown(utterances)
            progress("assign", 1, 1)
        speakers = tuple(dict.fromkeys(u.speaker for u in utterances))
        return PipelineResult(transcript.language, decoded.duration, speakers, tuple(utterances), timings)
    finally:
        decoded_path.unlink(missing_ok=True)


def _name_unknown(utterances: list[Utterance]) -> list[Utterance]:
    """Words no diarization turn explained get a real label, so every utterance has a speaker to name."""
    if not any(u.speaker == UNKNOWN_SPEAKER for u in utterances):
        return utterances
    used = {u.speaker for u in utterances}
    index = 0
    while f"SPEAKER_{index:02d}" in used:
        index += 1
    label = f"SPEAKER_{index:02d}"
    return [replace(u, speaker=label) if u.speaker == UNKNOWN_SPEAKER else u for u in utterances]
