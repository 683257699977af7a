"""Issue 14's "Done when" as one scene on this machine, printing what it checked:

    python benchmarks/scene.py [--shots /tmp/shared-shots] [--clip-seconds 20]

A throwaway PostgreSQL and Redis (as the tests start them), the app (`streamlit run`, as ``run.sh`` starts it, with
``MINUTES_DATABASE_URL`` and ``MINUTES_QUEUE_URL``) and two ``minutes worker`` processes, each its own process. Two
organisations (西町: the default one, 東町議会) each get two real recordings submitted with ``minutes transcribe
--submit --org``, while a clerk of each organisation, signed in in headless Chromium, edits a line of a meeting of
their own. The worker seen transcribing is killed with SIGKILL mid-job. Then: every job ended succeeded, exactly once
(one "ran on" in the worker logs each, the killed job taken back once), its transcript stored; each clerk's
meeting list and search show only their organisation; their edits are stored; each clerk edits a line of a
recording transcribed in the scene. Last, the embedded default: with no settings, the app's database is SQLite in
the data folder and jobs run without a broker.

Screenshots of each step go to ``--shots``. Exits 1 if a check failed. A demonstration, not a CI test (minutes).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from minutes import offline  # noqa: E402

offline.enforce()

EVALDATA = ROOT.parent / "shared" / "evaldata" / "ja"
PASSWORD = "correct horse battery"
EAST = "東町議会"
CLERKS = {"西書記": ("既定の団体", "西町"), "東書記": (EAST, "東町")}  # clerk: (organisation, title prefix)
CHECKS: list[tuple[bool, str]] = []


def check(ok: bool, what: str) -> bool:
    CHECKS.append((ok, what))
    print(f"{'OK ' if ok else 'NG '} {what}", flush=True)
    return ok


def _clips(folder: Path, seconds: float) -> list[tuple[str, Path, str]]:
    """(organisation, file, title) of the batch: two council excerpts and two read-speech clips."""
    from tests.media import read_wav, write_wav

    samples, rate = read_wav(ROOT / "samples_audio" / "council_ja.wav")
    first = write_wav(folder / "council_a.wav", samples[: int(seconds * rate)], rate)
    second = write_wav(folder / "council_b.wav", samples[int(41 * rate) : int((41 + seconds) * rate)], rate)
    fleurs, jsut = EVALDATA / "ja_jp_000595.wav", EVALDATA / "BASIC5000_0001.wav"
    return [
        ("既定の団体", first, "西町 本会議 録音1"),
        (EAST, second, "東町 委員会 録音1"),
        ("既定の団体", fleurs if fleurs.exists() else first, "西町 本会議 録音2"),
        (EAST, jsut if jsut.exists() else second, "東町 委員会 録音2"),
    ]


def _seed(runtime) -> dict[str, int]:
    """The organisations, a clerk in each, and one transcribed meeting each to edit while the batch runs."""
    from minutes.services import DEFAULT_ORG, Role
    from tests.seeding import seed_transcript

    root = runtime.operator("root", DEFAULT_ORG)
    root.accounts.create_user("西書記", Role.CLERK, PASSWORD, must_change_password=False)
    east = root.organizations.add(EAST, admin="東管理", password=PASSWORD).id
    runtime.operator("root", east).accounts.create_user("東書記", Role.CLERK, PASSWORD, must_change_password=False)
    meetings = {}
    for clerk, org_id, town in (("西書記", DEFAULT_ORG, "西町"), ("東書記", east, "東町")):
        lines = [("A", f"{town}の補正予算について質問します。"), ("B", f"{town}長が答弁します。")]
        meetings[clerk] = seed_transcript(runtime.engine, title=f"{town} 本会議 第１日", lines=lines, org_id=org_id)
    return meetings


def _start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("wb") as handle:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)


def _submit(env: dict, clips) -> list[int]:
    """``minutes transcribe FILE --submit --org …`` for each clip, as an operator would; the printed job ids."""
    ids = []
    for org, clip, title in clips:
        command = [sys.executable, "-m", "minutes.cli", *(["--org", org] if org else []), "transcribe", str(clip)]
        done = subprocess.run(
            [*command, "--submit", "--title", title], cwd=ROOT, env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        ids.append(int(done.stdout.split()[0]))
    return ids


def _jobs(runtime, ids: list[int]) -> list:
    from sqlmodel import Session

    from minutes import store

    with Session(runtime.engine) as session:
        return [store.get_job(session, job_id=job_id) for job_id in ids]


def _kill_one_mid_job(runtime, ids: list[int], workers: list[subprocess.Popen], deadline: float):
    """SIGKILL the first worker seen transcribing (or diarizing) one of ``ids``; returns (worker, job id)."""
    while time.monotonic() < deadline:
        for job in _jobs(runtime, ids):
            if job.status == "running" and job.stage in ("transcribe", "diarize"):
                victim = next((w for w in workers if f":{w.pid}:" in (job.worker_id or "")), None)
                if victim is not None:
                    victim.send_signal(signal.SIGKILL)
                    victim.wait()
                    print(f"     worker {victim.pid} killed (SIGKILL) during job {job.id}, stage {job.stage}")
                    return victim, job.id
        time.sleep(0.2)
    raise RuntimeError("no job was seen running in time")


def _wait_all(runtime, ids: list[int], deadline: float) -> list:
    while True:
        jobs = _jobs(runtime, ids)
        if all(job.status in ("succeeded", "failed", "cancelled") for job in jobs) or time.monotonic() > deadline:
            return jobs
        time.sleep(1)


# ---------------------------------------------------------------- the clerks, in Chromium


def _sign_in(page, url: str, name: str) -> None:
    from playwright.sync_api import expect

    from tests.test_browser import signed_in

    page.goto(url)
    expect(page.get_by_role("heading", name="ログイン", exact=True)).to_be_visible(timeout=180_000)
    page.get_by_label("利用者名").fill(name)
    page.get_by_label("パスワード", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="ログイン", exact=True).click()
    signed_in(page)


def _edit_first_line(page, url: str, meeting_id: int, text: str, shots: Path, name: str) -> None:
    """Open the meeting in the editor, edit its first line and leave the box (which saves it)."""
    from playwright.sync_api import expect

    from tests.test_browser import signed_in

    page.goto(f"{url}/editor?meeting={meeting_id}")
    signed_in(page)
    expect(page.get_by_role("heading", name="発言の編集")).to_be_visible()
    page.get_by_role("button", name="編集", exact=True).first.click()
    box = page.locator("textarea").first
    expect(box).to_be_focused()
    box.fill(text)
    page.get_by_role("heading", name="発言の編集").click()  # leaving the box saves it
    expect(page.get_by_text("保存しました").first).to_be_visible()
    page.wait_for_timeout(500)
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def _own_meetings_only(page, url: str, clerk: str, shots: Path, name: str) -> list[str]:
    """The titles the clerk's meeting list offers, and a search for 補正予算; checks both stay in their town."""
    from playwright.sync_api import expect

    from tests.test_browser import signed_in

    org, town = CLERKS[clerk]
    page.goto(url)
    signed_in(page)
    expect(page.get_by_text(f"{org}　{clerk}（書記）")).to_be_visible()
    page.locator(".st-key-open_meeting").get_by_role("combobox").click()
    expect(page.get_by_role("option").first).to_be_visible()
    titles = page.get_by_role("option").all_inner_texts()
    page.screenshot(path=str(shots / f"{name}_meetings.png"), full_page=True)
    page.keyboard.press("Escape")
    check(bool(titles) and all(t.startswith(town) for t in titles), f"{clerk} の会議一覧は{town}だけ: {titles}")
    page.goto(f"{url}/search")
    signed_in(page)
    page.get_by_label("検索する語").fill("補正予算")
    page.get_by_role("button", name="検索", exact=True).click()
    expect(page.get_by_text(re.compile("^発言　\\d+ 件"))).to_be_visible()
    other = "東町" if town == "西町" else "西町"
    page.wait_for_timeout(500)
    page.screenshot(path=str(shots / f"{name}_search.png"), full_page=True)
    check(page.get_by_text(other).count() == 0, f"{clerk} の検索結果に{other}の会議はない")
    return titles


# ---------------------------------------------------------------- the scene


def _environment(folder: Path, database_url: str, queue_url: str, model: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINUTES_")}
    return env | {
        "MINUTES_DATA_DIR": str(folder / "data"),
        "MINUTES_DATABASE_URL": database_url,
        "MINUTES_QUEUE_URL": queue_url,
        "MINUTES_WHISPER_MODEL": str(model),
        "MINUTES_DEVICE": "cpu",
        "MINUTES_CPU_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "PYANNOTE_METRICS_ENABLED": "0",
    }


def _app(env: dict, folder: Path, stack: ExitStack, log: str = "app.log") -> str:
    """The app as ``run.sh`` starts it (its own process, MINUTES_APP_WORKER=0), on a free port; its URL."""
    import urllib.request

    from tests.test_browser import _free_port

    port = _free_port()
    command = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    app = _start(command, env | {"MINUTES_APP_WORKER": "0"}, folder / log)
    stack.callback(_stop, app)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return url
        except OSError:
            if app.poll() is not None:
                break
            time.sleep(0.5)
    raise RuntimeError((folder / log).read_text(errors="replace"))


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _check_jobs(runtime, ids, jobs, killed_job, survivor, logs) -> None:
    for job in jobs:
        meeting = runtime.operator("scene", _org_of(runtime, job.meeting_id)).meetings.transcript(job.meeting_id)
        check(
            job.status == "succeeded" and len(meeting.utterances) >= 1,
            f"ジョブ {job.id}: {job.status}、試行 {job.attempts} 回、発言 {len(meeting.utterances)} 件を保存"
            f"（{meeting.utterances[0].text[:20] if meeting.utterances else ''}…）",
        )
    killed = next(job for job in jobs if job.id == killed_job)
    check(killed.attempts == 2, f"止めたワーカーのジョブ {killed_job} は一度だけ取り戻された（試行 {killed.attempts}）")
    text = "".join(log.read_text(errors="replace") for log in logs)
    for job_id in ids:
        runs = len(re.findall(rf"job {job_id} ran on ", text))
        check(runs == 1, f"ジョブ {job_id} を最後まで実行したのは 1 回（ワーカーのログで {runs} 回）")
    check(all(f":{survivor.pid}:" in job.worker_id for job in jobs if job.id == killed_job), "残ったワーカーが仕上げた")


def _org_of(runtime, meeting_id: int) -> int:
    from sqlmodel import Session

    from minutes import store

    with Session(runtime.engine) as session:
        return store.get_meeting(session, meeting_id=meeting_id).org_id


def _clerks_sign_in(playwright, url) -> dict:
    """Both clerks sign in (one browser, a context each); returns the browser, their pages and the requests that left
    the app."""
    from tests.test_browser import open_page

    browser, first, blocked = open_page(playwright, url)
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="ja-JP")  # the other clerk's
    context.on("request", lambda r: None if r.url.startswith((url, "data:", "blob:")) else blocked.append(r.url))
    pages = {"西書記": first, "東書記": context.new_page()}
    for clerk, page in pages.items():
        page.set_default_timeout(90_000)
        _sign_in(page, url, clerk)
    return {"browser": browser, "pages": pages, "blocked": blocked}


def _edit_while_jobs_run(runtime, url, browsing, seeded, ids, shots) -> None:
    """Each clerk edits a line of their seeded meeting while the batch is being transcribed."""
    for clerk, page in browsing["pages"].items():
        town = CLERKS[clerk][1]
        _edit_first_line(
            page, url, seeded[clerk], f"{town}の補正予算について、書記が直しました。", shots, f"1_{clerk}_edit"
        )
        busy = [job.status for job in _jobs(runtime, ids)]
        print(f"     {clerk} saved a line while the jobs were {busy}")


def _after(runtime, url, browsing, ids, seeded, shots) -> None:
    """When the batch is done: each clerk sees only their own organisation, and edits a line of a new recording."""
    from minutes.services import DEFAULT_ORG

    jobs = _jobs(runtime, ids)
    for clerk, page in browsing["pages"].items():
        titles = _own_meetings_only(page, url, clerk, shots, f"2_{clerk}")
        org = DEFAULT_ORG if clerk == "西書記" else _org_of(runtime, seeded[clerk])
        own = [job for job in jobs if _org_of(runtime, job.meeting_id) == org]
        wanted = {runtime.operator("scene", org).details.meeting(job.meeting_id).title for job in own}
        seen = all(any(title in option for option in titles) for title in wanted)
        check(seen, f"{clerk} の一覧に自分の団体の録音 {len(wanted)} 件がある")
        text = f"{CLERKS[clerk][1]}の録音を書記が確認しました。"
        _edit_first_line(page, url, own[0].meeting_id, text, shots, f"3_{clerk}_edit_new")
        line = runtime.operator("scene", org).transcript.page(own[0].meeting_id).lines[0]
        check(line.text == text, f"{clerk} が文字起こし直後の会議 {own[0].meeting_id} で直した文が保存された")
        first = runtime.operator("scene", org).transcript.page(seeded[clerk]).lines[0]
        check(first.text.endswith("書記が直しました。") and first.version == 2,
              f"{clerk} がジョブの実行中に直した文が保存された（版 {first.version}）")  # fmt: skip
    browsing["browser"].close()
    check(browsing["blocked"] == [], "ブラウザはアプリの外に何も取りに行っていない")


def _embedded_default(folder: Path, clip: Path) -> None:
    """The embedded default, as ``./run.sh`` runs it with no settings (only the data folder moved to a temporary one,
    so the checkout's ./data is left alone): the app and ``minutes worker`` on SQLite, no broker, and a job submitted
    with ``minutes transcribe --submit`` runs."""
    import sqlite3

    data = folder / "embedded"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINUTES_")} | {"MINUTES_DATA_DIR": str(data)}
    env |= {"HF_HUB_OFFLINE": "1", "PYANNOTE_METRICS_ENABLED": "0"}
    with ExitStack() as stack:
        url = _app(env, folder, stack, log="embedded-app.log")
        worker = _start([sys.executable, "-m", "minutes.cli", "worker"], env, folder / "embedded-worker.log")
        stack.callback(_stop, worker)
        [job_id] = _submit(env, [("", clip, "組み込み 確認")])
        command = [sys.executable, "-m", "minutes.cli", "wait", str(job_id)]
        waited = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        print(f"     embedded app {url}, worker {worker.pid}")
    with sqlite3.connect(data / "minutes.db") as database:
        status, queue = database.execute("SELECT status, queue FROM job WHERE id = ?", (job_id,)).fetchone()
        lines = database.execute("SELECT count(*) FROM utterance").fetchone()[0]
    check(waited.returncode == 0 and status == "succeeded" and lines >= 1,
          f"設定なし（./run.sh と同じ起動）: SQLite {data / 'minutes.db'} で、ブローカーなしにジョブ {job_id} が"
          f"{status}（キュー欄「{queue or ''}」、発言 {lines} 件）")  # fmt: skip


def scene(args) -> None:
    from playwright.sync_api import expect, sync_playwright

    from minutes.pipeline.models import assemble_base
    from minutes.services import Runtime
    from minutes.settings import Settings
    from tests import postgres_server, redis_server

    expect.set_options(timeout=90_000)  # two workers' models share the 2 cores with the app and two browsers
    folder = Path(tempfile.mkdtemp(prefix="minutes-scene-"))
    shots = args.shots
    shots.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        postgres = postgres_server.Server()
        stack.callback(postgres.stop)
        redis = redis_server.Server()
        stack.callback(redis.stop)
        model = Path(os.environ.get("MINUTES_WHISPER_MODEL") or assemble_base(folder / "models"))
        env = _environment(folder, postgres.url(postgres.create_database()), redis.url(0), model)
        runtime = Runtime(Settings(data_dir=folder / "data", database_url=env["MINUTES_DATABASE_URL"], device="cpu"))
        seeded = _seed(runtime)
        url = _app(env, folder, stack)
        logs = [folder / "worker-a.log", folder / "worker-b.log"]  # started before the clerks sign in: models load
        workers = [_start([sys.executable, "-m", "minutes.cli", "-v", "worker", "--queues", "cpu"], env, log)
                   for log in logs]  # fmt: skip
        for worker in workers:
            stack.callback(_stop, worker)
        with sync_playwright() as playwright:
            browsing = _clerks_sign_in(playwright, url)
            started = time.monotonic()
            ids = _submit(env, _clips(folder, args.clip_seconds))
            print(f"     jobs {ids} submitted; app {url}; workers {[w.pid for w in workers]}; data {folder}")
            _edit_while_jobs_run(runtime, url, browsing, seeded, ids, shots)
            victim, killed_job = _kill_one_mid_job(runtime, ids, workers, time.monotonic() + 600)
            survivor = next(w for w in workers if w is not victim)
            jobs = _wait_all(runtime, ids, time.monotonic() + 900)
            print(f"     batch ended {time.monotonic() - started:.0f} s after submitting")
            _check_jobs(runtime, ids, jobs, killed_job, survivor, logs)
            check(survivor.poll() is None, "残ったワーカーは動き続けている")
            _after(runtime, url, browsing, ids, seeded, shots)
        runtime.engine.dispose()
    _embedded_default(folder, EVALDATA / "ja_jp_000595.wav")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=Path, default=Path("/tmp/shared-shots"), help="where screenshots go")
    parser.add_argument("--clip-seconds", type=float, default=20.0, help="seconds of each council excerpt")
    args = parser.parse_args()
    try:
        scene(args)
    except Exception as error:  # a scene that breaks is a failed check, said plainly
        check(False, f"場面が途中で止まりました: {type(error).__name__}: {error}")
    failed = [what for ok, what in CHECKS if not ok]
    print(f"\n{len(CHECKS) - len(failed)} / {len(CHECKS)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
