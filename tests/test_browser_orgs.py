"""Two organisations (団体) in headless Chromium against `streamlit run` (no models needed): a clerk of each sees only
their organisation's meetings and search results. (The installation administrator's 団体 section of 管理 is tested
with AppTest in ``test_ui_admin.py``: cheaper than a third sign-in here.)

Set MINUTES_UI_SHOTS=/some/folder to keep a screenshot of every step.
"""

from __future__ import annotations

import re

import pytest

from minutes.services import DEFAULT_ORG, Role, Runtime
from minutes.settings import Settings
from tests.seeding import seed_transcript
from tests.test_browser import PASSWORD, open_page, running_app, shot, signed_in

pytestmark = pytest.mark.slow


def _seed(data) -> None:
    runtime = Runtime(Settings(data_dir=data, database_url=f"sqlite:///{data / 'minutes.db'}", device="cpu"))
    root = runtime.operator("root", DEFAULT_ORG)
    root.accounts.create_user("西書記", Role.CLERK, PASSWORD, must_change_password=False)
    east = root.organizations.add("東町議会", admin="東管理", password=PASSWORD).id
    runtime.operator("root", east).accounts.create_user("東書記", Role.CLERK, PASSWORD, must_change_password=False)
    for title, town, org_id in (("西町 本会議 第１日", "西町", DEFAULT_ORG), ("東町 総務常任委員会", "東町", east)):
        lines = [("A", f"{town}の補正予算について質問します。"), ("B", f"{town}長が答弁します。")]
        seed_transcript(runtime.engine, title=title, lines=lines, org_id=org_id)
    runtime.engine.dispose()


def _sign_in(page, url: str, name: str) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.get_by_role("heading", name="ログイン", exact=True)).to_be_visible(timeout=60_000)
    page.get_by_label("利用者名").fill(name)
    page.get_by_label("パスワード", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="ログイン", exact=True).click()
    signed_in(page)


def _sign_out(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("button", name="ログアウト", exact=True).click()
    expect(page.get_by_role("heading", name="ログイン", exact=True)).to_be_visible()


def test_two_organisations_in_chromium(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)  # the machine is shared: a rerun may take seconds
    data = tmp_path / "data"
    _seed(data)
    with running_app(data, tmp_path / "streamlit.log") as url, sync_playwright() as playwright:
        browser, page, blocked = open_page(playwright, url)
        for clerk, town, own, other in (
            ("西書記", "既定の団体", "西町 本会議 第１日", "東町 総務常任委員会"),
            ("東書記", "東町議会", "東町 総務常任委員会", "西町 本会議 第１日"),
        ):
            _sign_in(page, url, clerk)
            expect(page.get_by_role("heading", name="会議一覧")).to_be_visible()
            expect(page.get_by_text(f"{town}　{clerk}（書記）")).to_be_visible()
            page.locator(".st-key-open_meeting").get_by_role("combobox").click()  # every meeting the list has
            expect(page.get_by_role("option").first).to_be_visible()
            options = page.get_by_role("option").all_inner_texts()
            assert len(options) == 1 and options[0].startswith(own), options
            shot(page, f"{clerk}_1_meetings")
            page.keyboard.press("Escape")
            page.goto(f"{url}/search")
            signed_in(page)
            page.get_by_label("検索する語").fill("補正予算")
            page.get_by_role("button", name="検索", exact=True).click()
            expect(page.get_by_text(re.compile("^発言　1 件"))).to_be_visible()
            expect(page.get_by_text(own).first).to_be_visible()
            expect(page.get_by_text(other)).to_have_count(0)
            shot(page, f"{clerk}_2_search")
            _sign_out(page)

        browser.close()
        assert blocked == []
