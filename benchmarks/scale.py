"""Benchmark the distributed job queue: throughput with 1 and 2 worker processes, queue overhead per job, and a
paper estimate of the machines a joint installation needs.

    python benchmarks/scale.py [--audio FILE] [--seconds 30] [--jobs 4] [--workers 1 2] [--json OUT]

Starts a throwaway Redis (``redis-server``, as the tests do) and, for each worker count, a fresh data folder and
SQLite database, queues ``--jobs`` transcriptions of the first ``--seconds`` of ``--audio`` and runs that many real
``minutes worker`` processes (``--concurrency 1`` each, the CPU threads split between them) until every job
succeeded. Reports jobs per hour and recorded hours per hour; the queue's overhead per job (with an idle, warm worker:
from queued to started, and the job's time beyond its pipeline stages); and, from the measured cost per recorded
second, the worker machines that 600 recorded hours (30 assemblies) need to finish within 24 hours.

    python benchmarks/scale.py --editors 50 [--editor-seconds 60] [--utterances 2000] [--pool-size N] [--pause S]

measures many clerks at once on PostgreSQL instead: a throwaway server (as the tests start one), two organisations
with a meeting of ``--utterances`` utterances each, and ``--editors`` clerks (half in each organisation) who each
read an utterance and save an edit of it, then search their organisation's meetings, over and over for
``--editor-seconds``, through the services, in threads of one process with one engine (as the app serves its
sessions), with ``--pool-size`` database connections (MINUTES_DATABASE_POOL_SIZE) and a pause of ``--pause`` seconds
on average after each round (default none: a load test). Prints the median and p95 latency of edits and of searches,
their counts, the edit conflicts, the actions that found no free connection within 30 s, and the process's CPU time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from minutes import offline  # noqa: E402
from minutes.store.engine import DEFAULT_POOL_SIZE  # noqa: E402

offline.enforce()


def _clip(audio: Path, seconds: float, folder: Path) -> Path:
    from tests.media import read_wav, write_wav

    samples, rate = read_wav(audio)
    return write_wav(folder / "clip.wav", samples[: int(seconds * rate)], rate)


def _runtime(data: Path, model: Path, queue_url: str):
    from minutes.services import Runtime
    from minutes.settings import Settings

    return Runtime(
        Settings(
            data_dir=data,
            database_url=f"sqlite:///{data / 'minutes.db'}",
            whisper_model=model,
            device="cpu",
            queue_url=queue_url,
        )
    )


def _jobs(runtime, ids: list[int]):
    from sqlmodel import Session

    from minutes import store

    with Session(runtime.engine) as session:
        return [store.get_job(session, job_id=j) for j in ids]


def _wait(runtime, ids: list[int], timeout: float) -> list:
    deadline = time.monotonic() + timeout
    while True:
        jobs = _jobs(runtime, ids)
        if all(job.status in ("succeeded", "failed", "cancelled") for job in jobs):
            return jobs
        if time.monotonic() > deadline:
            raise TimeoutError([(job.id, job.status, job.stage) for job in jobs])
        time.sleep(0.5)


def _workers(count: int, env: dict, log_folder: Path) -> list[subprocess.Popen]:
    cores = os.cpu_count() or 1
    env = env | {"MINUTES_CPU_THREADS": str(max(1, cores // count))}
    return [
        subprocess.Popen(
            [sys.executable, "-m", "minutes.cli", "worker", "--queues", "cpu"],
            env=env,
            stdout=(log_folder / f"worker-{n}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for n in range(count)
    ]


def measure(workers: int, args, clip: Path, model: Path, queue_url: str) -> dict:
    """``args.jobs`` jobs on ``workers`` worker processes; then the overhead of single jobs on a warm, idle worker."""
    data = Path(tempfile.mkdtemp(prefix=f"minutes-scale-{workers}-"))
    runtime = _runtime(data / "data", model, queue_url)
    meetings = runtime.operator("benchmark").meetings
    options = meetings.pipeline_options(identify=False)
    env = os.environ | {
        "MINUTES_DATA_DIR": str(runtime.settings.data_dir),
        "MINUTES_DATABASE_URL": runtime.settings.database_url,
        "MINUTES_WHISPER_MODEL": str(model),
        "MINUTES_DEVICE": "cpu",
        "MINUTES_QUEUE_URL": queue_url,
    }
    processes = _workers(workers, env, data)
    try:
        started = time.monotonic()  # includes each worker's start and model load, as a fresh batch would
        ids = [meetings.create(clip, title=f"会議 {n}", options=options)[1] for n in range(args.jobs)]
        jobs = _wait(runtime, ids, args.timeout)
        elapsed = time.monotonic() - started
        single = []
        for n in range(args.overhead_jobs):  # one at a time, on warm idle workers
            [job] = _wait(runtime, [meetings.create(clip, title=f"単独 {n}", options=options)[1]], args.timeout)
            single.append(job)
        cpu_seconds = sum(_cpu_seconds(process.pid) for process in processes)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
    failed = [job.id for job in [*jobs, *single] if job.status != "succeeded"]
    if failed:
        raise RuntimeError(f"jobs failed: {failed} (logs in {data})")
    audio_hours = args.jobs * args.seconds / 3600
    audio_seconds = (args.jobs + args.overhead_jobs) * args.seconds
    return {
        "workers": workers,
        "jobs": args.jobs,
        "elapsed_s": round(elapsed, 1),
        "jobs_per_hour": round(args.jobs / elapsed * 3600, 1),
        "recorded_hours_per_hour": round(audio_hours / (elapsed / 3600), 3),
        "pipeline_s_per_job": round(statistics.mean(sum(j.stage_seconds.values()) for j in jobs), 2),
        "worker_cpu_s_per_recorded_s": round(cpu_seconds / audio_seconds, 2),  # model loads included
        "warm_pipeline_s_per_job": round(statistics.mean(sum(j.stage_seconds.values()) for j in single), 2),
        "queued_to_started_s": round(statistics.mean((j.started_at - j.created_at).total_seconds() for j in single), 2),
        "beyond_stages_s": round(
            statistics.mean(
                (j.finished_at - j.started_at).total_seconds() - sum(j.stage_seconds.values()) for j in single
            ),
            2,
        ),
    }


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far: what the work cost, whatever else shares the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _beyond_stages(job) -> float:
    """A job's time that is not in its pipeline stages: reading the job, storing the result, the heartbeats."""
    return (job.finished_at - job.started_at).total_seconds() - sum(job.stage_seconds.values())


def estimate(rows: list[dict], hours: float, within: float, cores: int, gpu_rtf: float | None) -> dict:
    """Machines for ``hours`` recorded hours within ``within`` hours. Two ways: from the CPU time the workers used per
    recorded second (independent of what else ran; assumes the cores are as fast and fully given to the workers), and
    from the throughput seen on this machine (which counts only the share of the cores the workers got)."""
    needed_rate = hours / within  # recorded hours per hour
    cpu_cost = min(row["worker_cpu_s_per_recorded_s"] for row in rows)
    best = max(rows, key=lambda row: row["recorded_hours_per_hour"])
    per_core = best["recorded_hours_per_hour"] / (os.cpu_count() or 1)
    result = {
        "recorded_hours": hours,
        "within_hours": within,
        "cpu_s_per_recorded_s": cpu_cost,
        "cpu_cores_by_cpu_time": round(needed_rate * cpu_cost, 1),
        f"machines_of_{cores}_cores_by_cpu_time": round(needed_rate * cpu_cost / cores, 1),
        "recorded_hours_per_core_hour_seen": round(per_core, 4),
        f"machines_of_{cores}_cores_by_throughput_seen": round(needed_rate / (per_core * cores), 1),
    }
    if gpu_rtf:
        result["gpu_rtf_assumed"] = gpu_rtf
        result["gpus"] = round(needed_rate * gpu_rtf, 1)
    return result


WORDS = ("補正予算", "町営バス", "質問", "説明", "町")  # long words (the index) and 1–2 characters (a scan)


def _clerks(runtime, count: int, utterances: int) -> list[tuple[object, list[int]]]:
    """``count`` clerks, half in the default organisation and half in a second one, each with the utterance ids of
    their organisation's meeting."""
    from minutes.services import DEFAULT_ORG, Role
    from tests.seeding import seed_transcript

    password = "correct horse battery"
    root = runtime.operator("root", DEFAULT_ORG)
    east = root.organizations.add("東町議会", admin="東管理", password=password).id
    east_admin = runtime.services(runtime.sign_in.authenticate("東管理", password))
    clerks = []
    for org, creator in ((DEFAULT_ORG, root), (east, east_admin)):
        text = "番目の発言です。町営バスの補正予算について質問と説明をします。"
        lines = [(f"S{i % 6}", f"{i}{text}") for i in range(utterances)]
        meeting = seed_transcript(runtime.engine, title=f"本会議 {org}", lines=lines, org_id=org)
        pages = -(-utterances // 50)
        ids = [line.id for page in range(pages) for line in creator.transcript.page(meeting, page).lines]
        for n in range(count // 2 + (count % 2 if org == DEFAULT_ORG else 0)):
            clerks.append((creator.accounts.create_user(f"書記{org}-{n}", Role.CLERK, password), ids))
    return clerks


def _clerk_loop(runtime, user, ids: list[int], until: float, seed: int, pause: float) -> dict:
    """One clerk's work until ``until``: read an utterance and save an edit of it, then search, again and again,
    ``pause`` seconds (on average) after each (reading, typing)."""
    import random

    import sqlalchemy.exc

    from minutes.errors import EditConflict
    from minutes.services.search import SearchQuery

    rng = random.Random(seed)
    times: dict[str, list[float]] = {"edit": [], "search": []}
    conflicts = 0
    timeouts = 0
    while time.monotonic() < until:
        started = time.perf_counter()
        try:
            services = runtime.services(user)  # as each rerun of a page does
            line = services.transcript.line(rng.choice(ids))
            try:
                services.transcript.edit_text(line.id, text=line.text + "。", expected_version=line.version)
            except EditConflict:
                conflicts += 1  # two clerks saved the same utterance: the second is told, as in the editor
            times["edit"].append(time.perf_counter() - started)
            started = time.perf_counter()
            runtime.services(user).search.search(SearchQuery(rng.choice(WORDS)))
            times["search"].append(time.perf_counter() - started)
            time.sleep(rng.uniform(0, 2 * pause))
        except sqlalchemy.exc.TimeoutError:
            timeouts += 1  # no connection free in the engine's pool within its timeout: the clerk sees an error
    return {"times": times, "conflicts": conflicts, "timeouts": timeouts}


def measure_editors(count: int, seconds: float, utterances: int, pool_size: int, pause: float) -> dict:
    """``count`` clerks editing and searching at once on a throwaway PostgreSQL server (see the module's text)."""
    from concurrent.futures import ThreadPoolExecutor

    from minutes.services import Runtime
    from minutes.settings import Settings
    from tests.postgres_server import Server

    server = Server()
    try:
        url = server.url(server.create_database())
        folder = Path(tempfile.mkdtemp(prefix="minutes-scale-"))
        runtime = Runtime(Settings(data_dir=folder, database_url=url, database_pool_size=pool_size))
        clerks = _clerks(runtime, count, utterances)
        until = time.monotonic() + seconds
        cpu = time.process_time()
        with ThreadPoolExecutor(max_workers=count) as pool:
            results = list(pool.map(lambda n: _clerk_loop(runtime, *clerks[n], until, n, pause), range(count)))
        cpu = time.process_time() - cpu
        runtime.engine.dispose()
    finally:
        server.stop()
    report = {
        "clerks": count, "seconds": seconds, "utterances_per_meeting": utterances, "database": "PostgreSQL",
        "pool_size": pool_size, "pause_s": pause, "app_cpu_s": round(cpu, 1),
    }  # fmt: skip
    for kind in ("edit", "search"):
        values = sorted(t for r in results for t in r["times"][kind])
        report[kind] = {
            "count": len(values),
            "median_s": round(statistics.median(values), 3) if values else None,
            "p95_s": round(values[int(0.95 * (len(values) - 1))], 3) if values else None,
        }
    report["edit_conflicts"] = sum(r["conflicts"] for r in results)
    report["pool_timeouts"] = sum(r["timeouts"] for r in results)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio", type=Path, default=ROOT / "samples_audio" / "council_ja.wav")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds of --audio per job (default 30)")
    parser.add_argument("--jobs", type=int, default=4, help="jobs per run (default 4)")
    parser.add_argument("--overhead-jobs", type=int, default=2, help="single jobs on a warm worker (default 2)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker process counts (default 1 2)")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--hours", type=float, default=600.0, help="recorded hours to transcribe (default 600)")
    parser.add_argument("--within", type=float, default=24.0, help="within this many hours (default 24)")
    parser.add_argument("--cores", type=int, default=16, help="cores of one CPU worker machine (default 16)")
    parser.add_argument(
        "--gpu-rtf", type=float, help="a GPU's real-time factor for the whole pipeline (measured elsewhere)"
    )
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--editors", type=int, help="measure this many clerks at once on PostgreSQL instead")
    parser.add_argument("--editor-seconds", type=float, default=60.0, help="how long they work (default 60)")
    parser.add_argument("--utterances", type=int, default=2000, help="utterances per meeting (default 2000)")
    parser.add_argument("--pause", type=float, default=0.0, help="seconds a clerk pauses after each action (mean)")
    parser.add_argument(
        "--pool-size", type=int, default=DEFAULT_POOL_SIZE,
        help=f"database connections of the one process (MINUTES_DATABASE_POOL_SIZE, default {DEFAULT_POOL_SIZE})",
    )  # fmt: skip
    args = parser.parse_args()
    if args.editors:
        report = {
            "machine": {"cpus": os.cpu_count()},
            "editors": measure_editors(args.editors, args.editor_seconds, args.utterances, args.pool_size, args.pause),
        }
        report["machine"]["load_average_at_end"] = os.getloadavg()
        print(json.dumps(report, ensure_ascii=False, indent=2))
        if args.json:
            args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2))
        return 0

    from minutes.pipeline.models import assemble_base
    from tests import redis_server

    folder = Path(tempfile.mkdtemp(prefix="minutes-scale-"))
    clip = _clip(args.audio, args.seconds, folder)
    model = Path(os.environ["MINUTES_WHISPER_MODEL"]) if os.environ.get("MINUTES_WHISPER_MODEL") else None
    model = model or assemble_base(folder / "models")
    server = redis_server.Server()
    try:
        rows = [measure(count, args, clip, model, server.url(n)) for n, count in enumerate(args.workers)]
    finally:
        server.stop()
    report = {
        "machine": {"cpus": os.cpu_count(), "load_average_at_end": os.getloadavg()},
        "runs": rows,
        "estimate": estimate(rows, args.hours, args.within, args.cores, args.gpu_rtf),
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
