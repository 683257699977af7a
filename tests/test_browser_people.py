"""The roster in headless Chromium against `streamlit run`, on a transcript stored without the models: the 名簿 page
(add a person, a CSV with bad rows refused with each row's reason) → the 話者 page (名簿から選ぶ links a speaker) →
the meeting page (「名簿から入れる」 fills the header's lists; saved by the clerk) → the exported ○議長（…君） line.

Set MINUTES_UI_SHOTS=/some/folder to keep a screenshot of every step.
"""

from __future__ import annotations

import numpy as np
import pytest

from minutes.services import Principal, Services
from minutes.settings import Settings
from minutes.store.engine import make_engine, migrate
from tests.media import write_wav
from tests.seeding import seed_meeting
from tests.test_browser import open_page, running_app, shot, sign_in

pytestmark = pytest.mark.slow

ROSTER = """氏名,よみ,区分,議席番号,会派,職名,就任日,退任日
高橋一郎,たかはしいちろう,議員,10,みらい会,議長,2023/05/01,
佐藤花子,さとうはなこ,議員,5,みらい会,,,
鈴木健二,すずきけんじ,説明員,,,町長,2023/04/01,
"""


@pytest.fixture
def roster_server(tmp_path):
    """A data folder with one transcribed meeting (4 utterances, a real recording) and a roster; a server on it."""
    data = tmp_path / "data"
    (data / "recordings").mkdir(parents=True)
    t = np.arange(16_000 * 30) / 16_000
    write_wav(data / "recordings" / "sample.wav", 0.2 * np.sin(2 * np.pi * 220 * t))
    engine = make_engine(f"sqlite:///{data / 'minutes.db'}")
    migrate(engine)
    meeting_id = seed_meeting(engine)
    Services.for_user(engine, Settings(data_dir=data), Principal.operator("佐藤")).people.import_csv(ROSTER.encode())
    engine.dispose()
    with running_app(data, tmp_path / "streamlit.log") as url:
        yield url, data, meeting_id, tmp_path


def test_roster_flow_in_chromium(roster_server):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)  # a page rerun on a busy machine takes longer than Playwright's 5 s
    url, data, meeting_id, tmp_path = roster_server
    bad = tmp_path / "名簿.csv"
    bad.write_text("氏名,区分,議席番号\n池田康弘,町長,\n木村三郎,議員,5\n", encoding="utf-8")
    with sync_playwright() as playwright:
        browser, page, blocked = open_page(playwright, url)
        page.goto(f"{url}/people")
        sign_in(page, first=True)
        expect(page.get_by_role("heading", name="名簿", exact=True)).to_be_visible()
        page.get_by_role("textbox", name="氏名 *", exact=True).first.fill("木村　三郎君")
        page.get_by_role("spinbutton", name="議席番号").first.fill("7")
        page.get_by_role("textbox", name="職名", exact=True).first.fill("副議長")
        page.get_by_role("textbox", name="就任日", exact=True).first.fill("令和5年5月1日")
        page.get_by_role("button", name="名簿に追加").click()
        expect(page.get_by_text("木村三郎 さんを名簿に追加しました")).to_be_visible()
        uploader = page.get_by_role("region", name="名簿の CSV")
        # Streamlit's English ("Upload", "4GB per file • CSV") is not shown: Japanese is drawn in its place
        button = uploader.locator("button p")
        assert button.evaluate("e => getComputedStyle(e).fontSize") == "0px"
        assert button.evaluate("e => getComputedStyle(e, '::after').content") == '"ファイルを選ぶ"'
        instructions = uploader.locator("[data-testid='stFileUploaderDropzoneInstructions'] span")
        assert instructions.evaluate("e => getComputedStyle(e).fontSize") == "0px"
        assert "ドラッグ＆ドロップ" in instructions.evaluate("e => getComputedStyle(e, '::after').content")
        uploader.locator("input[type=file]").set_input_files(str(bad))
        expect(page.get_by_text("2 行目: 区分「町長」は")).to_be_visible()
        expect(page.get_by_text("3 行目: 議席番号 5 が 佐藤花子・木村三郎 の 2 人以上になります。")).to_be_visible()
        shot(page, "roster_1_people")

        page.goto(f"{url}/speakers?meeting={meeting_id}")
        expect(page.get_by_role("heading", name="話者", exact=True)).to_be_visible()
        page.get_by_label("名簿から選ぶ").first.click()
        page.get_by_role("option", name="１０番 議長 高橋一郎").click()
        page.get_by_role("button", name="名簿の人にする").first.click()
        expect(page.get_by_text("名簿: １０番 議長 高橋一郎（確認済み）")).to_be_visible()
        shot(page, "roster_2_speakers")

        page.goto(f"{url}/meeting?meeting={meeting_id}")
        page.get_by_role("button", name="名簿から入れる").click()
        expect(page.get_by_text("出席議員 3 名、説明員 1 名、職員 0 名を入れました")).to_be_visible()
        expect(page.get_by_role("textbox", name="出席議員")).to_have_value(
            "５番\u3000佐藤花子\n７番\u3000木村三郎（副議長）\n１０番\u3000高橋一郎（議長）"
        )
        shot(page, "roster_3_meeting")
        page.get_by_role("button", name="見出しを保存").click()
        expect(page.get_by_role("textbox", name="出席議員（3 名）")).to_be_visible()
        browser.close()
    assert blocked == []
    engine = make_engine(f"sqlite:///{data / 'minutes.db'}")
    services = Services.for_user(engine, Settings(data_dir=data), Principal.operator("確認"))
    assert services.people.find("木村三郎").title_on(None) == "副議長"
    assert [p.name for p in services.details.meeting(meeting_id).details.explainers] == ["鈴木健二"]
    assert "○議長（高橋一郎君）" in services.exports.export(meeting_id, "txt").data.decode("utf-8")
    engine.dispose()
