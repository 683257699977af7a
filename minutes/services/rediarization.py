"""Storing a re-run of speaker separation (a ``rediarize`` job) over the stored, possibly edited, transcript.

The worker decodes and diarizes (``minutes.pipeline.rediarize.separate_speakers``); this module applies the new turns
in one transaction, under the database's write lock so that no edit lands between reading and writing:

- the pieces come from ``resegment`` (edited texts kept whole, the rest cut word by word at speaker changes; an
  utterance whose speaker the clerk chose keeps it);
- each new label takes over the stored speaker it overlaps most, named ones first (``match_speakers``), so names
  stay; a label nobody overlaps becomes a new speaker (話者N);
- a stored utterance's row goes to the first piece made of it (its id, history and agenda item stay), further pieces
  are new rows, and rows merged into a neighbour go;
- every utterance whose speaker, text or times change gets a new version, a revision ``rediarize`` by the person who
  asked for the re-run (restorable from the editor's 修正履歴), and an audit event; the meeting's record gets one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlmodel import Session

from minutes import store
from minutes.errors import EditConflict
from minutes.pipeline import PipelineOptions
from minutes.pipeline.assign import AssignOptions
from minutes.pipeline.cleanup import CleanupOptions, layers
from minutes.pipeline.rediarize import Piece, StoredUtterance, match_speakers, resegment, speaker_fixed
from minutes.records import SpeakerTurn, Word
from minutes.services.transcript import audit_change, first_revision, revision_row
from minutes.store.engine import write_lock
from minutes.store.tables import Speaker, Utterance, UtteranceRevision

ACTION = "rediarize"


@dataclass(frozen=True)
class RediarizeSummary:
    speakers: int  # speakers with utterances after the re-run
    new_speakers: int  # speakers added for labels no stored speaker overlapped
    changed: int  # utterances whose speaker, text boundaries or times changed (each has a 'rediarize' revision)
    created: int  # utterances made by cutting one at a speaker change
    removed: int  # utterances joined into a neighbour of the same speaker

    def to_dict(self) -> dict:
        return {
            "speakers": self.speakers,
            "new_speakers": self.new_speakers,
            "changed": self.changed,
            "created": self.created,
            "removed": self.removed,
        }


def stored_utterance(u: Utterance, fixed: bool = False) -> StoredUtterance:
    words = tuple(
        Word(float(w["start"]), float(w["end"]), str(w.get("text", "")), float(w.get("probability", 1.0)))
        for w in u.words
    )
    return StoredUtterance(u.id, u.speaker_id, u.start, u.end, u.text, words, u.edited, fixed, u.raw)


def _draft_cleanup(session: Session, meeting_id: int) -> CleanupOptions:
    """The cleanup the meeting's draft was made with (its transcription's options): text remade from words gets the
    same 整文 (fillers, punctuation, numbers, rules)."""
    job = store.latest_job(session, meeting_id=meeting_id)
    return PipelineOptions.from_dict(job.options).cleanup if job is not None else CleanupOptions(enabled=False)


def _with_layers(piece: Piece, cleanup: CleanupOptions, language: str) -> Piece:
    if piece.kept_text:
        return piece
    made = layers(piece.text, cleanup, language=language)
    return replace(piece, text=made.seibun, raw=made.raw, kebatori=made.kebatori)


def apply_rediarization(
    session: Session,
    *,
    meeting_id: int,
    turns: Sequence[SpeakerTurn],
    actor: str,
    options: AssignOptions | None = None,
    request: dict | None = None,
) -> RediarizeSummary:
    """New speakers and boundaries for the stored utterances from ``turns`` (in the caller's transaction, which it
    takes the write lock of; the caller commits)."""
    write_lock(session.connection())
    meeting = store.get_meeting(session, meeting_id=meeting_id)
    rows = {u.id: u for u in store.utterances_of(session, meeting_id=meeting_id)}
    histories: dict[int, list[tuple[str, int]]] = {}
    for revision in store.revisions_of(session, utterance_ids=list(rows)):
        histories.setdefault(revision.utterance_id, []).append((revision.action, revision.speaker_id))
    records = [stored_utterance(u, speaker_fixed(histories.get(u.id, []))) for u in rows.values()]
    cleanup = _draft_cleanup(session, meeting_id)
    pieces = [_with_layers(p, cleanup, meeting.language) for p in resegment(records, turns, options, meeting.language)]
    speakers = store.speakers_of(session, meeting_id=meeting_id)
    named = {s.id for s in speakers if any(getattr(s, k) for k in ("name", "role", "seat", "kind", "yomi", "group"))}
    ids = match_speakers(records, turns, named)
    new_speakers = _add_speakers(session, meeting_id, speakers, [p.label for p in pieces if p.label is not None], ids)
    writer = _Writer(session, rows, actor)
    for piece in pieces:
        writer.write(piece, ids[piece.label] if piece.label is not None else piece.speaker)
    removed = writer.remove_unclaimed()
    summary = RediarizeSummary(
        len({ids[p.label] if p.label is not None else p.speaker for p in pieces}),
        new_speakers,
        writer.changed,
        writer.created,
        removed,
    )
    store.add_event(
        session, meeting_id=meeting_id, action=ACTION, actor=actor, detail=(request or {}) | summary.to_dict()
    )
    store.touch_meeting(session, meeting_id=meeting_id)
    return summary


def _add_speakers(
    session: Session, meeting_id: int, speakers: Sequence[Speaker], labels: Sequence[str], ids: dict[str, int]
) -> int:
    """A new speaker for each label that took over no stored one (added to ``ids``); returns how many."""
    used = {s.label for s in speakers}
    added = 0
    for label in dict.fromkeys(labels):
        if label in ids:
            continue
        name, n = label, 0
        while name in used:
            name = f"SPEAKER_{n:02d}"
            n += 1
        used.add(name)
        ids[label] = store.add_speaker(session, speaker=Speaker(meeting_id=meeting_id, label=name)).id
        added += 1
    return added


class _Writer:
    """Writes pieces in order: reuses the stored rows, adds rows for cuts, keeps ``seq`` rising (and as it was where
    it can, so the time marks recorded after an utterance stay there)."""

    def __init__(self, session: Session, rows: dict[int, Utterance], actor: str) -> None:
        self.session, self.rows, self.actor = session, rows, actor
        self.claimed: set[int] = set()
        self.seq = -1
        self.changed = self.created = 0
        self.known = store.utterances_with_revisions(session, utterance_ids=list(rows))

    def write(self, piece: Piece, speaker_id: int) -> None:
        free = next((i for i in piece.sources if i not in self.claimed), None)
        if free is None:
            self._create(piece, speaker_id)
            return
        self.claimed.add(free)
        row = self.rows[free]
        self.seq = max(self.seq + 1, row.seq)
        values: dict = {"speaker_id": speaker_id}
        if not piece.kept_text:
            words = [
                {"start": w.start, "end": w.end, "text": w.text, "probability": w.probability} for w in piece.words
            ]
            values |= {"text": piece.text, "raw": piece.raw, "kebatori": piece.kebatori}
            values |= {"start": piece.start, "end": piece.end, "words": words}
        if all(getattr(row, key) == value for key, value in values.items()):
            if row.seq != self.seq:
                store.set_seq(self.session, utterance_id=row.id, seq=self.seq)
            return
        if row.id not in self.known:
            store.add_revision(self.session, revision=UtteranceRevision(**first_revision(row)))
        version = row.version
        if not store.update_utterance_row(
            self.session, utterance_id=row.id, expected_version=version, edited=row.edited, seq=self.seq, **values
        ):
            raise EditConflict("話者の分け直しの保存中に発言が変更されました。", f"utterance {row.id} changed")
        self.session.add(UtteranceRevision(**revision_row(row, version, self.actor, ACTION, values)))
        before, after = audit_change(row, version, values)
        store.audit.record(
            self.session,
            actor=self.actor,
            action=f"utterance_{ACTION}",
            target_type="utterance",
            target_id=row.id,
            before=before,
            after=after,
        )
        self.changed += 1

    def _create(self, piece: Piece, speaker_id: int) -> None:
        source = self.rows[piece.sources[-1]]
        self.seq += 1
        words = [{"start": w.start, "end": w.end, "text": w.text, "probability": w.probability} for w in piece.words]
        row = store.add_utterance(
            self.session,
            utterance=Utterance(
                meeting_id=source.meeting_id,
                speaker_id=speaker_id,
                seq=self.seq,
                start=piece.start,
                end=piece.end,
                text=piece.text,
                raw=piece.raw,
                kebatori=piece.kebatori,
                words=words,
                edited=source.edited,
                agenda_order=source.agenda_order,
            ),
        )
        self.session.add(
            UtteranceRevision(
                utterance_id=row.id,
                version=1,
                text=row.text,
                speaker_id=speaker_id,
                action=ACTION,
                edited_by=self.actor,
            )
        )
        store.audit.record(
            self.session,
            actor=self.actor,
            action=f"utterance_{ACTION}",
            target_type="utterance",
            target_id=row.id,
            after={
                "meeting": source.meeting_id,
                "from": source.id,
                "version": 1,
                "text": row.text,
                "speaker_id": speaker_id,
            },
        )
        self.created += 1

    def remove_unclaimed(self) -> int:
        """Rows every piece of which went to a neighbour (joined into it): removed, with the audit event saying so."""
        gone = [row for row_id, row in self.rows.items() if row_id not in self.claimed]
        for row in gone:
            store.delete_utterance(self.session, utterance_id=row.id)
            store.audit.record(
                self.session,
                actor=self.actor,
                action=f"utterance_{ACTION}",
                target_type="utterance",
                target_id=row.id,
                before={
                    "meeting": row.meeting_id,
                    "version": row.version,
                    "text": row.text,
                    "speaker_id": row.speaker_id,
                },
                after={"removed": True},
            )
        return len(gone)
