"""Database tables (SQLModel), all in one module. Record times are aware UTC; audio times are seconds."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import NaiveDatetime
from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class JobStatus:
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    FINISHED = (SUCCEEDED, FAILED, CANCELLED)


class MeetingBase(SQLModel):
    title: str = Field(max_length=200)  # 会議名
    kind: str = Field(default="", max_length=100)  # 種別 (本会議, 常任委員会, 全員協議会, 庁内会議 ...)
    held_at: NaiveDatetime | None = None  # 開催日時: wall-clock time where the assembly sits
    place: str = Field(default="", max_length=200)  # 場所


class Meeting(MeetingBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    language: str = Field(default="ja", max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    version: int = 1  # raised by every reopen after finalizing
    finalized_at: datetime | None = None
    finalized_by: str | None = None


class Recording(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    original_name: str = Field(max_length=255)  # shown to people only; never used as a path
    stored_path: str = Field(max_length=500)  # relative to the data directory
    size_bytes: int
    sha256: str = Field(max_length=64)
    duration: float | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Job(SQLModel, table=True):
    __table_args__ = (Index("ix_job_status_created", "status", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    recording_id: int = Field(foreign_key="recording.id")
    status: str = Field(default=JobStatus.QUEUED, max_length=16)
    stage: str = Field(default="queued", max_length=32)
    progress: float = 0.0  # 0–100, only rises while running
    options: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    model: str = Field(default="", max_length=500)  # the Whisper model folder the job ran with
    stage_seconds: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error_message: str | None = None  # for the clerk (Japanese)
    error_detail: str | None = None  # for the administrator
    attempts: int = 0
    worker_id: str | None = Field(default=None, max_length=200)
    heartbeat_at: datetime | None = None
    cancel_requested: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None


class Speaker(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("meeting_id", "label"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    label: str = Field(max_length=64)  # diarization label, e.g. SPEAKER_00
    name: str | None = Field(default=None, max_length=100)  # 山田太郎
    role: str | None = Field(default=None, max_length=100)  # 議長, 町長, ３番 議員, 総務課長


class Utterance(SQLModel, table=True):
    __table_args__ = (Index("ix_utterance_meeting_seq", "meeting_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id")
    speaker_id: int = Field(foreign_key="speaker.id", index=True)
    seq: int  # order within the meeting
    start: float
    end: float
    text: str
    # [{"start": s, "end": s, "text": "...", "probability": p}, ...] as recognised (kept when the text is edited)
    words: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    edited: bool = False
    version: int = 1  # raised by every edit; for detecting stale edits
