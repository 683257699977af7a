"""Several clerks in the editor at once, in real browsers against a real server (issue 16: five clerks made it slow).

    .venv/bin/python benchmarks/editor_sessions.py [--clerks 5] [--rounds 3] [--utterances 2000] [--during-job]

Starts the app as ./run.sh does (the app runs no jobs; with --during-job a transcription of a 10-minute recording
runs meanwhile in a niced `minutes worker`), seeds a 2,000-utterance meeting, and lets N headless Chromium pages
(niced, so the browsers' own drawing takes CPU only when the server leaves some) each open the editor, go to the next
page, open an utterance for editing (編集, where the editor has that step; clerk N takes the page's N-th utterance, as
clerks who share the work do), save an edit and preview a find and replace, several rounds. Each interaction is timed
from the click until the page shows its result and Streamlit is idle again. Each open is a new browser session, so it
starts on page 1 again. Prints median and p95 per interaction as the browsers saw them; targets from the issue:
median <= 1 s and p95 <= 2 s on 2 cores. Then the server's side (the app runs under a wrapper that logs each script
run: the whole page by name, or the fragments by key, with wall and CPU time), the CPU seconds the server and the
browsers used meanwhile, and the load average: on a shared machine the browsers' own drawing, niced, waits for
everything else, and their figures say more about the load than about the server. (AppTest cannot do this: it builds
and tears down Streamlit's global runtime on every run, so concurrent AppTests break each other.)
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "correct horse battery"
CHROMIUM = "/usr/bin/chromium"
SERVER = ("--server.address", "127.0.0.1", "--server.headless", "true")


def _serve(log: str, args: list[str]) -> None:
    """Run the app as ``streamlit run`` does, logging each script run's server time to ``log``: the wall time from
    the rerun request being taken up to the end of the script (queries, building the page, handing the deltas to
    the sending thread), the CPU time of that script thread, and what ran (the whole page by name, or the fragments
    by key)."""
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner
    from streamlit.web import cli

    original = ScriptRunner._run_script
    lock = threading.Lock()

    def timed_run(self, rerun_data) -> None:
        names = self._fragment_storage._target_key_by_id  # fragment id → its key (ours are all keyed)
        what = ",".join(sorted({names.get(i, "?") for i in rerun_data.fragment_id_queue}))
        what = what or f"page {rerun_data.page_name or '(first)'}"
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            original(self, rerun_data)
        finally:
            wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
            with lock, open(log, "a", encoding="utf-8") as out:
                out.write(f"{what}\t{wall:.4f}\t{cpu:.4f}\n")

    ScriptRunner._run_script = timed_run
    sys.argv = ["streamlit", "run", "streamlit_app.py", *args]
    cli.main()


class CpuMeter(threading.Thread):
    """CPU seconds used by the server and by everything else this benchmark started (the browsers and their
    drivers), read from /proc twice a second; a process that ended keeps the last figure seen."""

    def __init__(self, server_pid: int) -> None:
        super().__init__(daemon=True)
        self.server_pid, self.seen, self.stopped = server_pid, {}, threading.Event()

    def _sample(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        parents, cpu = {}, {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            parents[int(entry.name)] = int(fields[1])
            cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
        for pid, seconds in cpu.items():
            ancestor = pid
            while ancestor not in (0, 1, os.getpid()) and ancestor in parents:
                ancestor = parents[ancestor]
            if ancestor == os.getpid() and pid != os.getpid():
                self.seen[pid] = seconds

    def run(self) -> None:
        while not self.stopped.wait(0.5):
            self._sample()

    def stop(self) -> tuple[float, float]:
        """(server CPU seconds, browsers' CPU seconds) since the start."""
        self.stopped.set()
        self._sample()
        server = self.seen.get(self.server_pid, 0.0)
        return server, sum(self.seen.values()) - server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _prepare(data: Path, clerks: int, utterances: int, during_job: bool) -> int:
    from minutes.services import Runtime
    from tests.conftest import SAMPLES
    from tests.seeding import seed_meeting

    runtime = Runtime()
    meeting_id = seed_meeting(runtime.engine, utterances=utterances)
    accounts = runtime.operator("bench").accounts
    for n in range(clerks):
        accounts.create_user(f"clerk{n}", "書記", PASSWORD, must_change_password=False)
    if during_job:
        long = data / "long.wav"
        subprocess.run(
            [
                "ffmpeg",
                "-v",
                "error",
                "-stream_loop",
                "5",
                "-i",
                str(SAMPLES / "council_ja.wav"),
                "-c",
                "copy",
                str(long),
            ],
            check=True,
        )
        runtime.operator("bench").meetings.create(long, title="処理中の会議")
    runtime.engine.dispose()
    return meeting_id


def _idle(page) -> None:
    """Wait until Streamlit has finished the rerun (its running indicator gone)."""
    page.wait_for_timeout(50)
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=120_000)


# The clerks find what they click with CSS selectors, not by role or label: Playwright computes a role's or a label's
# accessible name over the whole page in the browser, and with 2,000 elements that polling was a share of the
# browsers' CPU that no clerk spends.
LINE = "[class*='st-key-line-']"
PAGE_NUMBER = "input[aria-label^='ページ（全']"


def _button(where, label: str):
    return where.locator(f"button:has-text('{label}')")


def _clerk(n: int, url: str, meeting_id: int, rounds: int, timings: dict, lock, failures: list) -> None:
    from playwright.sync_api import expect, sync_playwright
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    finished: list[float] = []  # when each script run's last message (script_finished) reached the browser

    def on_socket(socket) -> None:
        def received(payload) -> None:
            if isinstance(payload, bytes):
                message = ForwardMsg()
                message.ParseFromString(payload)
                if message.WhichOneof("type") == "script_finished":
                    finished.append(time.perf_counter())

        socket.on("framereceived", received)

    def timed(label: str, action, done) -> None:
        started = time.perf_counter()
        action()
        done()
        _idle(page)
        ended = time.perf_counter()
        served = [t for t in finished if started <= t <= ended]
        with lock:
            timings[label].append(ended - started)
            if served:
                timings[f"{label} (served)"].append(max(served) - started)

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="ja-JP").new_page()
            page.set_default_timeout(120_000)
            page.on("websocket", on_socket)
            page.goto(url)
            page.locator("input[aria-label='利用者名']").fill(f"clerk{n}")
            page.locator("input[aria-label='パスワード']").fill(PASSWORD)
            _button(page, "ログイン").click()
            _button(page, "ログアウト").wait_for()
            for _ in range(rounds):
                # a new browser session (a new tab, a reload): the page loads, then the editor is drawn
                timed(
                    "reload",
                    lambda: page.goto(f"{url}/editor?meeting={meeting_id}"),
                    lambda: page.locator(LINE).first.wait_for(),
                )
                number = page.locator(PAGE_NUMBER)
                wanted = str(int(number.input_value()) + 1)  # each reload is a new session, back on page 1
                timed(
                    "next page",
                    lambda: _button(page, "次 ▶").first.click(),
                    lambda number=number, wanted=wanted: expect(number).to_have_value(wanted, timeout=120_000),
                )
                # each clerk edits an utterance of their own (five saving the same one would rightly conflict)
                line = page.locator(LINE).nth(n)
                area = line.locator("textarea")
                edit = _button(line, "編集")
                if edit.count():  # the editor shows text, and the editing widgets of the line being edited
                    timed("edit", lambda edit=edit: edit.click(), lambda area=area: area.wait_for())
                timed(
                    "save",
                    lambda area=area: (area.fill(area.input_value() + "。"), area.press("Tab")),
                    lambda: page.locator("[data-testid='stToast']:has-text('保存しました')").first.wait_for(),
                )
                page.locator("summary:has-text('検索・置換')").first.click()
                page.locator("input[aria-label='検索する語']").fill("補正予算")
                timed(
                    "preview",
                    lambda: _button(page, "プレビュー").click(),
                    lambda: _button(page, "箇所をすべて置換").first.wait_for(),
                )
                # as a clerk opens it: from another page through the menu, in the same browser session
                page.locator("[data-testid='stSidebarNav'] a:has-text('会議一覧')").click()
                page.locator(LINE).first.wait_for(state="detached")
                _idle(page)
                timed(
                    "open",
                    lambda: page.locator("[data-testid='stSidebarNav'] a:has-text('発言の編集')").click(),
                    lambda: page.locator(LINE).first.wait_for(),
                )
            browser.close()
    except Exception as error:  # reported with the figures
        with lock:
            failures.append(f"clerk{n}: {type(error).__name__}: {str(error)[:300]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clerks", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--utterances", type=int, default=2000)
    parser.add_argument("--during-job", action="store_true")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="minutes-bench-")) / "data"
    os.environ.update(MINUTES_DATA_DIR=str(data), MINUTES_APP_WORKER="0", MINUTES_DEVICE="cpu")
    os.environ.pop("MINUTES_DATABASE_URL", None)
    meeting_id = _prepare(data.parent, args.clerks, args.utterances, args.during_job)
    port = _free_port()
    log = (data.parent / "app.log").open("wb")
    runs_log = data.parent / "runs.tsv"
    app = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(runs_log), "--server.port", str(port), *SERVER],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    worker = None
    if args.during_job:
        worker = subprocess.Popen(["nice", "-n", "10", sys.executable, "-m", "minutes.cli", "worker"], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        if worker is not None:
            time.sleep(20)  # the worker has loaded the model and is transcribing
        os.nice(10)  # the browsers started from here run below the server and the worker
        meter = CpuMeter(app.pid)
        meter._sample()
        before = dict(meter.seen)
        meter.start()
        labels = ("open", "reload", "next page", "edit", "save", "preview")
        timings: dict[str, list[float]] = {key: [] for label in labels for key in (label, f"{label} (served)")}
        lock, failures = threading.Lock(), []
        threads = [
            threading.Thread(target=_clerk, args=(n, url, meeting_id, args.rounds, timings, lock, failures))
            for n in range(args.clerks)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        server_cpu, browser_cpu = meter.stop()
        server_cpu -= before.get(app.pid, 0.0)
        if worker is not None:
            browser_cpu -= meter.seen.get(worker.pid, 0.0)
    finally:
        app.terminate()
        if worker is not None:  # a stopped worker finishes its job first: this one's transcription is not wanted
            worker.kill()
            worker.wait(timeout=30)
        app.wait(timeout=30)
    during = ", during a transcription" if args.during_job else ""
    print(f"{args.clerks} clerks at once, {args.rounds} rounds, {args.utterances} utterances{during}")
    ok = not failures
    for heading, served in (("as the browsers drew it", False), ("served: until the rerun's last message", True)):
        print(f"{heading} (from the click)")
        for label in labels:
            runs = sorted(timings[f"{label} (served)" if served else label])
            if not runs:
                print(f"  {label:<10} no runs")
                ok &= label == "edit"  # the editor before issue 16 item 6 had no 編集 step
                continue
            median, p95 = statistics.median(runs), runs[max(0, round(0.95 * len(runs)) - 1)]
            flag = "ok" if median <= 1.0 and p95 <= 2.0 else "SLOW"
            ok &= flag == "ok" or not served
            print(f"  {label:<10} n={len(runs):3d}  median {median * 1000:7.0f} ms   p95 {p95 * 1000:7.0f} ms   {flag}")
    for failure in failures:
        print("failed:", failure)
    interactions = sum(len(timings[label]) for label in labels)
    print(
        f"CPU seconds while the clerks worked: server {server_cpu:.1f}, browsers {browser_cpu:.1f} "
        f"({interactions} timed interactions, with the sign-ins)"
    )
    _server_times(runs_log)
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} (1, 5, 15 min); browsers niced by 10")
    return 0 if ok else 1


def _server_times(runs_log: Path) -> None:
    """The server's side of the same interactions: each script run, by what ran."""
    if not runs_log.exists():
        return
    kinds: dict[str, list[tuple[float, float]]] = {}
    for row in runs_log.read_text(encoding="utf-8").splitlines():
        what, wall, cpu = row.split("\t")
        kind = "line-<id>" if what.startswith("line-") and "," not in what else what
        kinds.setdefault(kind, []).append((float(wall), float(cpu)))
    print("server script runs (wall from start to end of the run; CPU of the script thread):")
    for kind, runs in sorted(kinds.items(), key=lambda item: -len(item[1])):
        walls, cpus = sorted(w for w, _ in runs), sorted(c for _, c in runs)
        p95 = walls[max(0, round(0.95 * len(walls)) - 1)]
        print(
            f"  {kind[:24]:<24} n={len(runs):3d}  wall median {statistics.median(walls) * 1000:6.0f} ms  "
            f"p95 {p95 * 1000:6.0f} ms   CPU median {statistics.median(cpus) * 1000:6.0f} ms"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        _serve(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(main())
