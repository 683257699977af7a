"""The ライブ and 字幕表示 pages with AppTest against the real services, a real temp SQLite database and the app's own
worker thread; the model boundary is faked (the streaming transcriber and the batch pipeline)."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from minutes.records import Caption
from tests.test_live_service import FakeTranscriber, write_wav
from tests.test_ui_pages import APP, TIMEOUT, _app, _as, _engine, app_env  # noqa: F401 (the fixture)


@pytest.fixture
def live_env(app_env, monkeypatch):  # noqa: F811 (the fixture imported above)
    monkeypatch.setattr("minutes.services.live_job.StreamingTranscriber", FakeTranscriber)
    monkeypatch.setattr("minutes.services.live_job.load_model", lambda *args: None)
    return app_env


def test_live_page_opens_and_shows_the_transcript_and_marks(live_env, tmp_path):
    source = write_wav(tmp_path / "rehearsal.wav", 3.0)
    at = _app("ui/pages/live.py", user="書記", role="書記")
    at.text_input[0].input("ライブ試験")
    at.text_input[1].input(str(source))
    at.checkbox[0].uncheck()
    at.button[0].click().run()  # 開会
    assert not at.exception and not at.error, [e.value for e in at.error]
    meeting_id = int(at.query_params["meeting"][0])
    engine = _engine(live_env)
    services = _as(engine, live_env)
    deadline = time.monotonic() + TIMEOUT
    while not services.live.session(meeting_id).adjourned and time.monotonic() < deadline:
        time.sleep(0.2)  # the input ends after 3 s of audio: 散会
    live = services.live.session(meeting_id)
    engine.dispose()
    assert live.adjourned and live.batch_job_id
    at.run()
    shown = [m.value for m in at.markdown]
    assert any("3秒目" in text and "0:00:02" in text for text in shown), shown
    assert any("散会" in text for text in shown)
    assert "散会しました" in at.success[0].value
    assert not [b for b in at.button if b.label in ("休憩", "再開", "散会")]  # no controls after 散会


def test_live_page_buttons_follow_the_state(live_env, tmp_path):
    source = write_wav(tmp_path / "long.wav", 60.0)
    at = _app("ui/pages/live.py", user="管理", role="管理者")
    at.text_input[0].input("ボタン試験")
    at.text_input[1].input(str(source))
    at.button[0].click().run()  # 開会, read at real-time pace
    labels = [b.label for b in at.button]
    assert "休憩" in labels and "散会" in labels and "再開" not in labels
    at.button(key="live_休憩").click().run()
    labels = [b.label for b in at.button]
    assert "再開" in labels and "休憩" not in labels
    at.radio[0].set_value("メモ")
    at.text_input[-1].input("傍聴者多数")
    at.button[[b.label for b in at.button].index("印を記録")].click().run()
    assert not at.error, [e.value for e in at.error]
    assert any("傍聴者多数" in c.value for c in at.caption)
    at.button(key="issue_link").click().run()
    assert not at.error
    engine = _engine(live_env)
    assert len(_as(engine, live_env).live.display_links(int(at.query_params["meeting"][0]))) == 1
    engine.dispose()
    at.button(key="live_散会").click().run()
    assert not at.exception


def test_captions_page_needs_only_the_link(live_env, tmp_path):
    _app()  # migrate
    engine = _engine(live_env)
    admin = _as(engine, live_env, "管理")
    meeting_id = admin.live.start(title="傍聴席", source=str(write_wav(tmp_path / "a.wav", 1.0)), realtime=True)
    from sqlmodel import Session

    from minutes import store

    with Session(engine) as session:
        store.add_live_captions(
            session, meeting_id=meeting_id, captions=[Caption(i, i + 1.0, f"字幕{i}", True, i + 1.0) for i in range(4)]
        )
        session.commit()
    token = admin.live.issue_display_link(meeting_id)
    engine.dispose()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["display"] = token
    at.run()
    assert not at.exception
    page = " ".join(h.proto.body for h in at.get("html"))
    assert "傍聴席" in page and "字幕3" in page and "字幕0" not in page  # the last three lines only
    assert not at.sidebar.button and "ログイン" not in page
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["display"] = "誤り"
    at.run()
    page = " ".join(h.proto.body for h in at.get("html"))
    assert "この字幕表示リンクは使えません" in page and "傍聴席" not in page
