"""The live session run from the app, on a real SQLite database: 開会 → 休憩 → 再開 → 散会 by the worker's ``live``
job reading a real WAV through PyAV at real-time pace, permissions, a restarted job, and the 字幕表示 links.

The model boundary is faked (``StreamingTranscriber``: one committed caption per second of audio it was given)."""

from __future__ import annotations

import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import Session, select

from minutes import store
from minutes.errors import InputError, NotFoundError, PermissionDenied
from minutes.records import SAMPLE_RATE, Caption
from minutes.services import Runtime
from minutes.services.permissions import Role
from minutes.services.worker import Worker
from minutes.settings import Settings
from minutes.store.tables import AuditEvent


class FakeTranscriber:
    """The model boundary: a committed caption 「N秒目」 for every whole second inserted (times from its own start)."""

    def __init__(self, model, options, progress=None) -> None:
        self.samples = 0
        self.done = 0

    def insert(self, samples) -> None:
        self.samples += len(samples)

    def process(self, *, provisional: bool = True) -> list[Caption]:
        captions = []
        while self.samples >= (self.done + 1) * SAMPLE_RATE:
            captions.append(Caption(self.done, self.done + 1.0, f"{self.done + 1}秒目", True, self.done + 1.0))
            self.done += 1
        return [*captions, Caption(self.done, self.done + 0.5, "認識中", False, self.done + 0.5)]

    def finish(self) -> list[Caption]:
        return [c for c in self.process() if c.final]


def write_wav(path: Path, seconds: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes((0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype(np.int16).tobytes())
    return path


@pytest.fixture
def live_runtime(tmp_path, monkeypatch):
    monkeypatch.setattr("minutes.services.live_job.StreamingTranscriber", FakeTranscriber)
    monkeypatch.setattr("minutes.services.live_job.load_model", lambda *args: None)
    monkeypatch.setattr(Runtime, "whisper_model_path", lambda self, override=None, settings=None: tmp_path)
    data = tmp_path / "data"
    runtime = Runtime(Settings(data_dir=data, database_url=f"sqlite:///{data / 'minutes.db'}", device="cpu"))
    yield runtime
    runtime.engine.dispose()


def _user(runtime: Runtime, name: str, role: str):
    principal = runtime.operator("system").accounts.create_user(name, role, "correct horse battery")
    return runtime.services(principal)


def _wait(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _run_live_job(runtime: Runtime, job_id: int) -> threading.Thread:
    thread = threading.Thread(target=Worker(runtime, heartbeat_interval=0.5).run_job, args=(job_id,), daemon=True)
    thread.start()
    return thread


def test_open_pause_resume_adjourn(live_runtime, tmp_path):
    clerk = _user(live_runtime, "書記", Role.CLERK)
    source = write_wav(tmp_path / "meeting.wav", 5.0)
    meeting_id = clerk.live.start(title="ライブ定例会", source=str(source), realtime=True)
    live = clerk.live.session(meeting_id)
    assert live.running and live.job.status == "queued" and live.state_label == "開会中"
    thread = _run_live_job(live_runtime, live.job.id)
    _wait(lambda: len(clerk.live.captions(meeting_id)) >= 1)
    clerk.live.add_mark(meeting_id, kind="agenda", number=1, text="議案第５号")
    clerk.live.pause(meeting_id)
    with pytest.raises(InputError, match="休憩中のため「休憩」はできません"):
        clerk.live.pause(meeting_id)
    time.sleep(1.5)
    paused_at = len(clerk.live.captions(meeting_id))
    time.sleep(1.0)
    assert len(clerk.live.captions(meeting_id)) == paused_at  # nothing recognized during 休憩
    clerk.live.resume(meeting_id)
    thread.join(timeout=20)  # the input ends: 散会
    live = clerk.live.session(meeting_id)
    assert live.adjourned and live.job.status == "succeeded" and live.batch_job_id is not None
    captions = clerk.live.captions(meeting_id)
    starts = [c.start for c in captions]
    assert starts == sorted(starts) and len(captions) < 5  # the 休憩 was recorded, not recognized
    assert [m.kind for m in clerk.live.marks(meeting_id)] == ["agenda", "休憩", "再開"]
    with Session(live_runtime.engine) as session:
        batch = store.get_job(session, job_id=live.batch_job_id)
        recording = store.get_recording(session, recording_id=batch.recording_id)
        assert store.job_kind(batch) == "transcribe" and batch.status == "queued"
        meeting = store.get_meeting(session, meeting_id=meeting_id)
    stored = live_runtime.settings.data_dir / recording.stored_path
    with wave.open(str(stored), "rb") as joined:
        assert abs(joined.getnframes() / SAMPLE_RATE - 5.0) < 0.1  # the whole input, 休憩 included
    assert recording.sha256 and not list((live_runtime.settings.data_dir / "live").glob("*.wav"))
    assert meeting.details["agenda"][0]["order"] == 1 and meeting.details["agenda"][0]["title"] == "議案第５号"


def test_a_restarted_job_keeps_what_was_recorded(live_runtime, tmp_path):
    clerk = _user(live_runtime, "書記", Role.CLERK)
    source = write_wav(tmp_path / "meeting.wav", 2.0)
    meeting_id = clerk.live.start(title="中断する会議", source=str(source), realtime=False)
    job_id = clerk.live.session(meeting_id).job.id
    # an earlier run that died: its recording part and a committed caption are kept
    write_wav(live_runtime.settings.data_dir / "live" / f"meeting-{meeting_id}-01.wav", 3.0)
    with Session(live_runtime.engine) as session:
        store.add_live_captions(session, meeting_id=meeting_id, captions=[Caption(0.0, 1.0, "前の分", True, 1.0)])
        store.update_live_session(session, meeting_id=meeting_id, parts=1)
        session.commit()
    _run_live_job(live_runtime, job_id).join(timeout=20)
    live = clerk.live.session(meeting_id)
    assert "中断したため" in live.message and "3 秒" in live.message
    captions = clerk.live.captions(meeting_id)
    assert captions[0].text == "前の分" and captions[1].start == pytest.approx(3.0)  # after the kept part
    with Session(live_runtime.engine) as session:
        recording = store.get_recording(
            session, recording_id=store.get_job(session, job_id=live.batch_job_id).recording_id
        )
    with wave.open(str(live_runtime.settings.data_dir / recording.stored_path), "rb") as joined:
        assert abs(joined.getnframes() / SAMPLE_RATE - 5.0) < 0.1


def test_adjourn_a_failed_job_stores_what_was_recorded(live_runtime, tmp_path):
    clerk = _user(live_runtime, "書記", Role.CLERK)
    meeting_id = clerk.live.start(title="失敗", source=str(write_wav(tmp_path / "a.wav", 1.0)))
    write_wav(live_runtime.settings.data_dir / "live" / f"meeting-{meeting_id}-01.wav", 2.0)
    with Session(live_runtime.engine) as session:
        job = store.get_job(session, job_id=clerk.live.session(meeting_id).job.id)
        job.status, job.error_message = "failed", "入力が途切れました。"
        session.add(job)
        session.commit()
    live = clerk.live.session(meeting_id)
    assert live.stopped
    live = clerk.live.adjourn(meeting_id)
    assert live.adjourned and live.batch_job_id is not None


def test_permissions_and_bad_input(live_runtime, tmp_path):
    viewer = _user(live_runtime, "閲覧", Role.VIEWER)
    editor = _user(live_runtime, "編集", Role.EDITOR)
    clerk = _user(live_runtime, "書記", Role.CLERK)
    source = str(write_wav(tmp_path / "a.wav", 1.0))
    with pytest.raises(PermissionDenied):
        viewer.live.start(title="x", source=source)
    with pytest.raises(InputError, match="見つかりません"):
        clerk.live.start(title="x", source=str(tmp_path / "none.wav"))
    with pytest.raises(InputError, match="会議名"):
        clerk.live.start(title=" ", source=source)
    meeting_id = clerk.live.start(title="権限", source=source)
    with pytest.raises(PermissionDenied):
        editor.live.pause(meeting_id)
    with pytest.raises(PermissionDenied):
        editor.live.add_mark(meeting_id, kind="note", text="メモ")
    with pytest.raises(InputError, match="メモを入力"):
        clerk.live.add_mark(meeting_id, kind="note", text="")
    with pytest.raises(PermissionDenied):
        clerk.live.issue_display_link(meeting_id)  # administrators only
    assert editor.live.session(meeting_id).running  # an editor may follow it


def test_display_links_issue_show_revoke_and_closed_meetings(live_runtime, tmp_path):
    admin = _user(live_runtime, "管理", Role.ADMIN)
    meeting_id = admin.live.start(title="公開の会議", source=str(write_wav(tmp_path / "a.wav", 1.0)))
    with Session(live_runtime.engine) as session:
        store.add_live_captions(
            session, meeting_id=meeting_id, captions=[Caption(i, i + 1.0, f"行{i}", True, i + 1.0) for i in range(5)]
        )
        store.update_live_session(session, meeting_id=meeting_id, provisional="いま話している")
        session.commit()
    token = admin.live.issue_display_link(meeting_id)
    shown = live_runtime.caption_display(token)
    assert shown.title == "公開の会議" and shown.lines == ("行2", "行3", "行4")
    assert shown.provisional == "いま話している"
    with pytest.raises(NotFoundError):
        live_runtime.caption_display("誤ったトークン")
    with pytest.raises(NotFoundError):
        live_runtime.caption_display(None)
    # a meeting made 非公開 stops showing, and no link can be issued for it
    with Session(live_runtime.engine) as session:
        meeting = store.get_meeting(session, meeting_id=meeting_id)
        meeting.closed = True
        session.add(meeting)
        session.commit()
    with pytest.raises(NotFoundError):
        live_runtime.caption_display(token)
    with pytest.raises((InputError, PermissionDenied)):  # InputError 非公開・秘密会 for a member of its list
        admin.live.issue_display_link(meeting_id)
    with Session(live_runtime.engine) as session:
        meeting = store.get_meeting(session, meeting_id=meeting_id)
        meeting.closed = False
        session.add(meeting)
        session.commit()
    [link] = admin.live.display_links(meeting_id)
    admin.live.revoke_display_link(link.id)
    with pytest.raises(NotFoundError):
        live_runtime.caption_display(token)
    assert admin.live.display_links(meeting_id)[0].revoked_by == "管理"
    with Session(live_runtime.engine) as session:
        actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.actor == "管理"))]
    assert "display_link_issue" in actions and "display_link_revoke" in actions
