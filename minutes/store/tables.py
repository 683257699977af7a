"""Database tables (SQLModel), all in one module. Record times are aware UTC; audio times are seconds."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import NaiveDatetime
from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, UniqueConstraint
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


DEFAULT_ORG = 1  # the organisation (団体) every database starts with; rows older than migration 0013 belong to it


class Organization(SQLModel, table=True):
    """One assembly (団体) of a shared installation: owns the rows with its ``org_id`` (services/organizations.py)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)  # 〇〇町議会
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow)


def org_field():
    """The ``org_id`` column of a table whose rows belong to one organisation (the default one for older rows)."""
    return Field(default=DEFAULT_ORG, index=True, sa_column_kwargs={"server_default": str(DEFAULT_ORG)})


class MeetingBase(SQLModel):
    title: str = Field(max_length=200)  # 会議名
    kind: str = Field(default="", max_length=100)  # 種別 (本会議, 常任委員会, 全員協議会, 庁内会議 ...)
    held_at: NaiveDatetime | None = None  # 開催日時: wall-clock time where the assembly sits
    place: str = Field(default="", max_length=200)  # 場所


class Meeting(MeetingBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = org_field()
    language: str = Field(default="ja", max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    version: int = 1  # raised by every reopen after finalizing
    finalized_at: datetime | None = None
    finalized_by: str | None = None
    # Raised by every change of the meeting row (details, finalize, reopen); for detecting stale edits. ``version``
    # above is the document's version (第N版) and only rises on reopen.
    edit_version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    # The 会議録 header beyond the columns above, as ``minutes.services.views.MeetingDetails.to_dict()``: assembly
    # (議会名), session (第N回), issue (第N号), convened (招集年月日), opened/closed (開会・閉会), attendees, absentees,
    # explainers, staff (people), agenda (議事日程).
    details: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}"))
    # 非公開・秘密会: visible only to the users listed in MeetingAccess (minutes.services.permissions.can_see).
    closed: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})


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
    # With MINUTES_QUEUE_URL: the Celery queue (cpu, gpu) the job's "run job N" message went to, and when it was sent
    # (NULL while queued and not yet sent: a retry or a requeue clears it, so the job is sent again).
    queue: str | None = Field(default=None, max_length=16)
    dispatched_at: datetime | None = None


class Speaker(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("meeting_id", "label"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    label: str = Field(max_length=64)  # diarization label, e.g. SPEAKER_00
    name: str | None = Field(default=None, max_length=100)  # 山田太郎
    role: str | None = Field(default=None, max_length=100)  # 議長, 町長, ３番 議員, 総務課長
    seat: int | None = None  # 議席番号
    kind: str | None = Field(default=None, max_length=16)  # exports.SpeakerKind value: 議員, 説明員, 職員, その他
    yomi: str | None = Field(default=None, max_length=100)  # reading of the name (かな)
    group: str | None = Field(default=None, max_length=100)  # 会派
    # Who this speaker is in the assembly's roster (migration 0008). The fields above are copied from the person and
    # the title held on the meeting's date when the link is made, so a later roster change never alters a record.
    person_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("person.id", ondelete="SET NULL"), nullable=True)
    )
    # how well the voice matched the linked person (or, when person_id is None, the suggested one): 0–1, calibrated
    person_score: float | None = None
    suggested_person_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("person.id", ondelete="SET NULL"), nullable=True)
    )
    person_confirmed: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})  # a clerk linked it


class Utterance(SQLModel, table=True):
    __table_args__ = (
        Index("ix_utterance_meeting_seq", "meeting_id", "seq"),
        # Covers the join of search hits to their meeting and speaker without reading the (large) rows.
        Index("ix_utterance_search", "id", "meeting_id", "speaker_id", "seq"),
    )

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
    # The 議事日程 item this utterance belongs to, by its number (日程第N = ``AgendaEntry.order``); None: unassigned.
    agenda_order: int | None = None
    # The layers (``minutes.pipeline.cleanup``): ``text`` is the 整文 layer, edited by clerks; ``raw`` (素起こし, as
    # recognized, never edited) and ``kebatori`` (fillers removed) are kept beside it. None (meetings stored before
    # migration 0009): the same as ``text``.
    raw: str | None = None
    kebatori: str | None = None
    # The correction rules the draft applied: [{"wrong", "right", "context", "id"}]
    corrections: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))


class UtteranceRevision(SQLModel, table=True):
    """The state of an utterance after each edit (``version`` as on the utterance). The recognised state is stored as
    version 1 by the first edit, so every earlier version can be restored."""

    __table_args__ = (UniqueConstraint("utterance_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    # Revisions go with their utterance (merging two utterances, or a new transcription that replaces them all).
    utterance_id: int = Field(sa_column=Column(Integer, ForeignKey("utterance.id", ondelete="CASCADE"), nullable=False))
    version: int
    text: str
    speaker_id: int = Field(foreign_key="speaker.id")
    action: str = Field(default="edit", max_length=16)  # recognized, edit, speaker, split, merge, replace, revert
    edited_by: str | None = Field(default=None, max_length=100)  # None: the recognizer
    edited_at: datetime = Field(default_factory=utcnow)


class MeetingEvent(SQLModel, table=True):
    """Audit trail of actions on a whole meeting: finalize, reopen, speaker merge, find & replace, details."""

    __table_args__ = (Index("ix_meetingevent_meeting_at", "meeting_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(sa_column=Column(Integer, ForeignKey("meeting.id", ondelete="CASCADE"), nullable=False))
    action: str = Field(max_length=32)
    actor: str = Field(max_length=100)
    at: datetime = Field(default_factory=utcnow)
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# ---------------------------------------------------------------- paperless: materials and archives


class MaterialKind:
    PDF = "pdf"
    DOCX = "docx"
    XLSX = "xlsx"
    PPTX = "pptx"
    IMAGE = "image"
    TEXT = "text"


class Material(SQLModel, table=True):
    """A document attached to a meeting or to one of its agenda items (資料). The file is stored under the data
    directory by a system-made name; ``original_name`` is for showing only."""

    __table_args__ = (Index("ix_material_meeting_agenda", "meeting_id", "agenda_order"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(sa_column=Column(Integer, ForeignKey("meeting.id", ondelete="CASCADE"), nullable=False))
    agenda_order: int | None = None  # 日程第N it belongs to; None: the meeting as a whole
    title: str = Field(max_length=255)  # 資料名 (the file name unless the clerk gave one)
    original_name: str = Field(max_length=255)  # shown to people only; never used as a path
    kind: str = Field(max_length=16)  # a MaterialKind value, decided by the content
    mime_type: str = Field(max_length=100)
    stored_path: str = Field(max_length=500)  # relative to the data directory
    size_bytes: int
    sha256: str = Field(max_length=64)
    pages: int = 0  # pages (PDF), sheets (Excel), slides (PowerPoint); 1 for the rest
    uploaded_by: str = Field(max_length=100)
    uploaded_at: datetime = Field(default_factory=utcnow)


class MaterialText(SQLModel, table=True):
    """The text of one page, sheet or slide of a material, for search (indexed by ``materialtext_fts``)."""

    __table_args__ = (UniqueConstraint("material_id", "page"),)

    id: int | None = Field(default=None, primary_key=True)
    material_id: int = Field(
        sa_column=Column(Integer, ForeignKey("material.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    page: int  # 1-based page, sheet or slide number
    label: str = Field(default="", max_length=200)  # ３ページ, シート「歳入」, スライド２
    text: str


class Archive(SQLModel, table=True):
    """One archive package of a finalized meeting (第N版): a read-only folder with a manifest of SHA-256 sums."""

    __table_args__ = (UniqueConstraint("meeting_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(sa_column=Column(Integer, ForeignKey("meeting.id", ondelete="CASCADE"), nullable=False))
    version: int  # Meeting.version at finalization
    path: str = Field(max_length=500)  # the folder, relative to the data directory
    manifest_sha256: str = Field(max_length=64)  # a changed manifest shows even if its sums were rewritten
    files: int
    total_bytes: int
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow)


# ---------------------------------------------------------------- accounts and audit (migration 0004)


class User(SQLModel, table=True):
    """A person who signs in to the app. ``auth_provider`` is "local" (argon2 password here); room for SSO later."""

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = org_field()
    name: str = Field(max_length=100, unique=True)  # login name, shown in records (佐藤); unique in the installation
    role: str = Field(max_length=16)  # minutes.services.permissions.Role value: 管理者, 書記, 編集者, 閲覧者
    auth_provider: str = Field(default="local", max_length=32)
    password_hash: str | None = Field(default=None, max_length=255)  # argon2id; None for external providers
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None
    must_change_password: bool = False  # set with an initial or reset password; cleared when the user changes it


class UserSession(SQLModel, table=True):
    """A signed-in browser session; the browser holds the token, the table only its SHA-256."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("user.id", ondelete="CASCADE"), index=True))
    token_sha256: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime  # absolute end, whatever the activity
    revoked_at: datetime | None = None
    ip: str | None = Field(default=None, max_length=64)


class MeetingAccess(SQLModel, table=True):
    """Who may see a closed meeting (非公開・秘密会): only the users listed here, administrators included."""

    meeting_id: int = Field(sa_column=Column(Integer, ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True))
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("user.id", ondelete="CASCADE"), primary_key=True))


class AuditEvent(SQLModel, table=True):
    """The append-only audit trail (SQLite triggers refuse UPDATE and DELETE; migration 0004), hash-chained: each
    event carries the previous event's hash and its own (``minutes.store.audit``; migration 0006)."""

    __table_args__ = (Index("ix_auditevent_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    # whose event (0013; store/audit.py says which): not chained, so older hashes hold; the triggers guard it too
    org_id: int | None = Field(default=None, index=True, sa_column_kwargs={"server_default": str(DEFAULT_ORG)})
    at: datetime = Field(default_factory=utcnow)
    actor: str = Field(max_length=100)
    actor_kind: str = Field(max_length=16)  # app, cli, system
    action: str = Field(max_length=32)
    target_type: str = Field(default="", max_length=32)
    target_id: str = Field(default="", max_length=64)
    before: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    ip: str | None = Field(default=None, max_length=64)
    # the hash chain (migration 0006): the previous event's hash and this one's, over its content and that hash
    prev_hash: str | None = Field(default=None, max_length=64)
    hash: str | None = Field(default=None, max_length=64)


# ---------------------------------------------------------------- settings (migration 0005)


class AppSetting(SQLModel, table=True):
    """An operational setting changed by an administrator in the app (minutes.services.admin); the environment wins."""

    org_id: int = Field(default=DEFAULT_ORG, primary_key=True, sa_column_kwargs={"server_default": "1"})  # its own
    key: str = Field(primary_key=True, max_length=64)  # a minutes.settings.Settings field name
    value: dict = Field(sa_column=Column(JSON, nullable=False))  # {"value": ...}
    updated_by: str = Field(max_length=100)
    updated_at: datetime = Field(default_factory=utcnow)


# ---------------------------------------------------------------- the roster and voice profiles (migration 0008)


class Person(SQLModel, table=True):
    """One person of the assembly's roster (名簿): a member, an official who answers, a staff member."""

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = org_field()
    name: str = Field(max_length=100, index=True)  # 高橋一郎 (no spaces, no honorific)
    yomi: str = Field(default="", max_length=100)  # たかはしいちろう
    kind: str = Field(max_length=16)  # exports.SpeakerKind value: 議員, 説明員, 職員, その他
    seat: int | None = None  # 議席番号 (議員)
    group: str = Field(default="", max_length=100)  # 会派
    retired: bool = False  # no longer in office: kept for old records, not offered for new meetings
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class PersonTitle(SQLModel, table=True):
    """A title a person holds for a period (議長 2023-05-01 – , 総務課長 2024-04-01 – 2025-03-31)."""

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(
        sa_column=Column(Integer, ForeignKey("person.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    title: str = Field(max_length=100)
    starts: date | None = None  # None: since ever
    ends: date | None = None  # None: still held (inclusive end otherwise)


class VoiceSample(SQLModel, table=True):
    """One speaker embedding of a person's voice, never audio: a person's voice profile is the set of them.

    Personal data: added when a meeting with the person's speech is finalized or on purpose (enroll), deleted by an
    administrator, every change audited."""

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(
        sa_column=Column(Integer, ForeignKey("person.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    embedding: bytes  # float32 little-endian, unit length
    model: str = Field(max_length=100)  # which embedding model made it; samples of another model are not compared
    seconds: float  # speech it was computed from
    source: str = Field(max_length=16)  # "meeting" or "enroll"
    meeting_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("meeting.id", ondelete="SET NULL"), nullable=True)
    )
    # where it came from, for people: 「第3回定例会 12発言」「a.wav 10–40秒」
    detail: str = Field(default="", max_length=300)
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow)


# ---------------------------------------------------------------- the assembly's dictionary (migration 0007)


class DictionaryTerm(SQLModel, table=True):
    """A word of the assembly's 用語辞書, favoured in recognition (``minutes.pipeline.vocabulary``)."""

    __table_args__ = (UniqueConstraint("org_id", "text", name="uq_dictionaryterm_org_text"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = org_field()
    text: str = Field(max_length=60)  # 表記: 山田 花子, 町営バス東循環線 (once per organisation)
    reading: str = Field(default="", max_length=60)  # 読み (かな); may be empty
    kind: str = Field(default="その他", max_length=16)  # 種別: minutes.pipeline.vocabulary.KINDS
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
    updated_by: str = Field(max_length=100)
    updated_at: datetime = Field(default_factory=utcnow)


# ---------------------------------------------------------------- correction rules and proposals (migration 0009)


class Correction(SQLModel, table=True):
    """An accepted correction rule (誤→正), applied to every new draft's 整文 layer (``minutes.pipeline.cleanup``)."""

    __table_args__ = (UniqueConstraint("org_id", "wrong", "right", "context", name="uq_correction_org_rule"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = org_field()
    wrong: str = Field(max_length=60)  # 誤: 長栄バス
    right: str = Field(max_length=60)  # 正: 町営バス
    context: str = Field(default="", max_length=60)  # only there ("" = everywhere)
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow)


class CorrectionProposal(SQLModel, table=True):
    """The same replacement seen in clerks' edits: proposed as a rule once seen in two places. ``status``: open,
    accepted, dismissed (a dismissed one is not proposed again)."""

    __table_args__ = (UniqueConstraint("org_id", "wrong", "right", name="uq_correctionproposal_org_pair"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = org_field()
    wrong: str = Field(max_length=60)
    right: str = Field(max_length=60)
    # where it was seen: [{"meeting": id, "utterance": id, "by": name}], one entry per utterance
    places: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="open", max_length=16)
    updated_at: datetime = Field(default_factory=utcnow)


class WorkerProcess(SQLModel, table=True):
    """A ``minutes worker`` process (or the app's own worker thread), seen by its heartbeat: the 管理 page's health
    list and the router's "is a gpu worker up"."""

    name: str = Field(primary_key=True, max_length=200)  # host:pid:random, as the jobs' worker_id prefix
    host: str = Field(max_length=200)
    pid: int
    mode: str = Field(max_length=16)  # celery (MINUTES_QUEUE_URL) or loop (the job table polled)
    queues: str = Field(default="", max_length=100)  # cpu,gpu (celery); empty for the loop
    concurrency: int = 1
    started_at: datetime = Field(default_factory=utcnow)
    heartbeat_at: datetime = Field(default_factory=utcnow)
    stopped_at: datetime | None = None
