"""Every page with streamlit.testing.v1.AppTest against the real services and a real temp SQLite database.

The model boundary is faked (``minutes.services.worker.run_pipeline``), so the background worker finishes a job in a
moment.
"""

from __future__ import annotations

import io
import os
import time
import wave
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from minutes.pipeline import PipelineResult
from minutes.pipeline.cleanup import CleanupOptions, clean_utterances
from minutes.pipeline.rediarize import SeparationResult
from minutes.records import CorrectionRule, SpeakerTurn, Utterance, Word
from minutes.services import Principal, Services
from minutes.settings import Settings
from minutes.store.engine import make_engine
from tests.seeding import seed_meeting, store_meeting, words_of

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "streamlit_app.py")
TIMEOUT = 30


def _wav_bytes(seconds: float = 3.0, rate: int = 16_000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype(np.int16)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


def fake_pipeline(
    source, work_dir, model_path, options, progress, max_duration=None, **identification
) -> PipelineResult:
    for stage in ("decode", "transcribe", "diarize", "assign"):
        progress(stage, 1, 1)
    words = (Word(0.0, 0.5, "ただいま", 0.9), Word(0.5, 1.0, "から", 0.3))
    return PipelineResult(
        "ja",
        3.0,
        ("SPEAKER_00", "SPEAKER_01"),
        (Utterance("SPEAKER_00", 0.0, 1.0, "ただいまから", words), Utterance("SPEAKER_01", 1.2, 2.8, "質問します。")),
        {"decode": 0.01},
    )


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    """A fresh data folder, fresh cached services, a fake pipeline; the worker thread is stopped afterwards."""
    data = tmp_path / "data"
    monkeypatch.setenv("MINUTES_DATA_DIR", str(data))
    monkeypatch.setenv("MINUTES_DEVICE", "cpu")
    monkeypatch.delenv("MINUTES_DATABASE_URL", raising=False)
    monkeypatch.setattr("minutes.services.worker.run_pipeline", fake_pipeline)
    monkeypatch.setattr("minutes.services.runtime.Runtime.whisper_model_path", lambda self, *_: tmp_path)
    st.cache_resource.clear()
    yield data
    from ui import state

    _thread, stop = state.worker()
    stop.set()
    state.runtime().engine.dispose()
    st.cache_resource.clear()


def _engine(data: Path):
    return make_engine(f"sqlite:///{data / 'minutes.db'}")


def _as(engine, data: Path, name: str = "system") -> Services:
    """The services acting for the operating-system user ``name`` on the app's database."""
    return Services.for_user(engine, Settings(data_dir=data), Principal.operator(name))


def login_token(name: str = "佐藤", role: str = "管理者") -> str:
    """A live session of ``name`` (created with ``role`` if missing) in the app's database (MINUTES_DATA_DIR)."""
    from minutes.services.accounts import SignInService
    from minutes.store.engine import migrate
    from minutes.store.tables import User

    data = Path(os.environ["MINUTES_DATA_DIR"])
    engine = _engine(data)
    try:
        migrate(engine)
        auth = SignInService(engine)
        accounts = _as(engine, data, name).accounts  # recorded as added by the new user, as before
        with Session(engine) as session:
            user = session.exec(select(User).where(User.name == name)).first()
        principal = (
            accounts.create_user(name, role, "correct horse battery", must_change_password=False)
            if user is None
            else auth.authenticate(name, "correct horse battery")
        )
        return auth.start_session(principal)
    finally:
        engine.dispose()


def _app(page: str | None = None, meeting_id: int | None = None, user: str = "佐藤", role: str = "管理者") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["auth_token"] = login_token(user, role)
    if meeting_id is not None:
        at.query_params["meeting"] = str(meeting_id)
    at.run()
    if page is not None:
        at.switch_page(page)
        at.run()
    assert not at.exception, at.exception
    return at


def _seeded(data: Path, **kwargs) -> int:
    """Migrate through the app's own service, then store a finished meeting whose recording exists."""
    _app()
    recordings = data / "recordings"
    recordings.mkdir(parents=True, exist_ok=True)
    (recordings / "sample.wav").write_bytes(_wav_bytes(30.0))
    engine = _engine(data)
    try:
        return seed_meeting(engine, **kwargs)
    finally:
        engine.dispose()


def test_meetings_list_filters_and_sorts(app_env):
    first = _seeded(app_env, title="本会議 第１日")
    second = _seeded(app_env, title="総務常任委員会")
    engine = _engine(app_env)
    _as(engine, app_env, "課長").details.finalize(second, expected_version=1)
    engine.dispose()
    at = _app()
    assert at.title[0].value == "会議一覧"
    table = at.dataframe[0].value
    assert set(table["会議名"]) == {"本会議 第１日", "総務常任委員会"}
    assert set(table["状態"]) == {"完了", "確定済み"}
    at.multiselect(key="filter_status").set_value(["finalized"]).run()
    assert list(at.dataframe[0].value["会議名"]) == ["総務常任委員会"]
    at.multiselect(key="filter_status").set_value([]).run()
    at.text_input(key="filter_title").set_value("本会議").run()
    assert list(at.dataframe[0].value["会議名"]) == ["本会議 第１日"]
    at.selectbox(key="sort").set_value("状態").run()
    assert not at.exception
    assert first


def test_new_meeting_uploads_and_the_job_finishes(app_env):
    at = _app("ui/pages/new_meeting.py")
    at.text_input[0].input("令和７年第４回定例会")
    at.file_uploader[0].upload("会議.wav", _wav_bytes(), "audio/wav")
    at.radio[0].set_value("人数を指定")
    at.button[0].click().run()  # the form's submit button
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    meeting_id = int(
        at.query_params["meeting"][0] if isinstance(at.query_params["meeting"], list) else at.query_params["meeting"]
    )
    engine = _engine(app_env)
    editing = _as(engine, app_env)
    deadline = time.monotonic() + TIMEOUT
    while editing.details.meeting(meeting_id).job.status != "succeeded" and time.monotonic() < deadline:
        time.sleep(0.2)
    info = editing.details.meeting(meeting_id)
    engine.dispose()
    assert info.title == "令和７年第４回定例会" and info.job.status == "succeeded" and info.utterance_count == 2
    assert info.recording.path.exists() and info.recording.original_name == "会議.wav"


def test_new_meeting_requires_a_recording(app_env):
    at = _app("ui/pages/new_meeting.py")
    at.text_input[0].input("録音なし")
    at.button[0].click().run()
    assert "録音・録画ファイルを選んでください。" in [e.value for e in at.error]


def test_meeting_page_shows_progress_failure_and_retry(app_env):
    meeting_id = _seeded(app_env)
    engine = _engine(app_env)
    from sqlmodel import Session

    from minutes import store

    with Session(engine) as session:
        job = store.latest_job(session, meeting_id=meeting_id)
        job.status, job.error_message, job.stage = "failed", "音声が含まれていません。", "decode"
        session.add(job)
        session.commit()
    at = _app("ui/pages/meeting.py", meeting_id)
    assert any("音声が含まれていません。" in e.value for e in at.error)
    at.button(key="retry_job").click().run()
    assert not at.exception
    deadline = time.monotonic() + TIMEOUT
    editing = _as(engine, app_env)
    while editing.details.job(meeting_id).status != "succeeded" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert editing.details.job(meeting_id).status == "succeeded"
    engine.dispose()


def test_meeting_page_details_finalize_and_reopen(app_env):
    meeting_id = _seeded(app_env)
    at = _app("ui/pages/meeting.py", meeting_id)
    assert at.title[0].value == "令和７年第４回定例会"
    assert any("文字起こし完了" in s.value for s in at.success)
    assembly = next(t for t in at.text_input if t.label == "議会名")
    assembly.input("大磯町議会")
    next(n for n in at.number_input if n.label == "第N回").set_value(4)
    next(b for b in at.button if b.label == "見出しを保存").click().run()
    assert not at.exception, at.exception
    engine = _engine(app_env)
    editing = _as(engine, app_env)
    info = editing.details.meeting(meeting_id)
    assert info.details.assembly == "大磯町議会" and info.details.session == 4
    at.checkbox(key="confirm_finalize").check().run()
    at.button(key="finalize").click().run()
    assert editing.details.meeting(meeting_id).finalized_by == "佐藤"
    assert any("確定済み" in i.value for i in at.info)
    assert all(t.disabled for t in at.text_input if t.label == "会議名 *")
    next(t for t in at.text_input if t.label == "確定を解除する理由 *").input("訂正の申し出")
    next(b for b in at.button if b.label == "確定を解除する").click().run()
    info = editing.details.meeting(meeting_id)
    assert not info.finalized and info.version == 2
    assert [e.action for e in editing.details.events(meeting_id)] == ["details", "finalize", "reopen"]
    engine.dispose()


def _keys(at: AppTest, prefix: str = "") -> set[str]:
    """The keys of the buttons the last run drew (after a fragment's rerun, AppTest holds only what it drew)."""
    return {b.key for b in at.button if (b.key or "").startswith(prefix)}


def test_editor_shows_text_and_edits_one_line_at_a_time(app_env):
    meeting_id = _seeded(app_env, utterances=120)
    engine = _engine(app_env)
    editing = _as(engine, app_env)
    at = _app("ui/pages/editor.py", meeting_id)
    assert at.title[0].value == "発言の編集"
    lines = editing.transcript.page(meeting_id, 0, 20).lines
    # 20 utterances as text, each with ▶ and 編集; no editing widgets until one is opened
    assert not [t for t in at.text_area if t.key.startswith("text-")]
    assert len(_keys(at, "edit-")) == 20 and len(_keys(at, "play-")) == 20
    assert any(lines[7].text in m.value for m in at.markdown)
    first = lines[0]
    at.button(key=f"edit-{first.id}").click().run()
    assert not at.exception, at.exception
    # opening it drew that utterance alone (its fragment), now with its widgets; the other 49 were not rebuilt
    assert _keys(at) == {f"play-{first.id}", f"edit-{first.id}", f"tools-{first.id}"}
    assert at.button(key=f"edit-{first.id}").label == "閉じる"
    assert at.selectbox(key=f"speaker-{first.id}-1").value == first.speaker_id
    at.text_area(key=f"text-{first.id}-1").input("ただいまから本日の会議を開会します。").run()
    assert editing.transcript.line(first.id).text == "ただいまから本日の会議を開会します。"
    assert _keys(at) == {f"play-{first.id}", f"edit-{first.id}", f"tools-{first.id}"}  # saving, too
    assert [t.value for t in at.toast] == ["保存しました"]
    assert at.text_area(key=f"text-{first.id}-2").value == "ただいまから本日の会議を開会します。"
    # the speaker, saved at once, the new version's widgets drawn
    other = next(s.id for s in editing.speakers.speakers(meeting_id) if s.id != first.speaker_id)
    at.selectbox(key=f"speaker-{first.id}-2").set_value(other).run()
    assert editing.transcript.line(first.id).speaker_id == other
    assert at.selectbox(key=f"speaker-{first.id}-3").value == other
    at.button(key=f"edit-{first.id}").click().run()
    assert not at.text_area and at.button(key=f"edit-{first.id}").label == "編集"
    # another clerk changes an utterance this page shows: opening it starts from the text stored now, not the page's
    at.run()
    sixth = lines[5]
    _as(engine, app_env, "鈴木").transcript.edit_text(sixth.id, text="鈴木さんの修正です。", expected_version=1)
    at.button(key=f"edit-{sixth.id}").click().run()
    assert at.text_area(key=f"text-{sixth.id}-2").value == "鈴木さんの修正です。"
    at.text_area(key=f"text-{sixth.id}-2").input("鈴木さんの修正に続けます。").run()
    assert editing.transcript.line(sixth.id).text == "鈴木さんの修正に続けます。" and not at.error
    # 表示件数: on page 3 of 20 (utterances 41–60), 50 a page shows the page holding utterance 41 (page 1: 1–50);
    # and back to 20 from page 3 of 50
    at.run()
    at.number_input(key=f"page-{meeting_id}").set_value(3).run()
    assert any("120 発言中 41〜60 件目" in c.value for c in at.caption)
    at.selectbox(key="per_page").set_value(50).run()
    assert len(_keys(at, "edit-")) == 50 and at.number_input(key=f"page-{meeting_id}").value == 1
    assert any("120 発言中 1〜50 件目" in c.value for c in at.caption)
    at.number_input(key=f"page-{meeting_id}").set_value(3).run()
    at.selectbox(key="per_page").set_value(20).run()
    assert at.number_input(key=f"page-{meeting_id}").value == 6  # utterance 101 is on page 6 of 20
    assert any("120 発言中 101〜120 件目" in c.value for c in at.caption)
    engine.dispose()


def test_editor_plays_splits_jumps_and_shows_conflicts(app_env):
    meeting_id = _seeded(app_env, utterances=120)
    engine = _engine(app_env)
    editing = _as(engine, app_env)
    at = _app("ui/pages/editor.py", meeting_id)
    lines = editing.transcript.page(meeting_id, 0, 20).lines
    # play from an utterance: only the sidebar's player runs again, positioned at it
    at.button(key=f"play-{lines[3].id}").click().run()
    assert not at.exception, at.exception
    assert any("から再生" in c.value for c in at.sidebar.caption)
    assert not _keys(at, "edit-")  # the list was not drawn again
    at.run()
    # a stale edit: someone else changed line 2 after this clerk opened it
    second = lines[1]
    at.button(key=f"edit-{second.id}").click().run()
    _as(engine, app_env, "鈴木").transcript.edit_text(second.id, text="別の人の修正です。", expected_version=1)
    at.text_area(key=f"text-{second.id}-1").input("私の修正").run()
    assert any("別の人の修正です。" in e.value for e in at.error)
    assert editing.transcript.line(second.id).text == "別の人の修正です。"
    assert at.text_area(key=f"text-{second.id}-2").value == "別の人の修正です。"  # what is stored now, to edit
    assert any("私の修正" in c.value for c in at.code)  # and what this clerk typed, to copy
    at.button(key=f"ack-{second.id}").click().run()
    assert not at.error
    # split via the tools of a line: the list is drawn again with the new utterance
    at.run()
    third = lines[2]
    at.button(key=f"edit-{third.id}").click().run()
    at.button(key=f"tools-{third.id}").click().run()
    at.button(key=f"do-split-{third.id}").click().run()
    assert not at.exception, at.exception
    assert editing.transcript.page(meeting_id, 0, 500).total == 121
    assert len(_keys(at, "edit-")) == 20 and any("121 発言中" in c.value for c in at.caption)
    # jump to a time on page 3
    target = editing.transcript.page(meeting_id, 2, 20).lines[5]
    at.text_input(key="jump_to").input(f"{int(target.start // 60)}:{target.start % 60:05.2f}").run()
    assert at.number_input(key=f"page-{meeting_id}").value == 3
    assert f"edit-{target.id}" in _keys(at)
    engine.dispose()


def test_editor_find_and_replace_and_history_revert(app_env):
    meeting_id = _seeded(app_env)
    engine = _engine(app_env)
    editing = _as(engine, app_env)
    at = _app("ui/pages/editor.py", meeting_id)
    at.text_input(key="find").input("補正予算")
    at.text_input(key="replacement").input("補正予算案")
    next(b for b in at.button if b.label == "プレビュー").click().run()
    assert any("2 箇所" in m.value for m in at.markdown)
    at.button(key="apply_replace").click().run()
    texts = [line.text for line in editing.transcript.page(meeting_id).lines]
    assert sum(t.count("補正予算案") for t in texts) == 2
    assert sum("補正予算案" in m.value for m in at.markdown) == 2  # the list shows the new text at once
    line = next(x for x in editing.transcript.page(meeting_id).lines if "補正予算案" in x.text)
    at.run()
    at.button(key=f"edit-{line.id}").click().run()
    at.button(key=f"tools-{line.id}").click().run()
    at.button(key=f"revert-{line.id}-1").click().run()
    assert "補正予算案" not in editing.transcript.line(line.id).text
    assert "補正予算案" not in at.text_area(key=f"text-{line.id}-3").value
    engine.dispose()


def test_editor_is_read_only_when_finalized(app_env):
    meeting_id = _seeded(app_env)
    engine = _engine(app_env)
    _as(engine, app_env, "課長").details.finalize(meeting_id, expected_version=1)
    line = _as(engine, app_env).transcript.page(meeting_id).lines[0]
    engine.dispose()
    at = _app("ui/pages/editor.py", meeting_id)
    assert any("確定済み" in i.value for i in at.info)
    assert not at.text_area and at.button(key=f"edit-{line.id}").label == "詳細"
    at.button(key=f"edit-{line.id}").click().run()
    areas = [t for t in at.text_area if t.key.startswith("text-")]
    assert areas and all(t.disabled for t in areas)
    assert at.selectbox(key=f"speaker-{line.id}-1").disabled


def test_speakers_page_rename_and_merge(app_env):
    meeting_id = _seeded(app_env)
    engine = _engine(app_env)
    editing = _as(engine, app_env)
    at = _app("ui/pages/speakers.py", meeting_id)
    assert at.title[0].value == "話者"
    assert len(at.get("vega_lite_chart")) == 2
    chair = next(s for s in editing.speakers.speakers(meeting_id) if s.label == "SPEAKER_00")

    def widget(kind: str, name: str):
        return next(w for w in getattr(at, kind) if (w.key or "").startswith(f"sp-{name}-{chair.id}-"))

    widget("text_input", "name").input("大磯一郎")
    widget("text_input", "role").input("議長")
    widget("selectbox", "kind").set_value("議員")
    widget("number_input", "seat").set_value(14)
    widget("button", "save").click().run()
    assert not at.exception, at.exception
    renamed = next(s for s in editing.speakers.speakers(meeting_id) if s.id == chair.id)
    assert (renamed.display, renamed.kind, renamed.seat) == ("議長 大磯一郎", "議員", 14)
    # the new name shows in the editor at once
    at.switch_page("ui/pages/editor.py").run()
    assert any(m.value.startswith("**議長 大磯一郎**") for m in at.markdown)
    at.switch_page("ui/pages/speakers.py").run()
    others = [s for s in editing.speakers.speakers(meeting_id) if s.id != chair.id]
    at.selectbox(key="merge_source").set_value(others[0].id)
    at.selectbox(key="merge_target").set_value(others[1].id)
    at.button(key="merge_speakers").click().run()
    assert len(editing.speakers.speakers(meeting_id)) == 2
    engine.dispose()


# ---------------------------------------------------------------- speakers in the editor (issue 16)

COUNCIL_LINES = [  # (stored label, sentences): the mayor's answers were heard as the member (SPEAKER_01)
    ("SPEAKER_00", ["ただいまから会議を開きます。"]),
    ("SPEAKER_01", ["５番、佐藤です。", "防災について伺います。", "町長。"]),
    ("SPEAKER_01", ["お答えします。", "防災計画を見直しました。"]),
    ("SPEAKER_00", ["５番、佐藤花子議員。"]),
    ("SPEAKER_01", ["ありがとうございました。"]),
]


def _seeded_council(data: Path) -> int:
    """The council meeting of tests/test_speakers_fix.py, short: 2 voices found of 3, the chair's call inside 5番's
    utterance."""
    _app()
    recordings = data / "recordings"
    recordings.mkdir(parents=True, exist_ok=True)
    (recordings / "sample.wav").write_bytes(_wav_bytes(30.0))
    records, t = [], 0.0
    for label, parts in COUNCIL_LINES:
        words = []
        for text in parts:
            words += words_of(text, t, t + 0.3 * len(text))
            t += 0.3 * len(text)
        records.append(Utterance(label, words[0].start, words[-1].end, "".join(parts), tuple(words)))
        t += 0.5
    engine = _engine(data)
    try:
        return store_meeting(engine, title="第４回定例会", utterances=records, duration=t)
    finally:
        engine.dispose()


def test_editor_speaker_tools(app_env, monkeypatch):
    meeting_id = _seeded_council(app_env)
    engine = _engine(app_env)
    editing = _as(engine, app_env)
    at = _app("ui/pages/editor.py", meeting_id)
    lines = editing.transcript.page(meeting_id).lines
    at.button(key=f"edit-{lines[0].id}").click().run()
    box = at.selectbox(key=f"speaker-{lines[0].id}-1")
    assert box.options == ["話者１", "話者２"] and box.value == lines[0].speaker_id  # never SPEAKER_00
    at.run()  # the whole page (opening drew that utterance alone)

    # 1. a new speaker, in every drop-down at once
    at.text_input(key="add_speaker-role").input("町長")
    next(b for b in at.button if b.label == "話者を追加").click().run()
    assert not at.exception, at.exception
    mayor = next(s for s in editing.speakers.speakers(meeting_id) if s.role == "町長")
    assert "町長" in at.selectbox(key=f"speaker-{lines[0].id}-1").options  # the utterance still open
    at.button(key=f"edit-{lines[2].id}").click().run()
    assert "町長" in at.selectbox(key=f"speaker-{lines[2].id}-1").options
    at.button(key=f"edit-{lines[2].id}").click().run()  # closed again
    assert at.button(key=f"edit-{lines[2].id}").label == "編集"
    at.run()

    # 2. the chair's call closing 5番's utterance: one click, the chair's own utterance
    chair = editing.speakers.speakers(meeting_id)[0]
    editing.speakers.update_speaker(chair.id, expected=chair, role="議長")
    at.run()
    at.button(key=f"call-{lines[1].id}-end").click().run()
    assert not at.exception, at.exception
    now = editing.transcript.page(meeting_id).lines
    assert [(x.text, x.speaker_id) for x in now[1:3]] == [
        ("５番、佐藤です。防災について伺います。", lines[1].speaker_id),
        ("町長。", chair.id),
    ]

    # 3. from here on: this and 5番's later utterances are the mayor's
    answer = now[3]
    at.button(key=f"edit-{answer.id}").click().run()
    at.button(key=f"tools-{answer.id}").click().run()
    at.selectbox(key=f"re-speaker-{answer.id}-1").set_value(mayor.id).run()
    at.radio(key=f"re-scope-{answer.id}-1").set_value("until").run()
    assert any("1 発言の話者を「町長」にします" in c.value for c in at.caption)  # the chair speaks next
    at.radio(key=f"re-scope-{answer.id}-1").set_value("same").run()
    assert any("2 発言の話者を「町長」にします" in c.value for c in at.caption)
    at.button(key=f"do-reassign-{answer.id}").click().run()
    assert not at.exception, at.exception
    assert [x.speaker_id for x in editing.transcript.page(meeting_id).lines][3:] == [mayor.id, chair.id, mayor.id]
    assert editing.transcript.history(answer.id)[-1].action == "speaker"

    # 4. split where the typed second part begins, the second part another speaker's
    member_line = now[1]
    at.button(key=f"edit-{member_line.id}").click().run()
    at.button(key=f"tools-{member_line.id}").click().run()
    at.selectbox(key=f"split-at-{member_line.id}-2").set_value(-1).run()
    assert at.text_input(key=f"split-text-{member_line.id}-2").value == "防災について伺います。"  # suggested
    at.text_input(key=f"split-text-{member_line.id}-2").input("防災").run()
    assert any("前半「５番、佐藤です。」" in c.value for c in at.caption)
    at.selectbox(key=f"split-speaker-{member_line.id}-2").set_value(mayor.id).run()
    at.button(key=f"do-split-{member_line.id}").click().run()
    assert not at.exception, at.exception
    parts = editing.transcript.page(meeting_id).lines[1:3]
    assert [(x.text, x.speaker_id) for x in parts] == [
        ("５番、佐藤です。", lines[1].speaker_id),
        ("防災について伺います。", mayor.id),
    ]

    # 5. 話者の分け直し with 3 speakers: queued, run by the worker (the separation faked), progress, then done
    turns = tuple(SpeakerTurn(x.start, x.end, f"V{x.speaker_id}") for x in editing.transcript.page(meeting_id).lines)
    at.run()  # the whole page (the split drew the list alone)
    monkeypatch.setattr(
        "minutes.services.worker.separate_speakers",
        lambda source, work_dir, options, progress, max_duration=None: SeparationResult(30.0, turns, {}),
    )
    at.radio(key="rediarize_mode").set_value("人数を指定")
    at.number_input(key="rediarize_count").set_value(3)
    next(b for b in at.button if b.label == "話者の分け直しを開始").click().run()
    assert not at.exception, at.exception
    job = editing.meetings.speaker_job(meeting_id)
    assert job is not None and job.id
    deadline = time.monotonic() + TIMEOUT
    while editing.meetings.speaker_job(meeting_id).status != "succeeded" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert editing.meetings.speaker_job(meeting_id).status == "succeeded"
    at.run()
    assert any("話者の分け直し" in c.value and "完了" in c.value for c in at.caption)
    assert editing.transcript.page(meeting_id).lines[2].text == "防災について伺います。"
    engine.dispose()


def test_editor_shows_the_raw_and_kebatori_layers_in_one_click(app_env):

    _app()
    engine = _engine(app_env)
    rules = CleanupOptions(rules=(CorrectionRule("一観質問", "一般質問"),))
    records = clean_utterances([Utterance("SPEAKER_00", 0.0, 2.0, "えー、一観質問を行います")], rules)
    meeting_id = store_meeting(engine, title="定例会", utterances=records, duration=3.0)
    engine.dispose()
    at = _app("ui/pages/editor.py", meeting_id)
    assert any("一般質問を行います。" in m.value for m in at.markdown)
    assert not any("素起こし" in m.value for m in at.markdown)
    at.toggle(key="show_layers").set_value(True).run()
    shown = "\n".join(m.value for m in at.markdown)
    assert "素起こし" in shown and "えー、一観質問を行います" in shown
    assert "ケバ取り" in shown and "補正ルール　一観質問→一般質問" in shown
