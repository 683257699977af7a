"""``minutes worker``, ``minutes jobs``, ``minutes wait`` and ``minutes transcribe --submit``: running and watching
jobs, on the distributed queue (MINUTES_QUEUE_URL) or the job table polled by the embedded worker."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time

from tqdm import tqdm

from minutes import clock
from minutes.errors import InputError
from minutes.progress import STAGE_LABELS_JA
from minutes.services import Runtime, Services
from minutes.services.queue import parse_queues, run_celery_worker, run_loop_worker
from minutes.services.views import STATUS_LABELS_JA

# The exit status of `minutes wait` (and of `minutes transcribe` without --submit) by the job's outcome.
EXIT_CODES = {"succeeded": 0, "failed": 1, "cancelled": 130}


def run_worker(args, runtime: Runtime) -> int:
    """A Celery worker on the queues when MINUTES_QUEUE_URL is set; otherwise threads polling the job table."""
    settings = runtime.base_settings
    if settings.queue_url:
        queues = parse_queues(args.queues or "cpu")
        print(
            f"ワーカーを開始しました（キュー {','.join(queues)}、同時 {args.concurrency} 件、"
            f"データ: {settings.data_dir}）。",
            file=sys.stderr,
        )
        code = run_celery_worker(runtime, queues, args.concurrency)
        print("ワーカーを停止しました。", file=sys.stderr)
        return code
    if args.queues:
        raise InputError(
            "--queues は MINUTES_QUEUE_URL（ジョブキュー）を設定したときだけ使えます。", "--queues without a queue"
        )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    print(
        f"ワーカーを開始しました（同時 {args.concurrency} 件、データ: {settings.data_dir}）。",
        file=sys.stderr,
    )
    run_loop_worker(runtime, args.concurrency, stop)
    print("ワーカーを停止しました。", file=sys.stderr)
    return 0


def run_jobs(args, services: Services) -> int:
    rows = services.operations.jobs(limit=args.limit)
    if args.json:
        print(json.dumps([row.to_dict() for row in rows], ensure_ascii=False))
        return 0
    if not rows:
        print("処理はありません。")
        return 0
    print("ID\t状態\t段階\t進捗\tキュー\tワーカー\t試行\t登録\t会議")
    for row in rows:
        stage = STAGE_LABELS_JA.get(row.stage, row.stage)
        print(
            f"{row.id}\t{STATUS_LABELS_JA.get(row.status, row.status)}\t{stage}\t{row.progress:.0f}%\t"
            f"{row.queue or '-'}\t{row.worker_id or '-'}\t{row.attempts}\t"
            f"{clock.local(row.created_at)}\t{row.title}（{row.meeting_id}）"
        )
    return 0


def wait_for(services: Services, job_id: int, quiet: bool, poll: float = 1.0) -> str:
    """Follow the job's progress in the database until it ends (whichever process runs it); returns its status."""
    bar = tqdm(
        total=100,
        file=sys.stderr,
        disable=quiet,
        unit="%",
        bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}",
    )
    try:
        while True:
            job = services.meetings.job(job_id)
            bar.set_description_str(STAGE_LABELS_JA.get(job.stage, job.stage))
            bar.update(max(0.0, job.progress - bar.n))
            if job.status in EXIT_CODES:
                return job.status
            time.sleep(poll)
    finally:
        bar.close()


def run_wait(args, services: Services) -> int:
    status = wait_for(services, args.job_id, args.quiet)
    job = services.meetings.job(args.job_id)
    if status == "succeeded":
        print(f"ジョブ {job.id} が完了しました（会議 ID {job.meeting_id}: `minutes show {job.meeting_id}`）。")
    elif status == "cancelled":
        print(f"ジョブ {job.id} は取り消されました。", file=sys.stderr)
    else:
        retry = f"`minutes retry {job.id} --queue-only` でやり直せます"
        print(f"エラー: {job.error_message}（ジョブ {job.id}。{retry}）", file=sys.stderr)
    return EXIT_CODES[status]
