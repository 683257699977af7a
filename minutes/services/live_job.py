"""The worker's ``live`` job: a meeting transcribed as it happens, run from the app's ライブ page.

The page changes the session's state in the database (開会 → 休憩 → 再開 → 散会); the job follows it. It reads the
input (``minutes.pipeline.live_input``), writes every chunk to the recording as it arrives (a crash-safe WAV,
``<data>/live/meeting-N-PP.wav``), recognizes while the state is 開会 (``StreamingTranscriber``), and writes each
committed caption to ``livecaption`` and the provisional text to the session as they come. During 休憩 it keeps
recording (so times stay those of the recording) but recognizes nothing; what was heard before is committed first.

A job that dies (a crash, a lost input) is requeued by the worker's recovery or retried by the clerk: it starts a
new recording part after the ones kept, and its captions follow those already stored, so nothing recorded or
committed is lost. At 散会 (or when the input ends) :func:`adjourn` joins the parts into one recording, queues the
ordinary transcription on it, and carries the clerk's marks into the meeting; the live captions stay for comparison.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
import wave
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from minutes import store
from minutes.errors import InputError
from minutes.pipeline import PipelineOptions
from minutes.pipeline.live_input import Recorder, open_input
from minutes.pipeline.streaming import StreamingOptions, StreamingTranscriber
from minutes.pipeline.transcribe import load_model
from minutes.progress import ProgressCallback
from minutes.records import SAMPLE_RATE, Caption
from minutes.services.views import AgendaEntry, MeetingDetails, TimeMarkEntry
from minutes.settings import Settings
from minutes.store.live_tables import LiveState

STATE_INTERVAL = 0.5  # seconds between reads of the state the page set, and writes of what was heard
_END = object()


def part_paths(settings: Settings, meeting_id: int) -> list[Path]:
    """The recording parts of a live meeting, in order."""
    return sorted((settings.data_dir / "live").glob(f"meeting-{meeting_id}-*.wav"))


def _seconds(path: Path) -> float:
    try:
        with wave.open(str(path), "rb") as recording:
            return recording.getnframes() / recording.getframerate()
    except (OSError, EOFError, wave.Error):
        return 0.0


class LiveRun:
    """One run of a live job (a retried job is a new run, with a new recording part)."""

    def __init__(
        self, engine: Engine, settings: Settings, job_id: int, model_path: Path, progress: ProgressCallback
    ) -> None:
        self.engine, self.settings, self.progress = engine, settings, progress
        with Session(engine) as session:
            job = store.get_job(session, job_id=job_id)
            live = store.get_live_session(session, meeting_id=job.meeting_id)
            self.meeting_id, self.source, self.realtime = job.meeting_id, live.source, live.realtime
            self.actor = str(job.options.get("requested_by") or "system")
            options = PipelineOptions.from_dict(job.options)
            state, parts = live.state, live.parts
        self.streaming = StreamingOptions(transcription=options.transcription)
        self.model_path = model_path
        kept = part_paths(settings, self.meeting_id)
        self.base = sum(_seconds(path) for path in kept)  # the recording before this run
        self.part = parts + 1
        self.path = settings.data_dir / "live" / f"meeting-{self.meeting_id}-{self.part:02d}.wav"
        notice = ""
        if parts:
            notice = (
                f"ライブ処理が中断したため、{datetime.now():%H:%M} に続きから再開しました"
                f"（それまでの録音 {self.base:.0f} 秒と確定字幕は保存済みです）。"
            )
        self.state = state
        self._write(parts=self.part, message=notice, seconds=self.base, provisional="")

    def _write(self, **values) -> str:
        """Store ``values`` on the session; returns the state the page set."""
        with Session(self.engine) as session:
            live = store.update_live_session(session, meeting_id=self.meeting_id, **values)
            session.commit()
            return live.state

    def run(self) -> None:
        """Record and recognize until 散会 or the end of the input, then :func:`adjourn`."""
        if self.state != LiveState.ADJOURNING:
            self._stream()
        with Session(self.engine) as session:
            adjourn(session, self.settings, self.meeting_id, self.actor)
            session.commit()

    def _stream(self) -> None:
        model = load_model(self.model_path, self.streaming.transcription)
        stop = threading.Event()
        arrived: queue.Queue = queue.Queue()
        with Recorder(self.path) as recorder:
            reader = threading.Thread(
                target=_read, args=(self.source, self.realtime, recorder, arrived, stop), daemon=True
            )
            reader.start()
            try:
                self._follow(model, recorder, arrived)
            finally:
                stop.set()
                reader.join(timeout=5.0)
        if recorder.samples == 0:
            self.path.unlink(missing_ok=True)

    def _follow(self, model, recorder: Recorder, arrived: queue.Queue) -> None:
        transcriber, pending, heard = None, 0.0, 0.0
        offset, last_write, provisional = 0.0, 0.0, ""
        while True:
            items = _take(arrived)
            ended = any(item is _END for item in items)
            for item in items:
                if isinstance(item, BaseException):
                    raise item
            chunks = [item for item in items if not (item is _END or isinstance(item, BaseException))]
            if self.state == LiveState.RUNNING and chunks:
                if transcriber is None:
                    transcriber, offset, pending = StreamingTranscriber(model, self.streaming), self.base + heard, 0.0
                for chunk in chunks:
                    transcriber.insert(chunk)
                    pending += chunk.shape[0] / SAMPLE_RATE
            heard += sum(chunk.shape[0] for chunk in chunks) / SAMPLE_RATE
            captions: list[Caption] = []
            if transcriber is not None and (ended or self.state != LiveState.RUNNING):
                captions, transcriber, provisional = transcriber.finish(), None, ""  # 休憩, 散会: commit what was heard
            elif transcriber is not None and pending >= self.streaming.min_chunk_seconds:
                captions = transcriber.process(provisional=pending <= self.streaming.behind_seconds)
                pending = 0.0
                provisional = "".join(c.text for c in captions if not c.final)
            self._store(captions, offset)
            if captions or ended or time.monotonic() - last_write >= STATE_INTERVAL:
                last_write = time.monotonic()
                seconds = self.base + recorder.seconds
                self.state = self._write(seconds=seconds, provisional=provisional)
                self.progress("live", 0.0, 100.0)  # the heartbeat; raises JobCancelled when cancelled
            if ended:
                return
            if self.state == LiveState.ADJOURNING and transcriber is None:
                return

    def _store(self, captions: list[Caption], offset: float) -> None:
        committed = [_shifted(c, offset) for c in captions if c.final]
        if not committed:
            return
        with Session(self.engine) as session:
            store.add_live_captions(session, meeting_id=self.meeting_id, captions=committed)
            session.commit()


def _shifted(caption: Caption, offset: float) -> Caption:
    """A caption of one recognizing stretch in seconds of the whole recording."""
    return dataclasses.replace(
        caption, start=caption.start + offset, end=caption.end + offset, heard=caption.heard + offset
    )


def _take(arrived: queue.Queue) -> list:
    try:
        items = [arrived.get(timeout=0.2)]
    except queue.Empty:
        return []
    while True:
        try:
            items.append(arrived.get_nowait())
        except queue.Empty:
            return items


def _read(source: str, realtime: bool, recorder: Recorder, arrived: queue.Queue, stop: threading.Event) -> None:
    """The input's chunks, each written to the recording as it arrives (whatever the state), then handed on."""
    try:
        for chunk in open_input(source, realtime=realtime):
            recorder.write(chunk)
            arrived.put(chunk)
            if stop.is_set():
                return
    except BaseException as error:  # handed to the job, which fails with it (the recording is kept)
        if isinstance(error, InputError) and recorder.samples:
            error = InputError(
                "入力が途切れました。録音と確定字幕は保存されています。入力を確かめて「続行」するか、「散会」してください。",
                error.detail,
            )
        arrived.put(error)
    arrived.put(_END)


# ---------------------------------------------------------------- 散会


def adjourn(session: Session, settings: Settings, meeting_id: int, actor: str) -> int | None:
    """散会: join the recording parts into the meeting's recording, queue its transcription and carry the clerk's
    日程 marks into the 議事日程; returns the transcription job (None when no audio was recorded)."""
    live = store.get_live_session(session, meeting_id=meeting_id)
    live_job = store.get_job(session, job_id=live.job_id)
    parts = [path for path in part_paths(settings, meeting_id) if _seconds(path) > 0]
    if not parts:
        store.update_live_session(
            session, meeting_id=meeting_id, state=LiveState.ADJOURNED, provisional="",
            message="音声を受け取れなかったため、録音はありません。",
        )  # fmt: skip
        store.add_event(session, meeting_id=meeting_id, action="live_adjourn", actor=actor, detail={"seconds": 0})
        return None
    joined = settings.data_dir / "live" / f"meeting-{meeting_id}.wav"
    seconds = _join(parts, joined)
    folder = settings.recordings_dir / datetime.now().strftime("%Y/%m")
    stored = store.files.save_file(joined, root=settings.data_dir, folder=folder, max_bytes=1 << 62)
    store.replace_recording_file(
        session,
        recording_id=live_job.recording_id,
        stored_path=stored.relative_path,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
    )
    options = {key: value for key, value in live_job.options.items() if key not in ("kind", "requested_by")}
    job = store.enqueue_job(session, meeting_id=meeting_id, recording_id=live_job.recording_id, options=options)
    _carry_agenda(session, meeting_id, seconds)
    store.update_live_session(
        session, meeting_id=meeting_id, state=LiveState.ADJOURNED, provisional="", batch_job_id=job.id, seconds=seconds
    )
    store.add_event(
        session, meeting_id=meeting_id, action="live_adjourn", actor=actor, detail={"seconds": seconds, "job": job.id}
    )
    session.flush()
    for path in [*parts, joined]:
        path.unlink(missing_ok=True)  # stored under recordings/ now
    return job.id


def _join(parts: list[Path], target: Path) -> float:
    """One WAV of the parts, in order; returns its seconds."""
    frames = 0
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        for part in parts:
            with wave.open(str(part), "rb") as recording:
                data = recording.readframes(recording.getnframes())
            out.writeframes(data)
            frames += len(data) // 2
    return frames / SAMPLE_RATE


def _carry_agenda(session: Session, meeting_id: int, seconds: float) -> None:
    """The 日程第N marks become items of the 議事日程 (those already there are kept); 開会・閉会 from the session."""
    meeting = store.get_meeting(session, meeting_id=meeting_id)
    details = MeetingDetails.from_dict(meeting.details)
    known = {entry.order for entry in details.agenda}
    added = []
    for mark in store.live_marks_of(session, meeting_id=meeting_id):
        if mark.kind == "agenda" and mark.number is not None and mark.number not in known:
            known.add(mark.number)
            added.append(AgendaEntry(mark.text or f"日程第{mark.number}", mark.number))
    agenda = tuple(sorted((*details.agenda, *added), key=lambda e: (e.order is None, e.order or 0)))
    changes: dict = {"agenda": agenda}
    if meeting.held_at is not None:
        changes |= {"opened": meeting.held_at.time(), "closed": (meeting.held_at + timedelta(seconds=seconds)).time()}
    store.set_details(session, meeting_id=meeting_id, details=dataclasses.replace(details, **changes).to_dict())


def apply_live_marks(session: Session, meeting_id: int) -> None:
    """After the transcription of a live meeting: utterances from a 日程第N mark to the next go under that item, and
    the 休憩・再開 marks become time marks of the 会議録 after the utterance they followed."""
    marks = store.live_marks_of(session, meeting_id=meeting_id)
    if not marks:
        return
    utterances = store.utterances_of(session, meeting_id=meeting_id)
    agenda = [mark for mark in marks if mark.kind == "agenda" and mark.number is not None]
    for index, mark in enumerate(agenda):
        until = agenda[index + 1].at if index + 1 < len(agenda) else float("inf")
        ids = [u.id for u in utterances if mark.at <= u.start < until]
        store.set_agenda_order(session, meeting_id=meeting_id, utterance_ids=ids, agenda_order=mark.number)
    meeting = store.get_meeting(session, meeting_id=meeting_id)
    if meeting.held_at is None:
        return
    details = MeetingDetails.from_dict(meeting.details)
    breaks = []
    for mark in marks:
        if mark.kind in ("休憩", "再開"):
            before = [u.seq for u in utterances if u.start < mark.at]
            at = (meeting.held_at + timedelta(seconds=mark.at)).time().replace(second=0, microsecond=0)
            breaks.append(TimeMarkEntry(mark.kind, at, before[-1] if before else None))
    if breaks:
        kept = tuple(m for m in details.time_marks if m.kind not in ("休憩", "再開"))
        details = dataclasses.replace(details, time_marks=(*kept, *breaks))
        store.set_details(session, meeting_id=meeting_id, details=details.to_dict())
