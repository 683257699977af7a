"""Voice profiles (声の登録): a person's voice as speaker embeddings, never audio, for naming speakers automatically.

A profile grows in two ways: when a meeting is finalized, from the speech of every speaker linked to a person (a
``voices`` job, run by the worker: :func:`meeting_voices`), and on purpose, from a span of a recording
(:meth:`VoiceService.enroll`). Voice prints are personal data: only the roster's keepers (書記・管理者) see them, only
administrators delete them, each change is in the audit trail, and a person keeps at most ``MAX_MEETING_SAMPLES``
samples from meetings (the newest).
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from sqlmodel import Session

from diarize.voices import EMBEDDING_MODEL, Voice, average, embed_spans, from_bytes, load_embedding_model, to_bytes
from minutes import store
from minutes.errors import InputError, NotFoundError
from minutes.pipeline.decode import decode_to_file
from minutes.pipeline.identify import Profile
from minutes.services.base import Service
from minutes.services.permissions import Permission, require
from minutes.services.rosters import clean_name
from minutes.services.views import MeetingDetails
from minutes.store.tables import Meeting, Person, VoiceSample

MAX_MEETING_SAMPLES = 10  # per person: the newest meetings' voices are enough, and the least is kept
MEETING_UTTERANCES = 40  # the longest utterances of a speaker that make its voice sample
MIN_ENROLL_SECONDS = 3.0
CHAIR_TITLES = ("議長", "委員長", "副議長", "副委員長", "座長", "会長")


@dataclass(frozen=True)
class VoiceSampleView:
    id: int
    source: str  # 会議 or 登録
    detail: str
    seconds: float
    created_by: str
    created_at: str


@dataclass(frozen=True)
class VoiceProfileView:
    person_id: int
    name: str
    samples: tuple[VoiceSampleView, ...]

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.samples)


def _sample_view(sample: VoiceSample) -> VoiceSampleView:
    return VoiceSampleView(
        sample.id,
        "会議" if sample.source == "meeting" else "登録",
        sample.detail,
        round(sample.seconds, 1),
        sample.created_by,
        sample.created_at.isoformat(timespec="seconds"),
    )


class VoiceService(Service):
    """Voice profiles: list, enroll from a recording, delete."""

    def profiles(self) -> list[VoiceProfileView]:
        require(self.user, Permission.MANAGE_ROSTER)
        with Session(self.engine) as session:
            views = []
            for person_id, _, _ in store.voice_summary(session, org_id=self.user.org_id):
                person = session.get(Person, person_id)
                samples = store.voice_samples_of(session, person_id=person_id)
                views.append(VoiceProfileView(person_id, person.name, tuple(_sample_view(s) for s in samples)))
            return sorted(views, key=lambda view: view.name)

    def profile(self, person_id: int) -> VoiceProfileView:
        require(self.user, Permission.MANAGE_ROSTER)
        with Session(self.engine) as session:
            person = _person(session, person_id, self.user.org_id)
            samples = store.voice_samples_of(session, person_id=person_id)
            return VoiceProfileView(person_id, person.name, tuple(_sample_view(s) for s in samples))

    def enroll(
        self, person_id: int, source: Path, *, start: float | None = None, end: float | None = None
    ) -> VoiceProfileView:
        """Add the voice of ``source`` (from ``start`` to ``end`` seconds; the whole file by default) to the person's
        profile. The audio is read, never kept."""
        require(self.user, Permission.MANAGE_ROSTER)
        with Session(self.engine) as session:
            _person(session, person_id, self.user.org_id)
        voice, duration = _voice_of_file(source, start, end, self.settings.work_dir)
        span = f"{start or 0:.0f}–{end if end is not None else duration:.0f}秒"
        with Session(self.engine) as session:
            sample = VoiceSample(
                person_id=person_id,
                embedding=to_bytes(voice),
                model=EMBEDDING_MODEL,
                seconds=round(voice.seconds, 1),
                source="enroll",
                detail=f"{source.name[:200]} {span}",
                created_by=self.actor,
            )
            store.add_voice_samples(session, samples=[sample])
            store.audit.record(
                session,
                actor=self.actor,
                action="voice.enroll",
                target_type="person",
                target_id=person_id,
                after={"file": source.name, "span": span, "seconds": sample.seconds},
            )
            session.commit()
        return self.profile(person_id)

    def enroll_upload(
        self, person_id: int, data: bytes, original_name: str, *, start: float | None = None, end: float | None = None
    ) -> VoiceProfileView:
        """:meth:`enroll` from an uploaded file: written to the work folder for the reading, removed right after."""
        require(self.user, Permission.MANAGE_ROSTER)
        self.settings.work_dir.mkdir(parents=True, exist_ok=True)
        suffix = Path(original_name).suffix.lower()[:10] if Path(original_name).suffix.isascii() else ""
        with tempfile.TemporaryDirectory(dir=self.settings.work_dir) as folder:
            path = Path(folder) / f"upload{suffix}"
            path.write_bytes(data)
            profile = self.enroll(person_id, path, start=start, end=end)
        return profile

    def delete(self, person_id: int) -> int:
        """Delete a person's whole voice profile (administrators only); returns how many samples went."""
        require(self.user, Permission.DELETE_VOICES)
        with Session(self.engine) as session:
            person = _person(session, person_id, self.user.org_id)
            removed = store.delete_voice_samples(session, person_id=person_id)
            store.audit.record(
                session,
                actor=self.actor,
                action="voice.delete",
                target_type="person",
                target_id=person_id,
                before={"name": person.name, "samples": removed},
            )
            session.commit()
        return removed


def _person(session: Session, person_id: int, org_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None or person.org_id != org_id:
        raise NotFoundError("名簿にその人が見つかりません。", f"person {person_id}")
    return person


def _voice_of_file(source: Path, start: float | None, end: float | None, work_dir: Path) -> tuple[Voice, float]:
    """The voice of a span of an audio file, and the file's length."""
    if start is not None and end is not None and end <= start:
        raise InputError("終了は開始より後の時刻を指定してください。", f"start={start} end={end}")
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_dir) as folder:
        decoded = decode_to_file(source, Path(folder) / "enroll.f32")
        samples = decoded.samples()
        span = (start or 0.0, min(end if end is not None else decoded.duration, decoded.duration))
        if span[1] - span[0] < MIN_ENROLL_SECONDS:
            raise InputError(
                f"声の登録には {MIN_ENROLL_SECONDS:.0f} 秒以上の発言が必要です（指定された範囲は "
                f"{max(span[1] - span[0], 0):.1f} 秒）。",
                f"span {span}",
            )
        voice = embed_spans(load_embedding_model(), samples, [span])[0]
        del samples
    if voice is None:
        raise InputError("指定された範囲から声の特徴を取り出せませんでした。", f"span {span}")
    return voice, decoded.duration


# ---------------------------------------------------------------- for the worker (no user: the job's own rights)


def meeting_day(meeting: Meeting) -> date:
    return (meeting.held_at or meeting.created_at).date()


def profiles_for(session: Session, meeting: Meeting) -> list[Profile]:
    """The voice profiles a meeting's speakers are matched against, keyed by person id as text: of the people its
    header lists (出席議員, 説明のため出席した者, 職務のため出席した者, and who chairs) when any of them is on the
    roster, else of everyone in office."""
    samples = store.voice_samples(
        session, model=EMBEDDING_MODEL, org_id=meeting.org_id, person_ids=_listed_people(session, meeting)
    )
    return [Profile(str(s.person_id), from_bytes(s.embedding, s.seconds)) for s in samples]


def _listed_people(session: Session, meeting: Meeting) -> list[int] | None:
    details = MeetingDetails.from_dict(meeting.details)
    names = {p.name for p in (*details.attendees, *details.explainers, *details.staff)} | {details.chair}
    found = {
        person.id
        for name in names
        if name
        for person in store.people_named(session, name=clean_name(name), org_id=meeting.org_id)
    }
    if not found:
        return None
    return sorted(
        found | set(store.people_titled(session, titles=CHAIR_TITLES, day=meeting_day(meeting), org_id=meeting.org_id))
    )


def chairs_for(session: Session, meeting: Meeting) -> frozenset[str]:
    """Who chairs on the meeting's day (議長, 委員長 …), as profile keys."""
    return frozenset(
        str(i)
        for i in store.people_titled(session, titles=CHAIR_TITLES, day=meeting_day(meeting), org_id=meeting.org_id)
    )


def meeting_voices(samples: np.ndarray, spans_by_person: dict[int, list[tuple[float, float]]]) -> dict[int, Voice]:
    """One voice per person from their utterances' spans in a finalized meeting (the longest ones)."""
    model = load_embedding_model()
    voices: dict[int, Voice] = {}
    for person_id, spans in spans_by_person.items():
        longest = sorted(spans, key=lambda span: span[0] - span[1])[:MEETING_UTTERANCES]
        found = [v for v in embed_spans(model, samples, longest) if v is not None]
        if (voice := average(found)) is not None:
            voices[person_id] = voice
    return voices


def linked_spans(session: Session, meeting_id: int) -> dict[int, list[tuple[float, float]]]:
    """person id → the spans of the utterances of the meeting's speakers linked to that person."""
    speakers = {s.id: s.person_id for s in store.speakers_of(session, meeting_id=meeting_id) if s.person_id}
    spans: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for u in store.utterances_of(session, meeting_id=meeting_id):
        if u.speaker_id in speakers:
            spans[speakers[u.speaker_id]].append((u.start, u.end))
    return dict(spans)


def store_meeting_voices(session: Session, meeting: Meeting, voices: dict[int, Voice], actor: str) -> int:
    """Replace the samples this meeting gave (a meeting finalized again gives its voices anew) and keep each person's
    newest ``MAX_MEETING_SAMPLES`` meeting samples."""
    store.delete_meeting_voice_samples(session, meeting_id=meeting.id)
    seconds: dict[int, float] = {}
    added = store.add_voice_samples(
        session,
        samples=[
            VoiceSample(
                person_id=person_id,
                embedding=to_bytes(voice),
                model=EMBEDDING_MODEL,
                seconds=round(voice.seconds, 1),
                source="meeting",
                meeting_id=meeting.id,
                detail=f"{meeting.title[:200]}（{meeting_day(meeting).isoformat()}）",
                created_by=actor,
            )
            for person_id, voice in voices.items()
        ],
    )
    for person_id in voices:
        old = [s for s in store.voice_samples_of(session, person_id=person_id) if s.source == "meeting"]
        for sample in old[:-MAX_MEETING_SAMPLES]:
            store.delete_voice_samples(session, person_id=person_id, meeting_id=sample.meeting_id)
        seconds[person_id] = round(voices[person_id].seconds, 1)
    store.audit.record(
        session,
        actor=actor,
        action="voice.from_meeting",
        target_type="meeting",
        target_id=meeting.id,
        after={"people": {str(k): v for k, v in seconds.items()}},
    )
    return len(added)


def queue_meeting_voices(session: Session, meeting_id: int, actor: str) -> None:
    """When a meeting is finalized: queue the ``voices`` job if any of its speakers is linked to a person."""
    if not any(s.person_id for s in store.speakers_of(session, meeting_id=meeting_id)):
        return
    transcription = store.latest_job(session, meeting_id=meeting_id)
    store.enqueue_job(
        session,
        meeting_id=meeting_id,
        recording_id=transcription.recording_id,
        options={"kind": store.JobKind.VOICES, "requested_by": actor},
    )
