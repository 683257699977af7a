"""Accounts in headless Chromium against `streamlit run` (no models needed): the sign-in survives a reload and a new
tab, logging out ends it everywhere in the browser, a new user must replace the initial password before anything
else, and an administrator changes a setting on the 管理 page.

Set MINUTES_UI_SHOTS=/some/folder to keep a screenshot of every step.
"""

from __future__ import annotations

import pytest

from minutes.services import Principal, Services
from minutes.settings import Settings
from minutes.store.engine import make_engine
from tests.test_browser import USER, open_page, running_app, shot, sign_in, signed_in

pytestmark = pytest.mark.slow


def test_sessions_passwords_and_settings_in_chromium(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    data = tmp_path / "data"
    with running_app(data, tmp_path / "streamlit.log") as url, sync_playwright() as playwright:
        browser, page, blocked = open_page(playwright, url)
        page.goto(url)
        sign_in(page, first=True)
        expect(page.get_by_role("heading", name="会議一覧")).to_be_visible()

        # a reload and a second tab stay signed in; the token is in a SameSite=Strict cookie
        page.reload()
        signed_in(page)
        cookies = {c["name"]: c for c in page.context.cookies()}
        assert cookies["minutes_session"]["sameSite"] == "Strict" and len(cookies["minutes_session"]["value"]) > 40
        other = page.context.new_page()
        other.goto(f"{url}/account")
        signed_in(other)
        expect(other.get_by_role("heading", name="アカウント")).to_be_visible()
        other.close()

        # the administrator adds a clerk with an initial password
        page.goto(f"{url}/users")
        signed_in(page)
        page.get_by_label("利用者名").fill("鈴木")
        page.get_by_role("textbox", name="初期パスワード（10 文字以上）", exact=True).fill("initial password")
        page.get_by_role("button", name="追加する").click()
        expect(page.get_by_text("利用者「鈴木」（書記）を追加しました。")).to_be_visible()

        # and changes a setting
        page.goto(f"{url}/admin")
        signed_in(page)
        attempts = page.get_by_role("spinbutton", name="ロックまでのログイン失敗回数（回）")
        attempts.fill("4")
        attempts.press("Tab")
        page.get_by_role("button", name="設定を保存").click()
        expect(page.get_by_text("保存しました: ロックまでのログイン失敗回数。")).to_be_visible()
        shot(page, "1_admin_settings")

        # logging out ends the session: a reload shows the sign-in form, and the cookie is gone
        page.get_by_role("button", name="ログアウト", exact=True).click()
        expect(page.get_by_role("heading", name="ログイン", exact=True)).to_be_visible()
        page.reload()
        expect(page.get_by_role("heading", name="ログイン", exact=True)).to_be_visible()
        assert "minutes_session" not in {c["name"] for c in page.context.cookies()}

        # the clerk signs in with the initial password: only the account page, until a new password is set
        page.goto(f"{url}/new_meeting")
        page.get_by_label("利用者名").fill("鈴木")
        page.get_by_label("パスワード", exact=True).fill("initial password")
        expect(page.get_by_text("Press Enter")).to_be_hidden()  # no English hints in the Japanese form
        page.get_by_role("button", name="ログイン", exact=True).click()
        expect(page.get_by_role("heading", name="アカウント")).to_be_visible()
        expect(page.get_by_text("初期パスワード").first).to_be_visible()
        expect(page.get_by_role("link", name="会議一覧")).to_have_count(0)
        shot(page, "2_forced_password_change")
        page.get_by_label("今のパスワード").fill("initial password")
        page.get_by_label("新しいパスワード（10 文字以上）").fill("suzuki's own secret")
        page.get_by_label("新しいパスワード（確認）").fill("suzuki's own secret")
        page.get_by_role("button", name="パスワードを変更").click()
        expect(page.get_by_text("パスワードを変更しました。")).to_be_visible()
        expect(page.get_by_role("link", name="会議一覧")).to_be_visible()
        expect(page.get_by_role("link", name="管理（設定・モデル）")).to_have_count(0)  # a clerk
        shot(page, "3_account_after_change")
        browser.close()

    assert not blocked, f"requests outside the app: {blocked[:5]}"
    engine = make_engine(f"sqlite:///{data / 'minutes.db'}")
    actions = [
        (e.actor, e.action)
        for e in Services.for_user(engine, Settings(data_dir=data), Principal.operator("system")).audit.events()
    ]
    engine.dispose()
    assert (USER, "setting_update") in actions and (USER, "logout") in actions
    assert ("鈴木", "password_change") in actions
