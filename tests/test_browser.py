"""The main flow in headless Chromium against `streamlit run`, with the real models on the real sample meeting:
new meeting → upload → wait for the job → play an utterance → edit text → name a speaker → finalize → reload.

Set MINUTES_UI_SHOTS=/some/folder to keep a screenshot of every page.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from minutes.services import Principal, Services
from minutes.settings import Settings
from minutes.store.engine import make_engine

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples_audio" / "council_ja.wav"
CHROMIUM = "/usr/bin/chromium"
JOB_TIMEOUT_MS = 300_000

pytestmark = pytest.mark.slow
USER, PASSWORD = "佐藤", "correct horse battery"


def sign_in(page, *, first: bool = False) -> None:
    """Sign in on the form the app shows (on an empty database, the form that creates the first administrator); the
    browser then keeps the session in a cookie, so later page loads are signed in (see :func:`signed_in`)."""
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name="管理者の作成" if first else "ログイン", exact=True)).to_be_visible()
    page.get_by_label("利用者名").fill(USER)
    page.get_by_label("パスワード", exact=True).fill(PASSWORD)
    if first:
        page.get_by_label("パスワード（確認）").fill(PASSWORD)
    page.get_by_role("button", name="管理者を作成してログイン" if first else "ログイン", exact=True).click()
    signed_in(page)


def signed_in(page) -> None:
    """The page shows the signed-in user's sidebar (no sign-in form): a page load or reload kept the session."""
    from playwright.sync_api import expect

    expect(page.get_by_role("button", name="ログアウト", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="ログイン", exact=True)).to_have_count(0)


def open_page(playwright, url: str):
    """Debian's Chromium, headless and quiet (no background connections); returns (browser, page, requests that
    left the app), so a test can assert that nothing was fetched from anywhere else."""
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--autoplay-policy=no-user-gesture-required",
        ],
    )
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="ja-JP")
    context.set_default_timeout(30_000)
    blocked: list[str] = []
    context.on("request", lambda r: None if r.url.startswith((url, "data:", "blob:")) else blocked.append(r.url))
    return browser, context.new_page(), blocked


def shot(page, name: str) -> None:
    """A full-page screenshot into $MINUTES_UI_SHOTS when it is set (for looking at the pages by eye)."""
    folder = os.environ.get("MINUTES_UI_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(800)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(data: Path, log_path: Path, **env: str) -> Iterator[str]:
    """`streamlit run streamlit_app.py` on a free port with its own data folder (and ``env``); yields its URL."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed at /usr/bin/chromium: apt-get install chromium (./test.sh does)")
    port = _free_port()
    environment = os.environ | {
        "MINUTES_DATA_DIR": str(data),
        "MINUTES_DEVICE": "cpu",
        "HF_HUB_OFFLINE": "1",
        "PYANNOTE_METRICS_ENABLED": "0",
        **env,
    }
    environment.pop("MINUTES_DATABASE_URL", None)
    log = log_path.open("wb")
    command = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port)]
    process = subprocess.Popen(
        [*command, "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(log_path.read_text(errors="replace")) from None
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def server(tmp_path, whisper_base):
    """The app on a fresh data folder with the real Whisper base model; yields (url, data folder)."""
    data = tmp_path / "data"
    with running_app(data, tmp_path / "streamlit.log", MINUTES_WHISPER_MODEL=str(whisper_base)) as url:
        yield url, data


def test_main_flow_in_chromium(server):
    from playwright.sync_api import expect, sync_playwright

    url, data = server

    with sync_playwright() as playwright:
        browser, page, blocked = open_page(playwright, url)

        # new meeting with the real sample recording
        page.goto(f"{url}/new_meeting")
        sign_in(page, first=True)
        expect(page.get_by_role("heading", name="新しい会議")).to_be_visible()
        page.get_by_label("会議名 *").fill("ブラウザ試験 定例会")
        page.get_by_label("場所").fill("議場")
        page.locator("input[type=file]").set_input_files(str(SAMPLE))
        expect(page.get_by_text("council_ja.wav")).to_be_visible()
        shot(page, "2_new_meeting")
        page.get_by_role("button", name="登録して文字起こしを開始").click()

        # the meeting page shows live progress, then the result
        expect(page.get_by_role("heading", name="処理の進み具合")).to_be_visible(timeout=60_000)
        shot(page, "3_progress")
        expect(page.get_by_text(re.compile("文字起こし完了"))).to_be_visible(timeout=JOB_TIMEOUT_MS)
        meeting_id = int(re.search(r"meeting=(\d+)", page.url).group(1))

        # the editor: play from the second utterance, edit the first one
        page.get_by_role("button", name="発言を編集する").click()
        expect(page.get_by_role("heading", name="発言の編集")).to_be_visible()
        page.get_by_role("button", name=re.compile("^▶")).nth(1).click()
        audio = page.locator("section[data-testid=stSidebar] audio")
        expect(audio).to_have_count(1)
        page.wait_for_function(
            "() => { const a = document.querySelector('section[data-testid=stSidebar] audio');"
            " return a && a.readyState >= 1 && a.duration > 60 && a.currentTime > 0; }",
            timeout=20_000,
        )
        page.get_by_role("button", name="編集", exact=True).first.click()  # the text, as a box with the cursor in it
        first = page.locator("textarea").first
        expect(first).to_be_focused()
        first.fill("ただいまから本日の会議を開きます。ブラウザで修正しました。")
        page.get_by_role("heading", name="発言の編集").click()  # leaving the box saves it
        expect(page.get_by_text("保存しました").first).to_be_visible()
        shot(page, "4_editor")

        # the speakers page: name the first speaker
        page.goto(f"{url}/speakers?meeting={meeting_id}")
        signed_in(page)
        expect(page.get_by_role("heading", name="話者", exact=True)).to_be_visible()
        page.get_by_label("氏名").first.fill("大磯一郎")
        page.get_by_label("役職・呼び方").first.fill("議長")
        page.get_by_role("button", name="保存").first.click()
        expect(page.get_by_text("議長 大磯一郎").first).to_be_visible()
        shot(page, "5_speakers")

        # finalize on the meeting page
        page.goto(f"{url}/meeting?meeting={meeting_id}")
        signed_in(page)
        page.get_by_text("内容を確認しました").click()
        page.get_by_role("button", name="会議録を確定する").click()
        expect(page.get_by_text(re.compile("確定済みです"))).to_be_visible()
        shot(page, "6_meeting_finalized")

        # reload: everything is still there, and the editor is read-only
        page.goto(f"{url}/editor?meeting={meeting_id}")
        page.reload()
        signed_in(page)
        expect(page.get_by_text("ただいまから本日の会議を開きます。ブラウザで修正しました。")).to_be_visible()
        expect(page.get_by_role("button", name="編集", exact=True)).to_have_count(0)
        page.get_by_role("button", name="詳細", exact=True).first.click()
        expect(page.locator("textarea").first).to_have_value(
            "ただいまから本日の会議を開きます。ブラウザで修正しました。"
        )
        expect(page.locator("textarea").first).to_be_disabled()
        shows = (
            "(t) => [...document.querySelectorAll('[role=combobox]')].some(e => (e.value || e.textContent).includes(t))"
        )
        expect(page.get_by_text("議長 大磯一郎").first).to_be_visible()  # the named speaker, on the read-only line
        shot(page, "7_editor_finalized")
        page.goto(url)
        signed_in(page)
        page.wait_for_function(shows, arg="確定済み")
        shot(page, "1_meetings")
        browser.close()

    assert not blocked, f"requests outside the app: {blocked[:5]}"
    engine = make_engine(f"sqlite:///{data / 'minutes.db'}")
    editing = Services.for_user(engine, Settings(data_dir=data), Principal.operator("system"))
    info = editing.details.meeting(meeting_id)
    lines = editing.transcript.page(meeting_id).lines
    assert info.finalized and lines[0].text == "ただいまから本日の会議を開きます。ブラウザで修正しました。"
    assert any(s.name == "大磯一郎" and s.role == "議長" for s in editing.speakers.speakers(meeting_id))
    engine.dispose()
