"""Clicks made while the editor is still drawing, in headless Chromium against `streamlit run` (issue 16: with five
clerks at once, a find preview clicked during a page turn never appeared; typing in an utterance and clicking 次 ▶
saved the text but did not turn the page). Each click is made without waiting for the rerun before it to end, and
each must take effect: none is silently lost.

Set MINUTES_UI_SHOTS=/some/folder to keep a screenshot of the end state.
"""

from __future__ import annotations

import pytest

from minutes.services import Principal, Services
from minutes.settings import Settings
from minutes.store.engine import make_engine, migrate
from tests.seeding import seed_meeting
from tests.test_browser import PASSWORD, USER, open_page, running_app, shot, sign_in

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def editor_server(tmp_path_factory):
    """A data folder with one transcribed meeting of 200 utterances (ten pages of 20) and a server on it (shared by this
    module's tests: each opens its own browser session)."""
    tmp_path = tmp_path_factory.mktemp("editor")
    data = tmp_path / "data"
    data.mkdir(parents=True)
    engine = make_engine(f"sqlite:///{data / 'minutes.db'}")
    migrate(engine)
    meeting_id = seed_meeting(engine, title="令和７年第４回定例会", utterances=200, duration=1200.0)
    accounts = Services.for_user(engine, Settings(data_dir=data), Principal.operator("test")).accounts
    accounts.create_user(USER, "管理者", PASSWORD, must_change_password=False)
    engine.dispose()
    with running_app(data, tmp_path / "streamlit.log", MINUTES_APP_WORKER="0") as url:
        yield url, meeting_id


def test_clicks_during_a_rerun_are_not_lost(editor_server):
    from playwright.sync_api import expect, sync_playwright

    url, meeting_id = editor_server
    expect.set_options(timeout=60_000)  # a busy machine may take long; what matters is that each click takes effect
    try:
        with sync_playwright() as playwright:
            browser, page, blocked = open_page(playwright, url)
            page.set_default_timeout(60_000)
            page.goto(f"{url}/editor?meeting={meeting_id}")
            sign_in(page)
            number = page.get_by_label("ページ（全", exact=False).first
            expect(number).to_have_value("1")
            page.get_by_text("検索・置換").first.click()
            page.get_by_label("検索する語").fill("補正予算")

            # a page turn, and at once a find preview, then at once another page turn: all three happen
            page.get_by_role("button", name="次 ▶").first.click()
            page.get_by_role("button", name="プレビュー").click()
            page.get_by_role("button", name="次 ▶").first.click()
            expect(number).to_have_value("3")
            expect(page.get_by_role("button", name="箇所をすべて置換")).to_be_visible()
            expect(page.get_by_text("200 発言中 41〜60 件目", exact=False)).to_be_visible()
            shot(page, "editor_clicks_during_rerun")
            browser.close()
        assert blocked == []
    finally:
        expect.set_options(timeout=5_000)  # Playwright's default, for the other tests of this process


def test_typing_then_turning_the_page_saves_and_turns(editor_server):
    """Text typed in an opened utterance and 次 ▶ clicked at once (the click is what ends the typing): the text is
    saved and the page turns, with one click."""
    from playwright.sync_api import expect, sync_playwright

    url, meeting_id = editor_server
    expect.set_options(timeout=60_000)
    try:
        with sync_playwright() as playwright:
            browser, page, blocked = open_page(playwright, url)
            page.set_default_timeout(60_000)
            page.goto(f"{url}/editor?meeting={meeting_id}")
            sign_in(page)
            number = page.get_by_label("ページ（全", exact=False).first
            expect(number).to_have_value("1")
            line = page.locator("[class*='st-key-line-']").nth(2)
            line.get_by_role("button", name="編集", exact=True).click()
            area = line.locator("textarea")
            expect(area).to_be_focused()
            area.fill("議長。３番、山田です。次の質問に移ります。")

            page.get_by_role("button", name="次 ▶").first.click()
            expect(number).to_have_value("2")
            expect(page.get_by_text("200 発言中 21〜40 件目", exact=False)).to_be_visible()
            page.get_by_role("button", name="◀ 前").first.click()
            expect(number).to_have_value("1")
            expect(page.get_by_text("議長。３番、山田です。次の質問に移ります。")).to_be_visible()
            shot(page, "editor_typed_then_next_page")
            browser.close()
        assert blocked == []
    finally:
        expect.set_options(timeout=5_000)
