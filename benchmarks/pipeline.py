"""Benchmark the pipeline: real-time factor per stage and end to end, peak memory, CER and DER.

    python benchmarks/pipeline.py FILE_OR_FOLDER [...] [--speakers N] [--loop-minutes M] [--language ja] [--compare]

For each audio file (a folder is searched for .wav/.flac/.mp3/.m4a), a reference transcript is read from the same
name with .txt and reference speaker turns from .rttm (or a folder-level *.rttm keyed by file id). ``--loop-minutes``
repeats the file into a long recording first, to check that memory stays flat. Each file runs in its own process so
peak memory is per file. Targets (2 CPU cores, base int8): end-to-end RTF <= 0.25, peak RSS <= 2.5 GB on 10 minutes.
``cpu_rtf`` is the process's CPU seconds (user + system) per audio second: on a shared machine it varies less than
the wall clock.

``--compare`` runs, for each file and one right after the other, the product and the simple alternative a user might
assemble from the same weights (``simple_alternative``: faster-whisper's batched pipeline, batch 8, and pyannote's
SpeakerDiarization at its default step of 1 s with CAM++ on torch, words given the speaker of the largest overlap),
and prints both rows and the ratio of their real-time factors.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from diarize.weights import locate_weights
from minutes import offline

offline.enforce()

AUDIO = {".wav", ".flac", ".mp3", ".m4a", ".ogg", ".opus", ".mp4"}


def _anon_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    return 0


def measure_one(path: Path, options: dict) -> dict:
    """Run in a child process: the pipeline on one file; returns the figures."""
    import numpy as np

    from minutes.evaluation import character_error_rate, diarization_error_rate, read_rttm
    from minutes.pipeline import run_pipeline
    from minutes.services import Runtime
    from minutes.services.meetings import pipeline_options
    from minutes.settings import Settings

    peak_anon = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.05):
            peak_anon[0] = max(peak_anon[0], _anon_kb())

    threading.Thread(target=sample, daemon=True).start()
    data = Path(tempfile.mkdtemp(prefix="minutes-bench-"))
    settings = Settings.from_env()
    runtime = Runtime(
        Settings(
            **{
                **settings.__dict__,
                "data_dir": data,
                "database_url": f"sqlite:///{data / 'b.db'}",
                "whisper_model": settings.whisper_model or _assembled(settings),
            }
        )
    )
    source = path
    if options["loop_minutes"]:
        source = _looped(path, options["loop_minutes"] * 60, data / "long.wav")
    chosen = pipeline_options(runtime.settings, language=options["language"], num_speakers=options["speakers"])
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    if options.get("simple"):
        result = simple_alternative(source, data / "work", runtime.whisper_model_path(), chosen)
    else:
        result = run_pipeline(source, data / "work", runtime.whisper_model_path(), chosen)
    elapsed, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    stop.set()
    figures = {
        "file": path.name,
        "pipeline": "simple" if options.get("simple") else "product",
        "duration_s": round(result.duration, 1),
        "rtf": {stage: round(seconds / result.duration, 3) for stage, seconds in result.stage_seconds.items()},
        "rtf_end_to_end": round(elapsed / result.duration, 3),
        "cpu_rtf": round(cpu / result.duration, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "peak_anon_rss_mb": round(peak_anon[0] / 1024),
        "speakers_found": len(result.speakers),
        "utterances": len(result.utterances),
    }
    if not options["loop_minutes"]:
        reference_text = options.get("reference_text")
        if reference_text:
            hypothesis = "".join(u.text for u in result.utterances)
            figures["cer"] = round(character_error_rate(Path(reference_text).read_text(), hypothesis), 3)
        reference_rttm = options.get("reference_rttm")
        if reference_rttm:
            from minutes.records import SpeakerTurn

            turns = [t for t in read_rttm(Path(reference_rttm)) if t.speaker]
            file_id = options.get("file_id")
            if file_id:
                turns = _rttm_for(Path(reference_rttm), file_id)
            hypothesis_turns = [SpeakerTurn(u.start, u.end, u.speaker) for u in result.utterances]
            figures["der_words"] = round(diarization_error_rate(turns, hypothesis_turns, collar=0.25), 3)
            figures["reference_speakers"] = len({t.speaker for t in turns})
    del np
    return figures


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def simple_alternative(source: Path, work_dir: Path, model_path: Path, chosen):
    """What a user might assemble with the same weights: faster-whisper's batched pipeline (batch 8, VAD, beam 5,
    word timestamps) and pyannote's SpeakerDiarization with its default segmentation step (0.1 of the 10 s window)
    and batch sizes, CAM++ on torch and the product's clustering threshold (pyannote has no default for CAM++),
    each word given the speaker whose turn overlaps it most. Returns what ``run_pipeline`` returns."""
    import numpy as np
    import torch
    from faster_whisper import BatchedInferencePipeline, WhisperModel
    from pyannote.audio import Model
    from pyannote.audio.core.plda import PLDA
    from pyannote.audio.pipelines import SpeakerDiarization

    from diarize.campplus import CAMPPlusEmbedding
    from minutes.pipeline.assign import build_utterances
    from minutes.pipeline.decode import decode_to_file
    from minutes.pipeline.run import PipelineResult
    from minutes.pipeline.transcribe import segment_record
    from minutes.records import SAMPLE_RATE, SpeakerTurn

    work_dir.mkdir(parents=True, exist_ok=True)
    timings = {}
    started = time.perf_counter()
    samples = decode_to_file(source, work_dir / "audio-16k.f32").samples()
    timings["decode"] = time.perf_counter() - started
    started = time.perf_counter()
    options = chosen.transcription
    model = WhisperModel(str(model_path), device=options.device, compute_type=options.compute_type)
    pieces, info = BatchedInferencePipeline(model).transcribe(
        np.ascontiguousarray(samples), language=options.language, batch_size=8, word_timestamps=True
    )
    segments = [segment_record(piece, 0.0) for piece in pieces]
    del model
    timings["transcribe"] = time.perf_counter() - started
    started = time.perf_counter()
    weights = locate_weights()
    embedding = CAMPPlusEmbedding.from_checkpoint(weights.embedding)
    embedding.onnx_key = None  # torch, as pyannote runs any embedding model
    pipeline = SpeakerDiarization(
        segmentation=Model.from_pretrained(str(weights.segmentation), strict=False),
        embedding=embedding,
        plda=PLDA.__new__(PLDA),
        clustering="AgglomerativeClustering",
    )
    threshold = chosen.diarization.clustering_threshold
    pipeline.instantiate(
        {
            "segmentation": {"min_duration_off": 0.0},
            "clustering": {"method": "centroid", "min_cluster_size": 12, "threshold": threshold},
        }
    )
    waveform = torch.from_numpy(np.array(samples, dtype=np.float32))[None]
    output = pipeline({"waveform": waveform, "sample_rate": SAMPLE_RATE}, num_speakers=chosen.diarization.num_speakers)
    turns = [
        SpeakerTurn(float(segment.start), float(segment.end), str(label))
        for segment, _, label in output.speaker_diarization.itertracks(yield_label=True)
    ]
    timings["diarize"] = time.perf_counter() - started
    started = time.perf_counter()
    utterances = build_utterances(segments, turns, chosen.assign, info.language)
    timings["assign"] = time.perf_counter() - started
    speakers = tuple(dict.fromkeys(u.speaker for u in utterances))
    duration = len(samples) / SAMPLE_RATE
    return PipelineResult(info.language, duration, speakers, tuple(utterances), timings)


def _rttm_for(path: Path, file_id: str):
    from minutes.records import SpeakerTurn

    turns = []
    for line in path.read_text().splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[0] == "SPEAKER" and fields[1] == file_id:
            start, duration = float(fields[3]), float(fields[4])
            turns.append(SpeakerTurn(start, start + duration, fields[7]))
    return turns


def _assembled(settings):
    from minutes.pipeline.models import assemble_base

    return assemble_base(settings.models_dir)


def _looped(path: Path, seconds: float, destination: Path) -> Path:
    import wave

    import numpy as np

    from minutes.pipeline.decode import decode_to_file
    from minutes.records import SAMPLE_RATE

    decoded = decode_to_file(path, destination.with_suffix(".f32"))
    clip = (np.asarray(decoded.samples()) * 32767).astype("<i2")
    gap = np.zeros(SAMPLE_RATE, dtype="<i2")
    with wave.open(str(destination), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        written = 0
        while written < seconds * SAMPLE_RATE:  # streamed, so the benchmark itself stays small
            out.writeframes(clip.tobytes() + gap.tobytes())
            written += clip.size + gap.size
    destination.with_suffix(".f32").unlink()
    return destination


def _files(target: Path) -> list[tuple[Path, dict]]:
    if target.is_file():
        return [(target, _references(target))]
    files = sorted(p for p in target.rglob("*") if p.suffix.lower() in AUDIO)
    return [(p, _references(p)) for p in files]


def _references(path: Path) -> dict:
    refs = {}
    if path.with_suffix(".txt").is_file():
        refs["reference_text"] = str(path.with_suffix(".txt"))
    if path.with_suffix(".rttm").is_file():
        refs["reference_rttm"] = str(path.with_suffix(".rttm"))
    else:
        for rttm in path.parent.glob("*.rttm"):
            if f" {path.stem} " in rttm.read_text():
                refs.update(reference_rttm=str(rttm), file_id=path.stem)
                break
    return refs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="+", type=Path)
    parser.add_argument("--speakers", type=int)
    parser.add_argument("--language", default="ja")
    parser.add_argument("--loop-minutes", type=float, default=0)
    parser.add_argument("--compare", action="store_true", help="the product and the simple alternative, side by side")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        options = json.loads(args.child)
        print(json.dumps(measure_one(Path(options["path"]), options), ensure_ascii=False))
        return
    rows, simple_rows = [], []
    for target in args.targets:
        for path, refs in _files(target):
            options = {
                "path": str(path),
                "speakers": args.speakers,
                "language": args.language,
                "loop_minutes": args.loop_minutes,
                **refs,
            }
            row = _child(options)
            if row is None:
                continue
            rows.append(row)
            if args.compare and (simple := _child({**options, "simple": True})) is not None:
                simple_rows.append(simple)
                ratio = simple["rtf_end_to_end"] / max(row["rtf_end_to_end"], 1e-9)
                cpu_ratio = simple["cpu_rtf"] / max(row["cpu_rtf"], 1e-9)
                print(
                    json.dumps({"file": path.name, "simple/product rtf": round(ratio, 2), "cpu": round(cpu_ratio, 2)})
                )
    if args.compare and simple_rows:
        _print_table(rows, simple_rows)
    if len(rows) > 1:
        total = sum(r["duration_s"] for r in rows)

        def weighted(key: str) -> float:
            return sum(r[key] * r["duration_s"] for r in rows if key in r) / total

        print(
            json.dumps(
                {
                    "files": len(rows),
                    "audio_s": round(total, 1),
                    "rtf_end_to_end": round(weighted("rtf_end_to_end"), 3),
                    "cer_mean": round(
                        sum(r["cer"] for r in rows if "cer" in r) / max(1, sum("cer" in r for r in rows)), 3
                    ),
                    "der_mean": round(
                        sum(r["der_words"] for r in rows if "der_words" in r)
                        / max(1, sum("der_words" in r for r in rows)),
                        3,
                    ),
                    "peak_rss_mb_max": max(r["peak_rss_mb"] for r in rows),
                }
            )
        )


def _child(options: dict) -> dict | None:
    child = subprocess.run(
        [sys.executable, __file__, "x", "--child", json.dumps(options)], capture_output=True, text=True
    )
    if child.returncode != 0:
        print(f"{Path(options['path']).name}: failed\n{child.stderr[-2000:]}", file=sys.stderr)
        return None
    row = json.loads(child.stdout.strip().splitlines()[-1])
    print(json.dumps(row, ensure_ascii=False), flush=True)
    return row


def _print_table(rows: list[dict], simple_rows: list[dict]) -> None:
    """Product and simple alternative per file, as a Markdown table."""
    print("| file | pipeline | RTF | CPU s / audio s | peak RSS MB | CER | DER | speakers |")
    print("|---|---|---|---|---|---|---|---|")
    for product in rows:
        for row in [product, *(r for r in simple_rows if r["file"] == product["file"])]:
            print(
                f"| {row['file']} | {row['pipeline']} | {row['rtf_end_to_end']} | {row['cpu_rtf']} | "
                f"{row['peak_rss_mb']} | {row.get('cer', '')} | {row.get('der_words', '')} | {row['speakers_found']} |"
            )


if __name__ == "__main__":
    main()
