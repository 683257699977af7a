"""The whole run for one recording: decode → transcribe → diarize → assign → identify → cleanup (the 整文 layer),
with one progress signal."""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from diarize import DiarizationOptions, diarize
from minutes.errors import InputError
from minutes.pipeline.assign import UNKNOWN_SPEAKER, AssignOptions, build_utterances
from minutes.pipeline.cleanup import CleanupOptions, clean_utterances
from minutes.pipeline.decode import decode_to_file
from minutes.pipeline.identify import Identification, IdentifyOptions, Match, Profile, identify
from minutes.pipeline.memory import limit_heap_fragmentation, release_free_memory
from minutes.pipeline.relisten import relisten, untranscribed_spans
from minutes.pipeline.transcribe import TranscriptionOptions, load_model, transcribe
from minutes.pipeline.voices import VoiceStage
from minutes.progress import ProgressCallback, no_progress
from minutes.records import Utterance


@dataclass(frozen=True)
class PipelineOptions:
    transcription: TranscriptionOptions = field(default_factory=TranscriptionOptions)
    diarization: DiarizationOptions = field(default_factory=DiarizationOptions)
    assign: AssignOptions = field(default_factory=AssignOptions)
    identify: IdentifyOptions = field(default_factory=IdentifyOptions)
    separate_calls: bool = True  # the chair's short calls as utterances of their own (Japanese drafts)
    cleanup: CleanupOptions = field(default_factory=CleanupOptions)  # 素起こし → ケバ取り → 整文
    relisten: bool = True  # short speech at speaker changes that Whisper left out is transcribed once more

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> PipelineOptions:
        return cls(
            transcription=TranscriptionOptions.from_dict(data.get("transcription", {})),
            diarization=DiarizationOptions(**data.get("diarization", {})),
            assign=AssignOptions(**data.get("assign", {})),
            identify=IdentifyOptions(**data.get("identify", {})),
            separate_calls=data.get("separate_calls", True),
            cleanup=CleanupOptions.from_dict(data.get("cleanup", {})),
            relisten=data.get("relisten", True),
        )


@dataclass(frozen=True)
class PipelineResult:
    language: str
    duration: float
    speakers: tuple[str, ...]  # labels in order of first utterance
    utterances: tuple[Utterance, ...]
    stage_seconds: dict[str, float]
    people: dict[str, Match] = field(default_factory=dict)  # label → who it is, when voice profiles were given


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
    profiles: Sequence[Profile] = (),
    chairs: frozenset[str] = frozenset(),
) -> PipelineResult:
    """Process one recording. Work files live in ``work_dir`` and are removed afterwards; ``source`` is untouched.

    profiles: the voice profiles of the people who may speak (the roster's, or the meeting's attendees'); each
    speaker is matched against them (``PipelineResult.people``). chairs: those of them who chair this meeting, so
    that their short calls are set apart as their own utterances."""
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
            if not transcript.segments and options.transcription.terms:
                # the terms' prompt can make Whisper give up on speech far from them (another language, say):
                # nothing heard with terms is tried once more without them before the job says so
                plain = replace(options.transcription, terms=())
                transcript = transcribe(model, samples, plain, progress)
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
        segments = transcript.segments
        if options.relisten and (spans := untranscribed_spans(segments, turns)):
            with _timed(timings, "relisten"):
                progress("assign", 0, 1, "短い発言を聞き直しています")
                model = load_model(model_path, options.transcription)
                segments = relisten(model, samples, segments, spans, options.transcription, transcript.language)
                del model
                gc.collect()
        with _timed(timings, "assign"):
            progress("assign", 0, 1)
            utterances = build_utterances(segments, turns, options.assign, transcript.language)
            utterances = _name_unknown(utterances)
            progress("assign", 1, 1)
        with _timed(timings, "identify"):
            calls = options.separate_calls and transcript.language == "ja"
            stage = VoiceStage(samples, options.identify, options.diarization.device, progress)
            utterances, people = stage.run(utterances, profiles, chairs, separate_calls=calls)
        with _timed(timings, "cleanup"):
            utterances = clean_utterances(utterances, options.cleanup, language=transcript.language)
        speakers = tuple(dict.fromkeys(u.speaker for u in utterances))
        people = {label: people.get(label, Match(None, 0.0)) for label in speakers} if profiles else {}
        return PipelineResult(transcript.language, decoded.duration, speakers, tuple(utterances), timings, people)
    finally:
        decoded_path.unlink(missing_ok=True)


def identify_recording(
    source: Path,
    work_dir: Path,
    utterances: Sequence[Utterance],
    profiles: Sequence[Profile],
    options: PipelineOptions = PipelineOptions(),
    progress: ProgressCallback = no_progress,
) -> Identification:
    """Identification again on a stored meeting (after profiles changed): the recording decoded anew, its stored
    utterances' voices matched to ``profiles``. The utterances' labels may change (speakers split or merged)."""
    limit_heap_fragmentation()
    work_dir.mkdir(parents=True, exist_ok=True)
    decoded_path = work_dir / "audio-16k.f32"
    try:
        progress("decode", 0, 1)
        samples = decode_to_file(source, decoded_path).samples()
        progress("decode", 1, 1)
        stage = VoiceStage(samples, options.identify, options.diarization.device, progress)
        return identify(utterances, stage.voices(utterances), profiles, options.identify)
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
