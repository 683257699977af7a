"""The tables of live transcription (migrations 0010 and 0011), beside ``tables`` (which holds the rest) to keep
each module readable; ``minutes.store`` imports both, so every table is on ``SQLModel.metadata``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from minutes.store.tables import utcnow

# ---------------------------------------------------------------- committed captions (migration 0010)


class LiveCaption(SQLModel, table=True):
    """A committed caption of live transcription (``minutes live``), kept after 散会 to compare with the batch draft
    that replaces it. ``heard`` is how much audio had arrived when it was committed (its latency is heard - end)."""

    __table_args__ = (Index("ix_livecaption_meeting_position", "meeting_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(sa_column=Column(Integer, ForeignKey("meeting.id", ondelete="CASCADE"), nullable=False))
    position: int  # order within the meeting, from 0
    start: float
    end: float
    text: str
    heard: float = 0.0


# ---------------------------------------------------------------- a live session run from the app (migration 0011)


class LiveState:
    RUNNING = "running"  # 開会中: recording and recognizing
    PAUSED = "paused"  # 休憩中: recording, not recognizing
    ADJOURNING = "adjourning"  # 散会を処理中: the live job commits what it heard and stores the recording
    ADJOURNED = "adjourned"  # 散会: an ordinary meeting with its batch job


class LiveSession(SQLModel, table=True):
    """A meeting transcribed live by the worker's ``live`` job; the page changes ``state``, the job follows it."""

    meeting_id: int = Field(sa_column=Column(Integer, ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True))
    source: str = Field(max_length=500)  # a device (alsa:default), a stream URL or a file on the server
    realtime: bool = False  # a file read at the pace of real time (rehearsals)
    state: str = Field(default=LiveState.RUNNING, max_length=16)
    started_by: str = Field(max_length=100)
    started_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    seconds: float = 0.0  # audio recorded so far, all parts
    parts: int = 0  # recording parts started (a restarted job starts a new one: live/meeting-N-PP.wav)
    provisional: str = ""  # the text being recognized, not yet committed
    message: str = ""  # the latest notice for the clerk (Japanese)
    job_id: int | None = None  # the live job
    batch_job_id: int | None = None  # the transcription queued at 散会


class LiveMark(SQLModel, table=True):
    """A mark the clerk put while the meeting ran live (日程第N, a note), or 休憩 / 再開, at ``at`` seconds."""

    __table_args__ = (Index("ix_livemark_meeting_at", "meeting_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(sa_column=Column(Integer, ForeignKey("meeting.id", ondelete="CASCADE"), nullable=False))
    at: float  # seconds of the recording
    kind: str = Field(max_length=16)  # agenda, note, 休憩, 再開
    number: int | None = None  # N of 日程第N
    text: str = Field(default="", max_length=500)
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow)


class DisplayLink(SQLModel, table=True):
    """A link that shows a meeting's live captions (字幕表示) without an account; the link holds the token, the table
    only its SHA-256."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(sa_column=Column(Integer, ForeignKey("meeting.id", ondelete="CASCADE"), nullable=False))
    token_sha256: str = Field(max_length=64, unique=True)
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_by: str | None = Field(default=None, max_length=100)
    revoked_at: datetime | None = None
