"""A meeting's speakers: talk time and a clip of each voice, names and roles, merging a speaker found twice, and
who spoke when."""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import Session

from minutes import store
from minutes.errors import EditConflict, InputError
from minutes.services.base import Service
from minutes.services.views import SPEAKER_KINDS, SpeakerInfo, int_or_none, speaker_info


class SpeakersService(Service):
    """The 話者 page's service."""

    def speakers(self, meeting_id: int) -> list[SpeakerInfo]:
        """Speakers with talk time and a clip (the middle of their longest utterance, at most 12 s)."""
        with Session(self.engine) as session:
            self._readable(session, meeting_id)
            totals = store.speaker_totals(session, meeting_id=meeting_id)
            result = []
            for s in store.speakers_of(session, meeting_id=meeting_id):
                seconds, count = totals.get(s.id, (0.0, 0))
                longest = store.longest_utterance_of(session, speaker_id=s.id)
                sample = None
                if longest is not None:
                    middle = (longest.start + longest.end) / 2
                    half = min(6.0, (longest.end - longest.start) / 2)
                    sample = (max(0.0, middle - half), middle + half)
                result.append(replace(speaker_info(s), seconds=seconds, utterances=count, sample=sample))
            return result

    def update_speaker(self, speaker_id: int, *, expected: SpeakerInfo | None = None, **fields) -> SpeakerInfo:
        """Set a speaker's name, role, seat (議席番号), kind (議員/説明員/職員/その他), yomi and group (会派).

        ``expected`` is the speaker as the user saw it: if someone changed it since, nothing is saved (EditConflict).
        """
        allowed = {"name", "role", "seat", "kind", "yomi", "group"}
        unknown = set(fields) - allowed
        if unknown:
            raise TypeError(f"unknown speaker fields {unknown}")
        if fields.get("kind") not in (None, "", *SPEAKER_KINDS):
            raise InputError(f"区分は {'・'.join(SPEAKER_KINDS)} から選んでください。", f"kind={fields['kind']!r}")
        seat = fields.get("seat")
        if seat is not None and seat != "" and (int_or_none(seat) is None or not 1 <= int(seat) <= 999):
            raise InputError("議席番号は 1〜999 の整数で入力してください。", f"seat={seat!r}")
        with Session(self.engine) as session:
            speaker = store.get_speaker(session, speaker_id=speaker_id)
            self._editable(session, speaker.meeting_id)
            if expected is not None and speaker_info(speaker).fields() != expected.fields():
                raise EditConflict(
                    f"この話者は他の人が変更しています（現在: {speaker_info(speaker).display}）。"
                    "最新の内容を確認してから保存してください。",
                    f"speaker {speaker_id} changed",
                    speaker_info(speaker),
                )
            before = speaker_info(speaker).fields()
            for key, value in fields.items():
                if key == "seat":
                    value = int_or_none(value)
                elif isinstance(value, str):
                    value = value.strip()[:100] or None
                setattr(speaker, key, value)
            store.add_event(
                session,
                meeting_id=speaker.meeting_id,
                action="speaker_details",
                actor=self.actor,
                detail={"speaker": speaker.label, "before": before, "after": speaker_info(speaker).fields()},
            )
            store.touch_meeting(session, meeting_id=speaker.meeting_id)
            session.commit()
            return speaker_info(speaker)

    def merge_speakers(self, *, source_id: int, target_id: int) -> int:
        """Attribute everything of ``source`` to ``target`` (the same person detected twice); ``source`` goes away.
        Returns the number of utterances moved."""
        if source_id == target_id:
            raise InputError("同じ話者どうしは統合できません。", "same speaker")
        with Session(self.engine) as session:
            source = store.get_speaker(session, speaker_id=source_id)
            target = store.get_speaker(session, speaker_id=target_id)
            if source.meeting_id != target.meeting_id:
                raise InputError("別の会議の話者とは統合できません。", "different meetings")
            self._editable(session, source.meeting_id)
            moved = store.reassign_speaker(session, from_id=source_id, to_id=target_id)
            if not any(getattr(target, k) for k in ("name", "role", "seat", "kind", "yomi", "group")):
                for key in ("name", "role", "seat", "kind", "yomi", "group"):
                    setattr(target, key, getattr(source, key))
            detail = {"source": source.label, "source_name": speaker_info(source).display, "target": target.label}
            store.delete_speaker(session, speaker_id=source_id)
            store.add_event(
                session,
                meeting_id=source.meeting_id,
                action="speaker_merge",
                actor=self.actor,
                detail=detail | {"utterances": moved},
            )
            store.touch_meeting(session, meeting_id=source.meeting_id)
            session.commit()
            return moved

    def timeline(self, meeting_id: int) -> list[tuple[int, float, float]]:
        """(speaker id, start, end) of every utterance: for the who-spoke-when chart."""
        with Session(self.engine) as session:
            self._readable(session, meeting_id)
            return store.timeline_of(session, meeting_id=meeting_id)
