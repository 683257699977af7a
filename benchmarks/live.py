"""Live transcription: latency, keeping up, and the committed text's accuracy.

    python benchmarks/live.py [CLIP.wav] [--reference CLIP.json|CLIP.txt] [--no-realtime] [--batch] [--threads 2]
                              [--builtin-terms] [--json]

The clip (default: the sample council meeting, ``samples_audio/council_ja.wav``) is streamed through
``minutes.pipeline.streaming`` with the bundled Whisper base (int8, language ja), at real-time pace by default, on
``--threads`` CPU threads. Measured:

- latency of committed text: for each committed caption, when it came (seconds since the stream started, which is
  also the audio's clock at real-time pace) less the end of its speech; median and p95;
- latency of the end of each reference utterance (with a ``.json`` reference: the turns' ``end``): when the first
  committed caption reaching it came, less that end; median and p95;
- latency of provisional text, the same way;
- keeping up: CPU seconds per audio second (the real-time factor of the processing), Whisper passes, provisional
  passes skipped because the input was ahead, and how long after the input ended the last caption came;
- CER (NFKC, punctuation and spaces dropped) of the committed text against the reference and, with ``--batch``,
  of the batch transcription of the same clip (``minutes.pipeline.transcribe``, beam 5) against the reference and
  against the live text.

Targets (issue 13): median ≤ 3 s, p95 ≤ 6 s, committed-text CER within 0.05 of the batch CER. The machine the
figures come from may be shared: say so with them.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

import av  # noqa: E402

from minutes.evaluation import character_error_rate  # noqa: E402
from minutes.pipeline.decode import decode_to_file  # noqa: E402
from minutes.pipeline.live_input import open_input  # noqa: E402
from minutes.pipeline.models import assemble_base  # noqa: E402
from minutes.pipeline.streaming import StreamingOptions, stream_captions  # noqa: E402
from minutes.pipeline.transcribe import TranscriptionOptions, load_model, transcribe  # noqa: E402
from minutes.pipeline.vocabulary import builtin_terms  # noqa: E402

SAMPLE = ROOT / "samples_audio" / "council_ja.wav"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _quantiles(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _reference(path: Path) -> tuple[str, list[float]]:
    """(reference text, ends of its utterances in seconds; empty for a plain text reference)."""
    if path.suffix == ".json":
        turns = json.loads(path.read_text(encoding="utf-8"))
        return "".join(t["text"] for t in turns), [t["end"] for t in turns]
    return path.read_text(encoding="utf-8"), []


def run(args) -> dict:
    options = TranscriptionOptions(cpu_threads=args.threads, terms=builtin_terms() if args.builtin_terms else ())
    model = load_model(assemble_base(Path(args.models)), options)
    streaming = StreamingOptions(transcription=options)
    events: list[tuple[float, object]] = []
    chunks = open_input(str(args.clip), realtime=args.realtime)
    cpu, started = _cpu(), time.monotonic()
    for caption in stream_captions(model, chunks, streaming, live=args.realtime):
        events.append((time.monotonic() - started, caption))
    wall, cpu = time.monotonic() - started, _cpu() - cpu
    committed = [(t, c) for t, c in events if c.final]
    provisional = [(t, c) for t, c in events if not c.final]
    duration = max((c.end for _, c in events), default=0.0)
    audio = _duration(args.clip)
    text = "".join(c.text for _, c in committed)
    reference, ends = _reference(args.reference)
    clock = (lambda t, c: t) if args.realtime else (lambda t, c: c.heard)  # no pacing: the audio's own clock
    turn_latency = []
    for end in ends:
        reached = [clock(t, c) for t, c in committed if c.end >= end - 0.3]
        if reached:
            turn_latency.append(reached[0] - end)
    result = {
        "clip": str(args.clip),
        "audio_seconds": round(audio, 1),
        "realtime": args.realtime,
        "threads": args.threads,
        "committed_latency": _quantiles([clock(t, c) - c.end for t, c in committed]),
        "utterance_end_latency": _quantiles(turn_latency),
        "provisional_latency": _quantiles([clock(t, c) - c.end for t, c in provisional]),
        "cpu_per_audio_second": round(cpu / audio, 3),
        "wall_seconds": round(wall, 1),
        "after_input_end": round(wall - audio, 1) if args.realtime else None,
        "committed": len(committed),
        "provisional": len(provisional),
        "live_cer": round(character_error_rate(reference, text), 4),
        "last_caption_end": round(duration, 1),
        "live_text": text,
    }
    if args.batch:
        result |= _batch(model, args, reference, text)
    return result


def _duration(clip: Path) -> float:
    with av.open(str(clip)) as container:
        return float(container.duration or 0) / 1_000_000


def _batch(model, args, reference: str, live_text: str) -> dict:
    """The batch transcription stage on the same clip (beam 5, VAD), as ``minutes transcribe`` runs it."""
    options = TranscriptionOptions(cpu_threads=args.threads, terms=builtin_terms() if args.builtin_terms else ())
    decoded = decode_to_file(args.clip, Path(args.models) / "live-benchmark.f32")
    result = transcribe(model, decoded.samples(), options)
    batch = "".join(s.text for s in result.segments)
    decoded.path.unlink(missing_ok=True)
    return {
        "batch_cer": round(character_error_rate(reference, batch), 4),
        "live_vs_batch_cer": round(character_error_rate(batch, live_text), 4),
        "batch_text": batch,
    }


def _table(result: dict) -> str:
    def seconds(pair):
        return " / ".join("–" if v is None else f"{v:.2f} s" for v in pair)

    rows = [
        ("audio", f"{result['audio_seconds']} s, {'real-time pace' if result['realtime'] else 'as fast as decoded'}"),
        ("committed text latency, median / p95", seconds(result["committed_latency"])),
        ("end of utterance → committed, median / p95", seconds(result["utterance_end_latency"])),
        ("provisional text latency, median / p95", seconds(result["provisional_latency"])),
        ("CPU seconds per audio second", f"{result['cpu_per_audio_second']} ({result['threads']} threads)"),
        ("wall time", f"{result['wall_seconds']} s"),
        (
            "last caption after the input ended",
            "–" if result["after_input_end"] is None else f"{result['after_input_end']} s",
        ),
        ("captions committed / provisional", f"{result['committed']} / {result['provisional']}"),
        ("CER committed live text vs reference", f"{result['live_cer']:.3f}"),
    ]
    if "batch_cer" in result:
        rows += [
            ("CER batch vs reference", f"{result['batch_cer']:.3f}"),
            ("CER live vs batch", f"{result['live_vs_batch_cer']:.3f}"),
        ]
    return "\n".join(["| measure | value |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clip", type=Path, nargs="?", default=SAMPLE)
    parser.add_argument("--reference", type=Path, help="(default: the clip's .json, else its .txt)")
    parser.add_argument("--no-realtime", dest="realtime", action="store_false", help="read as fast as it decodes")
    parser.add_argument("--batch", action="store_true", help="also transcribe the clip in batch and compare")
    parser.add_argument("--builtin-terms", action="store_true", help="favour the built-in 議会用語, as a job does")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", default="/tmp/minutes-benchmark-models")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.reference is None:
        json_reference = args.clip.with_suffix(".json")
        args.reference = json_reference if json_reference.is_file() else args.clip.with_suffix(".txt")
    result = run(args)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    print(_table(result))
    print(f"\nlive:  {result['live_text']}")
    if "batch_text" in result:
        print(f"batch: {result['batch_text']}")


if __name__ == "__main__":
    main()
