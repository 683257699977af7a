"""``minutes live INPUT``: live transcription of a file, a stream URL or an audio device, then 散会 → a stored meeting.

stdout carries one JSON object per line, for each caption: ``{"t": seconds since the start (wall clock), "start": s,
"end": s, "text": "...", "final": true|false}`` (provisional text, final false, is replaced by the next caption;
committed text, final true, is kept), and at the end ``{"meeting_id": N, "done": true}``. Messages go to stderr.

The input ends, or Ctrl+C (SIGINT) or SIGTERM is 散会: what was heard is committed, the recording (written to
``<data>/live/`` as it arrives) becomes an ordinary meeting with the committed captions kept for comparison, and
its batch job (the same as ``minutes transcribe``) runs here, or in the worker with ``--queue-only``.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from minutes.errors import InputError
from minutes.pipeline.live_input import Recorder, describe_input, open_input, recorded
from minutes.pipeline.streaming import StreamingOptions, stream_captions
from minutes.pipeline.transcribe import load_model
from minutes.records import Caption
from minutes.services import Runtime, Services


def run_live(args, runtime: Runtime, services: Services, run_job: Callable[[int], str]) -> int:
    """The ``live`` command; ``run_job(job_id)`` runs the batch job in this process and returns its status."""
    describe_input(args.input)  # a missing file or an unknown device kind fails before anything is loaded
    model_path = runtime.whisper_model_path(args.model.expanduser().resolve() if args.model else None)
    options = services.meetings.pipeline_options(language=args.language)
    streaming = StreamingOptions(transcription=options.transcription)
    model = load_model(model_path, options.transcription)
    started_at = datetime.now()
    path = runtime.settings.data_dir / "live" / f"{started_at:%Y%m%d-%H%M%S-%f}.wav"
    print(f"開会: {args.input}（録音: {path}）。Ctrl+C で散会します。", file=sys.stderr)
    committed = _stream(args, model, streaming, path)
    if not _has_audio(path):
        path.unlink(missing_ok=True)
        raise InputError("音声を受け取れませんでした。入力を確かめてください。", f"no audio from {args.input}")
    print(f"散会: {len(committed)} 件の確定字幕。録音を会議として保存します。", file=sys.stderr)
    meeting_id, job_id = services.meetings.create(
        path,
        title=args.title or f"ライブ {started_at:%Y-%m-%d %H:%M}",
        original_name=path.name,
        held_at=started_at.replace(second=0, microsecond=0),
        options=options,
        model=args.model,
        live_captions=committed,
    )
    path.unlink(missing_ok=True)  # stored under recordings/ now
    status = "queued"
    if args.queue_only:
        print(f"ジョブ {job_id} をキューに入れました（ワーカーが処理します）。", file=sys.stderr)
    else:
        status = run_job(job_id)
    _emit({"meeting_id": meeting_id, "done": True})
    if status not in ("queued", "succeeded"):
        job = services.meetings.job(job_id)
        print(
            f"エラー: {job.error_message}（ジョブ {job_id}。`minutes retry {job_id}` でやり直せます）", file=sys.stderr
        )
        return 1
    return 0


def _stream(args, model, streaming: StreamingOptions, path: Path) -> list[Caption]:
    """Print the captions of ``args.input`` as they come, recording it to ``path``; returns the committed ones."""
    _, device = describe_input(args.input)
    live = bool(args.realtime or device or "://" in args.input)
    committed: list[Caption] = []
    started = time.monotonic()
    with _stop_on_signals() as stop, Recorder(path) as recorder:
        chunks = recorded(open_input(args.input, realtime=args.realtime), recorder)
        try:
            for caption in stream_captions(model, chunks, streaming, live=live, stop=stop):
                if caption.final:
                    committed.append(caption)
                _emit(
                    {
                        "t": round(time.monotonic() - started, 3),
                        "start": caption.start,
                        "end": caption.end,
                        "text": caption.text,
                        "final": caption.final,
                    }
                )
        except InputError:
            if recorder.samples == 0:
                recorder.close()
                path.unlink(missing_ok=True)
                raise
            # the stream broke off after audio came: 散会 with what was heard (the recording is kept)
            print("入力が途切れたため散会します。", file=sys.stderr)
    return committed


def _has_audio(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 44


def _emit(payload: dict) -> None:
    print(json.dumps(payload, ensure_ascii=False), flush=True)


@contextmanager
def _stop_on_signals():
    """An event set by Ctrl+C or SIGTERM (散会) while the stream runs; the usual handlers come back after it."""
    stop = threading.Event()
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    for signum in previous:
        signal.signal(signum, lambda *_: stop.set())
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
