"""Paperless flow in headless Chromium against `streamlit run`, on a transcript stored with store.save_result (the
main-flow browser test already runs the models): attach a PDF → view its rendered page → finalize (archive, verify) →
search → open the result in the editor at the right utterance, with the player ready there.

Set MINUTES_UI_SHOTS=/some/folder to keep a screenshot of every step.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from minutes.services import Principal, Services
from minutes.settings import Settings
from minutes.store.engine import make_engine, migrate
from tests.media import write_wav
from tests.seeding import seed_meeting
from tests.test_browser import open_page, running_app, shot, sign_in, signed_in
from tests.test_materials import make_pdf

pytestmark = pytest.mark.slow


@pytest.fixture
def seeded_server(tmp_path):
    """A data folder with one transcribed meeting (60 utterances, a real 6-minute recording) and a server on it."""
    data = tmp_path / "data"
    (data / "recordings").mkdir(parents=True)
    t = np.arange(16_000 * 360) / 16_000
    write_wav(data / "recordings" / "sample.wav", 0.2 * np.sin(2 * np.pi * 220 * t))
    engine = make_engine(f"sqlite:///{data / 'minutes.db'}")
    migrate(engine)
    meeting_id = seed_meeting(engine, title="令和７年第４回定例会", utterances=60, duration=360.0)
    editing = Services.for_user(engine, Settings(data_dir=data), Principal.operator("佐藤"))
    target = editing.transcript.page(meeting_id, 1, 50).lines[3]  # on the editor's second page
    editing.transcript.edit_text(target.id, text="河川改修の予算について伺います。", expected_version=1)
    engine.dispose()
    with running_app(data, tmp_path / "streamlit.log") as url:
        yield url, data, meeting_id, target.id, target.start, tmp_path


def test_paperless_flow_in_chromium(seeded_server):
    from playwright.sync_api import expect, sync_playwright

    url, data, meeting_id, target_id, target_start, tmp_path = seeded_server
    pdf = tmp_path / "議案第５号 補正予算.pdf"
    pdf.write_bytes(make_pdf([["Bill No. 5: Supplementary budget", "Disaster prevention warehouse", "12,000"]]))

    with sync_playwright() as playwright:
        browser, page, blocked = open_page(playwright, url)

        # attach a PDF and see its first page rendered on the server
        page.goto(f"{url}/materials?meeting={meeting_id}")
        sign_in(page, first=True)
        expect(page.get_by_role("heading", name="資料", exact=True)).to_be_visible()
        page.locator("input[type=file]").set_input_files(str(pdf))
        expect(page.get_by_text("議案第５号 補正予算.pdf")).to_be_visible()
        page.get_by_role("button", name="追加する").click()
        expect(page.get_by_text(re.compile("を追加しました"))).to_be_visible()
        image = page.locator("[data-testid=stMain] [data-testid=stImage] img").first
        expect(image).to_be_visible()
        page.wait_for_function("(img) => img.complete && img.naturalWidth > 1000", arg=image.element_handle())
        shot(page, "1_materials_pdf")

        # finalize: the archive appears and verifies
        page.goto(f"{url}/meeting?meeting={meeting_id}")
        signed_in(page)
        page.get_by_text("内容を確認しました").click()
        page.get_by_role("button", name="会議録を確定する").click()
        expect(page.get_by_text(re.compile("確定済みです"))).to_be_visible()
        expect(page.get_by_text("第1版", exact=True)).to_be_visible()
        page.get_by_role("button", name="検証").click()
        expect(page.get_by_text(re.compile("検証OK"))).to_be_visible()
        shot(page, "2_meeting_archive")

        # search, and open the result at its utterance
        page.goto(f"{url}/search")
        signed_in(page)
        page.get_by_label("検索する語").fill("予算")
        page.get_by_role("button", name="検索", exact=True).click()
        expect(page.get_by_text(re.compile("^発言　30 件"))).to_be_visible()
        shot(page, "3_search_results")
        page.get_by_label("検索する語").fill("disaster prevention")
        page.get_by_role("button", name="検索", exact=True).click()
        expect(page.get_by_text(re.compile("^資料　1 件"))).to_be_visible()
        page.get_by_label("検索する語").fill("河川改修")
        page.get_by_role("button", name="検索", exact=True).click()
        expect(page.get_by_text(re.compile("^発言　1 件"))).to_be_visible()
        page.locator(f".st-key-hit-{target_id}").get_by_role("button", name="▶ 発言を開く").click()

        expect(page.get_by_role("heading", name="発言の編集")).to_be_visible()
        assert f"at=u{target_id}" in page.url
        line = page.locator(f".st-key-line-{target_id}")
        expect(line.get_by_text("河川改修の予算について伺います。")).to_be_visible()
        expect(line.get_by_text("検索結果")).to_be_visible()
        expect(line).to_be_in_viewport()
        offset = target_start % 300
        # The player starts at the utterance and may already be playing; cutting the playback piece can take a while
        # on a loaded machine, hence the generous wait and the 30 s window (utterances before it lie earlier).
        page.wait_for_function(
            "(offset) => { const a = document.querySelector('section[data-testid=stSidebar] audio');"
            " return a && a.readyState >= 1 && a.currentTime >= offset - 0.5 && a.currentTime < offset + 30; }",
            arg=offset,
            timeout=60_000,
        )
        shot(page, "4_editor_at_result")
        browser.close()

    assert not blocked, f"requests outside the app: {blocked[:5]}"
    assert (data / "archive" / str(meeting_id) / "v1" / "manifest.json").is_file()
