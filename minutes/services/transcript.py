"""Editing a stored transcript: the service behind the editor page.

Every change is saved at once, in one transaction, and recorded as an ``UtteranceRevision`` (the state after each
version, so any earlier version can be restored) and in the audit trail. Every change names the utterance version it
was made against; the row is updated only where that version is still current, and otherwise ``EditConflict`` says
who changed it when and what it says now. A finalized meeting refuses every change (``FinalizedError``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from sqlmodel import Session

from minutes import clock, store
from minutes.errors import EditConflict, InputError
from minutes.pipeline.cleanup import kebatori, parse_fillers
from minutes.services.base import Service
from minutes.services.corrections import learn_from_edit, learn_from_replace
from minutes.services.splitting import find_calls, locate_split, split_words, suggest_split
from minutes.services.views import (
    NO_SPACE_LANGUAGES,
    RECOGNIZER,
    Line,
    MeetingDetails,
    Page,
    ReplaceMatch,
    ReplacePreview,
    Revision,
    line_view,
    revision_view,
)
from minutes.store.engine import meeting_lock
from minutes.store.tables import Utterance, UtteranceRevision, utcnow

__all__ = ["TranscriptService", "split_words", "suggest_split"]  # the split helpers live in ``splitting``


def _snippet(text: str, needle: str, width: int = 24) -> str:
    i = text.find(needle)
    if i < 0:
        return text[: width * 2]
    left = max(0, i - width)
    right = min(len(text), i + len(needle) + width)
    return ("…" if left else "") + text[left:right] + ("…" if right < len(text) else "")


class TranscriptService(Service):
    """Reading and changing the utterances of a meeting."""

    def page(self, meeting_id: int, page: int = 0, per_page: int = 50, speaker_id: int | None = None) -> Page:
        with Session(self.engine) as session:
            self._readable(session, meeting_id)
            total = store.count_utterances(session, meeting_id=meeting_id, speaker_id=speaker_id)
            pages = max(1, -(-total // per_page))
            page = min(max(page, 0), pages - 1)
            rows = store.utterance_page(
                session, meeting_id=meeting_id, offset=page * per_page, limit=per_page, speaker_id=speaker_id
            )
            return Page(tuple(line_view(u) for u in rows), total, page, pages, per_page)

    def page_at(self, meeting_id: int, seconds: float, per_page: int = 50, speaker_id: int | None = None) -> int:
        """The page holding the utterance spoken at ``seconds`` (or the next one)."""
        with Session(self.engine) as session:
            self._readable(session, meeting_id)
            index = store.count_utterances_before(
                session, meeting_id=meeting_id, seconds=seconds, speaker_id=speaker_id
            )
            total = store.count_utterances(session, meeting_id=meeting_id, speaker_id=speaker_id)
        return min(index, max(total - 1, 0)) // per_page

    def line(self, utterance_id: int) -> Line:
        with Session(self.engine) as session:
            u = store.get_utterance(session, utterance_id=utterance_id)
            self._readable(session, u.meeting_id)
            return line_view(u)

    def history(self, utterance_id: int) -> list[Revision]:
        """Every version of the utterance, oldest first (just the current one while it was never edited)."""
        return self.histories([utterance_id]).get(utterance_id, [])

    def histories(self, utterance_ids: Sequence[int]) -> dict[int, list[Revision]]:
        with Session(self.engine) as session:
            for meeting_id in {store.get_utterance(session, utterance_id=i).meeting_id for i in utterance_ids}:
                self._readable(session, meeting_id)
            result: dict[int, list[Revision]] = {}
            for r in store.revisions_of(session, utterance_ids=utterance_ids):
                result.setdefault(r.utterance_id, []).append(revision_view(r))
            for utterance_id in utterance_ids:
                if utterance_id not in result:
                    u = store.get_utterance(session, utterance_id=utterance_id)
                    result[utterance_id] = [Revision(u.version, u.text, u.speaker_id, "recognized", RECOGNIZER, None)]
            return result

    # ------------------------------------------------------------ changing utterances

    def edit_text(self, utterance_id: int, *, text: str, expected_version: int) -> Line:
        return self._change(utterance_id, expected_version, "edit", text=text.strip())

    def change_speaker(self, utterance_id: int, *, speaker_id: int, expected_version: int) -> Line:
        with Session(self.engine) as session:
            utterance = store.get_utterance(session, utterance_id=utterance_id)
            speaker = store.get_speaker(session, speaker_id=speaker_id)
            if speaker.meeting_id != utterance.meeting_id:
                raise InputError("別の会議の話者は選べません。", "speaker of another meeting")
        return self._change(utterance_id, expected_version, "speaker", speaker_id=speaker_id)

    def revert(self, utterance_id: int, *, to_version: int, expected_version: int) -> Line:
        """Restore the text and speaker of an earlier version (as a new version; nothing is lost)."""
        old = next((r for r in self.history(utterance_id) if r.version == to_version), None)
        if old is None:
            raise InputError(f"第{to_version}版は見つかりません。", f"no version {to_version}")
        return self._change(utterance_id, expected_version, "revert", text=old.text, speaker_id=old.speaker_id)

    def split(
        self,
        utterance_id: int,
        *,
        expected_version: int,
        at: int | None = None,
        second_part: str | None = None,
        speaker_id: int | None = None,
    ) -> tuple[Line, Line]:
        """Split an utterance in two; the second part becomes a new utterance right after it.

        Where: before character ``at``, or where the text ``second_part`` begins (the whole second part, or its first
        characters as the clerk typed them; refused when not found or found twice). ``speaker_id``: the second
        part's speaker (default: the utterance's). Word timings follow the split."""
        if (at is None) == (second_part is None):
            raise TypeError("give either at or second_part")
        with Session(self.engine) as session:
            u = self._current(session, utterance_id, expected_version)
            position = at if at is not None else locate_split(u.text, second_part or "")
            second_speaker = self._speaker_of(session, u, speaker_id)
            second_id = self._split(session, u, expected_version, position, u.speaker_id, second_speaker)
            session.commit()
        return self.line(utterance_id), self.line(second_id)

    def split_call(
        self, utterance_id: int, *, expected_version: int, speaker_id: int, position: str | None = None
    ) -> tuple[Line, Line]:
        """Set a chair's short call (「町長。」「５番、佐藤花子議員。」) that opens or closes the utterance apart as an
        utterance of its own, spoken by ``speaker_id`` (the chair), in one step; the rest keeps its speaker.
        ``position``: "start" or "end" when the utterance has both (default: the one it has)."""
        with Session(self.engine) as session:
            u = self._current(session, utterance_id, expected_version)
            calls = [c for c in find_calls(u.text) if position in (None, c.position)]
            if not calls:
                raise InputError(
                    "この発言の最初や最後に、議長の呼びかけ（「町長。」「５番、山田議員。」など）が見つかりません。"
                    "「分割」で位置を指定してください。",
                    f"no call at {position or 'start or end'}",
                )
            call = calls[0]
            chair = self._speaker_of(session, u, speaker_id)
            first, second = (chair, u.speaker_id) if call.position == "start" else (u.speaker_id, chair)
            second_id = self._split(session, u, expected_version, call.at, first, second)
            session.commit()
        return self.line(utterance_id), self.line(second_id)

    def _speaker_of(self, session: Session, u: Utterance, speaker_id: int | None) -> int:
        """``speaker_id`` when it is a speaker of the utterance's meeting (default: the utterance's own)."""
        if speaker_id is None or speaker_id == u.speaker_id:
            return u.speaker_id
        if store.get_speaker(session, speaker_id=speaker_id).meeting_id != u.meeting_id:
            raise InputError("別の会議の話者は選べません。", "speaker of another meeting")
        return speaker_id

    def _split(
        self, session: Session, u: Utterance, expected_version: int, at: int, first_speaker: int, second_speaker: int
    ) -> int:
        """Split ``u`` before character ``at`` (in the caller's transaction); returns the new second utterance's id.
        A part that gets another speaker gets it as a version of its own (「話者の変更」 after 「分割」), so the history
        shows both and the re-run of the speaker separation keeps a speaker the clerk chose."""
        if not 0 < at < len(u.text):
            raise InputError("分割する位置は発言の途中を選んでください。", f"split at {at} of {len(u.text)}")
        first_words, second_words, cut = split_words(u.words, u.text, at, u.start, u.end)
        first_text, second_text = u.text[:at].strip(), u.text[at:].strip()
        fillers = parse_fillers(self.settings.fillers)
        first_layers, second_layers = split_layers(u, (first_words, first_text), (second_words, second_text), fillers)
        if not first_text or not second_text:
            raise InputError("分割すると空の発言ができてしまいます。位置を変えてください。", "empty part")
        self._snapshot(session, u)
        store.shift_seq(session, meeting_id=u.meeting_id, after_seq=u.seq)
        _marks_follow(session, u.meeting_id, split_seq=u.seq)
        second = store.add_utterance(
            session,
            utterance=Utterance(
                meeting_id=u.meeting_id,
                speaker_id=u.speaker_id,
                seq=u.seq + 1,
                start=cut,
                end=u.end,
                text=second_text,
                words=second_words,
                edited=True,
                agenda_order=u.agenda_order,
                **second_layers,
            ),
        )
        self._save(session, u, expected_version, "split", text=first_text, end=cut, words=first_words, **first_layers)
        store.add_revision(
            session,
            revision=UtteranceRevision(
                utterance_id=second.id,
                version=1,
                text=second_text,
                speaker_id=u.speaker_id,
                action="split",
                edited_by=self.actor,
            ),
        )
        store.audit.record(
            session,
            actor=self.actor,
            action="utterance_split",
            target_type="utterance",
            target_id=second.id,
            after={"meeting": u.meeting_id, "from": u.id, "version": 1, "text": second_text},
        )
        original = u.speaker_id
        for part, version, speaker_id in ((u, expected_version + 1, first_speaker), (second, 1, second_speaker)):
            if speaker_id != original:
                session.refresh(part)
                self._save(session, part, version, "speaker", speaker_id=speaker_id)
        store.touch_meeting(session, meeting_id=u.meeting_id)
        return second.id

    def merge_with_next(
        self, utterance_id: int, *, expected_version: int, next_expected_version: int | None = None
    ) -> Line:
        """Join the next utterance onto this one (its speaker is this one's); the next one is removed."""
        with Session(self.engine) as session:
            u = self._current(session, utterance_id, expected_version)
            following = store.next_utterance(session, utterance=u)
            if following is None:
                raise InputError("最後の発言なので、次の発言と結合できません。", "no next utterance")
            if next_expected_version is not None and following.version != next_expected_version:
                raise EditConflict(
                    f"次の発言は他の人が変更しています（現在:「{following.text}」）。確認してからやり直してください。",
                    f"utterance {following.id} version {following.version} != {next_expected_version}",
                    line_view(following),
                )
            meeting = store.get_meeting(session, meeting_id=u.meeting_id)
            glue = "" if meeting.language in NO_SPACE_LANGUAGES else " "
            self._snapshot(session, u)
            text = u.text + glue + following.text
            words = list(u.words) + list(following.words)
            end = max(u.end, following.end)
            layers = merged_layers(u, following, glue)
            store.delete_utterance(session, utterance_id=following.id)
            self._save(session, u, expected_version, "merge", text=text, end=end, words=words, **layers)
            session.commit()
        return self.line(utterance_id)

    # ------------------------------------------------------------ find and replace

    def preview_replace(self, meeting_id: int, find: str, replace_with: str) -> ReplacePreview:
        if not find:
            raise InputError("検索する語を入力してください。", "empty search")
        with Session(self.engine) as session:
            self._readable(session, meeting_id)
            matches = tuple(
                ReplaceMatch(
                    utterance_id,
                    seq,
                    start,
                    version,
                    text.count(find),
                    _snippet(text, find),
                    _snippet(text.replace(find, replace_with), replace_with or find),
                )
                for utterance_id, seq, start, version, text in store.texts_containing(
                    session, meeting_id=meeting_id, needle=find
                )
            )
        return ReplacePreview(find, replace_with, matches)

    def apply_replace(self, meeting_id: int, preview: ReplacePreview) -> int:
        """Replace in exactly the utterances of ``preview``; refuses if any of them changed since. Returns the number
        of replacements."""
        expected = preview.expected  # a property that builds a dict: once, not once per utterance
        with Session(self.engine) as session:
            meeting_lock(session.connection(), meeting_id)  # before the check: no save comes in between
            self._editable(session, meeting_id)
            current = {
                u.id: u for u in store.utterances_containing(session, meeting_id=meeting_id, needle=preview.find)
            }
            changed = [i for i, version in expected.items() if i not in current or current[i].version != version]
            added = [i for i in current if i not in expected]
            if changed or added:
                raise EditConflict(
                    f"プレビューの後に {len(changed) + len(added)} 件の発言が変更されました。"
                    "もう一度プレビューしてから置換してください。",
                    f"changed {changed}, added {added}",
                )
            # 1,000 places are one transaction of a few statements, not 3,000 ORM flushes: one executemany UPDATE
            # (still conditional on each version), one INSERT of the revisions, one of the per-utterance audit rows.
            now = utcnow()
            known = store.utterances_with_revisions(session, utterance_ids=list(expected))
            count, updates, revisions, trail = 0, [], [], []
            for utterance_id, version in expected.items():
                u = current[utterance_id]
                count += u.text.count(preview.find)
                text = u.text.replace(preview.find, preview.replace)
                if utterance_id not in known:
                    revisions.append(first_revision(u) | {"edited_at": now})
                updates.append({"target": utterance_id, "expected": version, "new_text": text})
                revisions.append(revision_row(u, version, self.actor, "replace", {"text": text}) | {"edited_at": now})
                trail.append((utterance_id, *audit_change(u, version, {"text": text})))
            if store.replace_texts(session, rows=updates) != len(updates):
                session.rollback()
                raise EditConflict(
                    "置換の途中で他の人が発言を変更しました。もう一度プレビューしてから置換してください。",
                    "conditional update matched fewer rows than previewed",
                )
            store.add_revisions(session, rows=revisions)
            learn_from_replace(session, meeting_id, preview, self.actor)
            store.touch_meeting(session, meeting_id=meeting_id)  # before the audit trail's head (engine.meeting_lock)
            store.audit.record_many(
                session, actor=self.actor, action="utterance_replace", target_type="utterance", changes=trail
            )
            store.add_event(
                session,
                meeting_id=meeting_id,
                action="replace",
                actor=self.actor,
                detail={"find": preview.find, "replace": preview.replace, "count": count},
            )
            session.commit()
        return count

    # ------------------------------------------------------------ internals

    def _current(self, session: Session, utterance_id: int, expected_version: int, *, alone: bool = True) -> Utterance:
        """The utterance about to be changed, read under its meeting's lock (so a clerk saving the same line at the
        same moment waits and is then told of the conflict), if it is still at ``expected_version``. ``alone``: the
        change may touch other utterances of the meeting (split, merge); else only this one, whose row is locked, so
        clerks saving other lines of the meeting go on meanwhile."""
        meeting_id = store.meeting_of_utterance(session, utterance_id=utterance_id)
        if meeting_id is not None:  # else get_utterance says it is gone
            meeting_lock(session.connection(), meeting_id, shared=not alone)
        u = store.get_utterance(session, utterance_id=utterance_id, for_update=not alone)
        self._editable(session, u.meeting_id)
        if u.version != expected_version:
            raise self._conflict(session, u, expected_version)
        return u

    def _conflict(self, session: Session, u: Utterance, expected_version: int) -> EditConflict:
        revisions = store.revisions_of(session, utterance_ids=[u.id])
        last = revisions[-1] if revisions else None
        who = f"{last.edited_by or RECOGNIZER} さんが {clock.local(last.edited_at, '%H:%M')} に" if last else "他の人が"
        return EditConflict(
            f"この発言は表示の後に {who}変更しました。あなたの変更は保存していません。"
            f"現在の内容:「{u.text}」。確認してからもう一度編集してください。",
            f"utterance {u.id} version {u.version} != {expected_version}",
            line_view(u),
        )

    def _snapshot(self, session: Session, u: Utterance) -> None:
        """Store the state before the first edit as a revision, so it can be restored."""
        if not store.has_revisions(session, utterance_id=u.id):
            store.add_revision(session, revision=UtteranceRevision(**first_revision(u)))

    def _save(self, session: Session, u: Utterance, expected_version: int, action: str, **values) -> None:
        self._audit(session, u.id, action, self._store(session, u, expected_version, action, **values))

    def _store(self, session: Session, u: Utterance, expected_version: int, action: str, **values) -> tuple[dict, dict]:
        """Change the row (if still at ``expected_version``) and keep the revision; returns the audit's before and
        after."""
        if not store.update_utterance_row(session, utterance_id=u.id, expected_version=expected_version, **values):
            session.rollback()
            raise self._conflict(session, store.get_utterance(session, utterance_id=u.id), expected_version)
        store.add_revision(
            session, revision=UtteranceRevision(**revision_row(u, expected_version, self.actor, action, values))
        )
        return audit_change(u, expected_version, values)

    def _audit(self, session: Session, utterance_id: int, action: str, change: tuple[dict, dict]) -> None:
        before, after = change
        store.audit.record(
            session,
            actor=self.actor,
            action=f"utterance_{action}",
            target_type="utterance",
            target_id=utterance_id,
            before=before,
            after=after,
        )

    def _change(self, utterance_id: int, expected_version: int, action: str, **values) -> Line:
        if "text" in values and not values["text"]:
            raise InputError("発言を空にはできません。不要な発言は前後の発言と結合してください。", "empty text")
        with Session(self.engine) as session:
            u = self._current(session, utterance_id, expected_version, alone=False)
            if all(getattr(u, key) == value for key, value in values.items()):
                return line_view(u)  # nothing changed: no new version
            before = u.text
            self._snapshot(session, u)
            change = self._store(session, u, expected_version, action, **values)
            if action == "edit":
                learn_from_edit(
                    session,
                    meeting_id=u.meeting_id,
                    utterance_id=u.id,
                    before=before,
                    after=values["text"],
                    actor=self.actor,
                )
            # last, as they are held to the commit by every save: the meeting's row, then the audit trail's head
            store.touch_meeting(session, meeting_id=u.meeting_id)
            self._audit(session, u.id, action, change)
            session.commit()
        return self.line(utterance_id)


def split_layers(
    u: Utterance, first: tuple[list[dict], str], second: tuple[list[dict], str], fillers: Sequence[str]
) -> tuple[dict, dict]:
    """The 素起こし and ケバ取り of the two parts (words, text) of a split: the raw text as the part's words spell it
    (the words are what was recognized), the ケバ取り layer made from it again."""
    if u.raw is None:  # stored before the layers: each part is its own text
        return {}, {}
    parts = []
    for words, text in (first, second):
        raw = "".join(str(w.get("text", "")).strip() for w in words) or text
        corrections = [c for c in u.corrections or () if c.get("right", "") in text]
        parts.append({"raw": raw, "kebatori": kebatori(raw, fillers), "corrections": corrections})
    return parts[0], parts[1]


def merged_layers(u: Utterance, following: Utterance, glue: str) -> dict:
    """The layers of two utterances joined into one."""
    if u.raw is None and following.raw is None:
        return {}
    return {
        "raw": (u.raw if u.raw is not None else u.text)
        + glue
        + (following.raw if following.raw is not None else following.text),
        "kebatori": (u.kebatori or u.text) + glue + (following.kebatori or following.text),
        "corrections": [*(u.corrections or ()), *(following.corrections or ())],
    }


def first_revision(u: Utterance) -> dict:
    """The revision row of the state before the first edit (kept so that it can be restored)."""
    return {
        "utterance_id": u.id,
        "version": u.version,
        "text": u.text,
        "speaker_id": u.speaker_id,
        "action": "recognized" if not u.edited else "edit",
        "edited_by": None,
    }


def revision_row(u: Utterance, expected_version: int, editor: str, action: str, values: Mapping) -> dict:
    """The revision row of the version an edit of ``u`` (at ``expected_version``) to ``values`` creates."""
    return {
        "utterance_id": u.id,
        "version": expected_version + 1,
        "text": values.get("text", u.text),
        "speaker_id": values.get("speaker_id", u.speaker_id),
        "action": action,
        "edited_by": editor,
    }


_AUDITED = ("text", "speaker_id", "start", "end")


def audit_change(u: Utterance, expected_version: int, values: Mapping) -> tuple[dict, dict]:
    """(before, after) of an utterance edit as the audit trail records it."""
    before = {"meeting": u.meeting_id, "version": expected_version} | {k: getattr(u, k) for k in _AUDITED}
    after = {"version": expected_version + 1} | {k: v for k, v in values.items() if k in _AUDITED}
    return before, after


def _marks_follow(session: Session, meeting_id: int, *, split_seq: int) -> None:
    """The 休憩・再開 marks after the split utterance or later move with it: a mark after utterance ``split_seq``
    stays after the whole of it, that is after its second part."""
    details = MeetingDetails.from_dict(store.get_meeting(session, meeting_id=meeting_id).details)
    moved = tuple(
        replace(mark, after_seq=mark.after_seq + 1)
        if mark.after_seq is not None and mark.after_seq >= split_seq
        else mark
        for mark in details.time_marks
    )
    if moved != details.time_marks:
        store.set_details(session, meeting_id=meeting_id, details=replace(details, time_marks=moved).to_dict())
