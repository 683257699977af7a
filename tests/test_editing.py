"""The editing service on real SQLite: edits, history, split, merge, replace, speakers, finalize, stale edits."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from minutes import store
from minutes.errors import EditConflict, FinalizedError, InputError
from minutes.services import Principal, Services
from minutes.services.transcript import split_words, suggest_split
from minutes.services.views import AgendaEntry, Line, MeetingDetails, Person
from minutes.settings import Settings
from minutes.store.tables import Meeting, UtteranceRevision
from minutes.store.tables import Utterance as UtteranceRow
from tests.seeding import seed_meeting

pytestmark = pytest.mark.both_backends  # on SQLite and on PostgreSQL (tests/conftest.py)


@pytest.fixture
def as_(engine: Engine, tmp_path: Path) -> Callable[[str], Services]:
    """The services acting for the operating-system user ``name`` (recorded as the editor)."""
    settings = Settings(data_dir=tmp_path)
    return lambda name: Services.for_user(engine, settings, Principal.operator(name))


@pytest.fixture
def editing(as_) -> Services:
    return as_("閲覧")


@pytest.fixture
def meeting_id(engine: Engine) -> int:
    return seed_meeting(engine)


def _lines(editing: Services, meeting_id: int) -> list[Line]:
    return list(editing.transcript.page(meeting_id, 0, 1000).lines)


def test_edit_is_saved_with_history_and_revert(editing, meeting_id, as_):
    first = _lines(editing, meeting_id)[0]
    assert first.version == 1 and not first.edited
    edited = as_("佐藤").transcript.edit_text(first.id, text="ただいまから会議を開きます。", expected_version=1)
    assert (edited.text, edited.version, edited.edited) == ("ただいまから会議を開きます。", 2, True)
    again = as_("鈴木").transcript.edit_text(first.id, text="ただ今から会議を開きます。", expected_version=2)
    history = editing.transcript.history(first.id)
    assert [(r.version, r.action, r.edited_by) for r in history] == [
        (1, "recognized", "自動認識"),
        (2, "edit", "佐藤"),
        (3, "edit", "鈴木"),
    ]
    assert history[0].text == "ただいまから本日の会議を開きます。"
    reverted = as_("佐藤").transcript.revert(first.id, to_version=1, expected_version=again.version)
    assert reverted.text == "ただいまから本日の会議を開きます。" and reverted.version == 4
    assert editing.transcript.history(first.id)[-1].action == "revert"
    # An unchanged save makes no new version; an empty text is refused.
    assert as_("佐藤").transcript.edit_text(first.id, text=reverted.text, expected_version=4).version == 4
    with pytest.raises(InputError):
        as_("佐藤").transcript.edit_text(first.id, text="  ", expected_version=4)


def test_stale_edit_is_refused_and_shows_the_current_text(editing, meeting_id, as_):
    line = _lines(editing, meeting_id)[1]
    as_("佐藤").transcript.edit_text(line.id, text="議長。３番、山田太郎です。", expected_version=line.version)
    with pytest.raises(EditConflict) as caught:
        as_("鈴木").transcript.edit_text(line.id, text="上書きしようとした文", expected_version=line.version)
    assert "議長。３番、山田太郎です。" in caught.value.message
    assert "佐藤" in caught.value.message
    assert caught.value.current.text == "議長。３番、山田太郎です。"
    assert editing.transcript.line(line.id).text == "議長。３番、山田太郎です。"
    with pytest.raises(EditConflict):
        as_("鈴木").transcript.split(line.id, at=3, expected_version=line.version)


def test_clerks_saving_the_same_line_at_once_get_one_save_and_conflicts(editing, meeting_id, as_):
    """Eight clerks save the same never-edited line at the same moment: one save wins, the others are told of the
    conflict (before, on PostgreSQL, two could both store the line's first revision and fail on its unique key)."""
    line = _lines(editing, meeting_id)[2]
    clerks = [as_(f"書記{n}") for n in range(8)]
    start = threading.Barrier(len(clerks))

    def save(n: int) -> str:
        start.wait()
        try:
            clerks[n].transcript.edit_text(line.id, text=f"書記{n}の文。", expected_version=line.version)
            return "saved"
        except EditConflict:
            return "conflict"

    with ThreadPoolExecutor(len(clerks)) as pool:
        outcomes = sorted(pool.map(save, range(len(clerks))))
    assert outcomes == ["conflict"] * 7 + ["saved"]
    assert [r.version for r in editing.transcript.history(line.id)] == [1, 2]


def test_clerks_of_two_meetings_saving_at_once_keep_every_save_and_one_audit_chain(editing, engine, as_):
    """Twelve clerks save different lines of two meetings at the same moment (on PostgreSQL they hold only their
    meeting's lock shared and their line's row, and wait for each other only at the audit trail's head): every save
    is stored once, with its revision, and the audit trail stays one straight chain."""
    meetings = [seed_meeting(engine, title=f"会議{n}", utterances=6) for n in range(2)]
    lines = [line for meeting in meetings for line in _lines(editing, meeting)]
    start = threading.Barrier(len(lines))

    def save(line: Line) -> int:
        start.wait()
        saved = as_(f"書記{line.id}").transcript.edit_text(line.id, text=f"{line.id}の直し。", expected_version=1)
        return saved.version

    with ThreadPoolExecutor(len(lines)) as pool:
        assert list(pool.map(save, lines)) == [2] * len(lines)
    for line in lines:
        assert [r.version for r in editing.transcript.history(line.id)] == [1, 2]
        assert editing.transcript.line(line.id).text == f"{line.id}の直し。"
    report = as_("root").audit.verify()
    assert report.ok and report.events >= len(lines)


def test_clerks_making_the_same_correction_at_once_are_all_counted(editing, engine, as_):
    """Clerks of two meetings replace the same word at the same moment: the correction is proposed once, with every
    place (before the replacement counter was serialised, on PostgreSQL, by the one write lock every save took)."""
    meetings = [seed_meeting(engine, title=f"会議{n}", utterances=8) for n in range(2)]
    lines = [line for meeting in meetings for line in _lines(editing, meeting) if "補正予算" in line.text]
    start = threading.Barrier(len(lines))

    def save(line: Line) -> None:
        start.wait()
        text = line.text.replace("補正予算", "補正予定")
        as_(f"書記{line.id}").transcript.edit_text(line.id, text=text, expected_version=1)

    with ThreadPoolExecutor(len(lines)) as pool:
        list(pool.map(save, lines))
    with Session(engine) as session:
        proposal = store.proposal_for(session, wrong="補正予算", right="補正予定", org_id=1)
        assert proposal is not None
        assert sorted(place["utterance"] for place in proposal.places) == sorted(line.id for line in lines)


def test_a_meeting_lock_leaves_other_meetings_free_and_excludes_the_write_lock(engine, backend):
    """PostgreSQL: a clerk's lock on one meeting lets a clerk of another meeting (or of another line, shared) go on,
    but a change of the whole meeting and the database's write lock wait for it. SQLite has one write lock."""
    from sqlalchemy.exc import OperationalError

    from minutes.store.engine import meeting_lock, write_lock

    if backend != "postgres":
        pytest.skip("SQLite's write lock is the whole database's: nothing finer to test")

    def other(take) -> bool:
        """Whether ``take`` gets its lock within 0.3 s in another transaction."""
        with engine.connect() as connection:
            connection.exec_driver_sql("SET lock_timeout = '300ms'")
            try:
                take(connection)
                return True
            except OperationalError:
                return False

    with engine.connect() as holder, holder.begin():
        meeting_lock(holder, 1, shared=True)
        assert other(lambda c: meeting_lock(c, 2))
        assert other(lambda c: meeting_lock(c, 1, shared=True))
        assert not other(lambda c: meeting_lock(c, 1))
        assert not other(write_lock)
        with pytest.raises(RuntimeError):
            write_lock(holder)  # shared, then exclusive: two such transactions would wait for each other
    assert other(write_lock)  # released at the end of the transaction


def test_conflict_messages_give_the_time_in_tokyo(editing, meeting_id, engine, as_):
    # Stored moments are UTC: 01:05 UTC is 10:05 in Tokyo, 05:30 UTC is 14:30.
    line = _lines(editing, meeting_id)[1]
    as_("佐藤").transcript.edit_text(line.id, text="議長。３番、山田太郎です。", expected_version=line.version)
    info = editing.details.meeting(meeting_id)
    as_("佐藤").details.update_meeting(meeting_id, expected_version=info.edit_version, title="変更後の会議名")
    with Session(engine) as session:
        session.exec(
            update(UtteranceRevision)
            .where(UtteranceRevision.utterance_id == line.id)
            .values(edited_at=dt.datetime(2025, 12, 2, 5, 30, tzinfo=dt.UTC))
        )
        session.exec(
            update(Meeting)
            .where(Meeting.id == meeting_id)
            .values(updated_at=dt.datetime(2025, 12, 2, 1, 5, tzinfo=dt.UTC))
        )
        session.commit()
    with pytest.raises(EditConflict) as caught:
        as_("鈴木").transcript.edit_text(line.id, text="上書き", expected_version=line.version)
    assert "佐藤 さんが 14:30 に" in caught.value.message and "05:30" not in caught.value.message
    with pytest.raises(EditConflict) as caught:
        as_("鈴木").details.update_meeting(meeting_id, expected_version=info.edit_version, title="古い画面から")
    assert "10:05 以降" in caught.value.message and "01:05" not in caught.value.message


def test_change_speaker_and_names_join_everywhere(editing, meeting_id, as_):
    lines = _lines(editing, meeting_id)
    speakers = {s.label: s for s in editing.speakers.speakers(meeting_id)}
    chair = speakers["SPEAKER_00"]
    assert chair.utterances == 2 and chair.seconds > 0 and chair.sample is not None
    as_("佐藤").speakers.update_speaker(chair.id, expected=chair, name="大磯一郎", role="議長", kind="議員", seat=14)
    renamed = {s.id: s for s in editing.speakers.speakers(meeting_id)}[chair.id]
    assert (renamed.display, renamed.seat, renamed.kind) == ("議長 大磯一郎", 14, "議員")
    # A second person saving over the rename with the old view is refused.
    with pytest.raises(EditConflict):
        as_("鈴木").speakers.update_speaker(chair.id, expected=chair, name="別の名前")
    with pytest.raises(InputError):
        as_("佐藤").speakers.update_speaker(chair.id, kind="市民")
    moved = as_("佐藤").transcript.change_speaker(lines[2].id, speaker_id=speakers["SPEAKER_02"].id, expected_version=1)
    assert moved.speaker_id == speakers["SPEAKER_02"].id
    assert editing.transcript.history(lines[2].id)[-1].action == "speaker"


def test_split_divides_text_words_and_time(editing, meeting_id, as_):
    line = _lines(editing, meeting_id)[1]
    at = line.text.index("補正")
    first, second = as_("佐藤").transcript.split(line.id, at=at, expected_version=line.version)
    assert first.text == "議長。３番、山田です。" and second.text == "補正予算について質問します。"
    assert first.start == line.start and second.end == line.end
    assert first.end == second.start and line.start < first.end < line.end
    assert "".join(w["text"] for w in first.words) == first.text
    assert "".join(w["text"] for w in second.words) == second.text
    seqs = [(x.id, x.seq) for x in _lines(editing, meeting_id)]
    assert [i for i, _ in seqs][1:3] == [first.id, second.id]
    assert [s for _, s in seqs] == sorted({s for _, s in seqs})  # order kept, no duplicates
    assert editing.transcript.history(second.id)[0].action == "split"
    with pytest.raises(InputError):
        as_("佐藤").transcript.split(first.id, at=0, expected_version=first.version)


def test_split_words_inside_a_word_and_after_an_edit():
    words = [{"start": 0.0, "end": 1.0, "text": "ただいま", "probability": 0.9}]
    first, second, cut = split_words(words, "ただいま", 1, 0.0, 1.0)
    assert ([w["text"] for w in first], [w["text"] for w in second], cut) == (["た"], ["だいま"], 0.25)
    first, second, cut = split_words(words, "まったく別の文です", 3, 0.0, 1.0)  # edited: proportional
    assert cut == pytest.approx(1 / 3)
    assert suggest_split("一つ目です。二つ目です。三つ目") == 6


def test_merge_with_next(editing, meeting_id, as_):
    lines = _lines(editing, meeting_id)
    merged = as_("佐藤").transcript.merge_with_next(
        lines[2].id, expected_version=1, next_expected_version=lines[3].version
    )
    assert merged.text == "町長。お答えします。補正予算は防災のためのものです。"
    assert merged.end == lines[3].end and merged.speaker_id == lines[2].speaker_id
    assert len(_lines(editing, meeting_id)) == 3
    assert editing.transcript.history(merged.id)[-1].action == "merge"
    with pytest.raises(InputError):
        as_("佐藤").transcript.merge_with_next(merged.id, expected_version=merged.version)


def test_find_and_replace_with_preview(editing, meeting_id, engine, as_):
    seed_meeting(engine, title="別の会議")  # replacing must stay inside one meeting
    preview = editing.transcript.preview_replace(meeting_id, "補正予算", "補正予算案")
    assert preview.count == 2 and len(preview.matches) == 2
    assert "補正予算案" in preview.matches[0].after
    assert as_("佐藤").transcript.apply_replace(meeting_id, preview) == 2
    texts = [x.text for x in _lines(editing, meeting_id)]
    assert sum(t.count("補正予算案") for t in texts) == 2
    # A preview that is out of date is refused.
    stale = editing.transcript.preview_replace(meeting_id, "議長", "議長（")
    line = next(x for x in _lines(editing, meeting_id) if "議長" in x.text)
    as_("鈴木").transcript.edit_text(line.id, text=line.text + "以上です。", expected_version=line.version)
    with pytest.raises(EditConflict):
        as_("佐藤").transcript.apply_replace(meeting_id, stale)
    assert [e.action for e in editing.details.events(meeting_id)] == ["replace"]


def test_replace_all_keeps_history_versions_and_audit_per_utterance(editing, engine, as_):
    meeting_id = seed_meeting(engine, utterances=40)
    before = {x.id: x for x in _lines(editing, meeting_id)}
    targets = [x for x in before.values() if "補正予算" in x.text]
    edited = as_("鈴木").transcript.edit_text(targets[0].id, text=targets[0].text + "以上。", expected_version=1)
    preview = editing.transcript.preview_replace(meeting_id, "補正予算", "補正予算案")
    assert len(preview.matches) == len(targets) == 20
    assert as_("佐藤").transcript.apply_replace(meeting_id, preview) == 20

    after = {x.id: x for x in _lines(editing, meeting_id)}
    for line in targets:
        old_text = edited.text if line.id == edited.id else line.text
        old_version = edited.version if line.id == edited.id else line.version
        assert after[line.id].text == old_text.replace("補正予算", "補正予算案")
        assert (after[line.id].version, after[line.id].edited) == (old_version + 1, True)
    untouched = [i for i in before if i not in {x.id for x in targets}]
    assert all(after[i].version == 1 and after[i].text == before[i].text for i in untouched)

    plain = targets[1]
    history = editing.transcript.history(plain.id)
    assert [(r.version, r.action, r.edited_by, r.text) for r in history] == [
        (1, "recognized", "自動認識", plain.text),
        (2, "replace", "佐藤", plain.text.replace("補正予算", "補正予算案")),
    ]
    # An utterance edited before keeps one snapshot of its recognised text, not two.
    assert [(r.version, r.action) for r in editing.transcript.history(edited.id)] == [
        (1, "recognized"),
        (2, "edit"),
        (3, "replace"),
    ]

    trail = editing.audit.events(action="utterance_replace")
    assert sorted(int(e.target_id) for e in trail) == sorted(x.id for x in targets)
    entry = next(e for e in trail if e.target_id == str(plain.id))
    assert (entry.actor, entry.target_type) == ("佐藤", "utterance")
    assert (entry.before["text"], entry.before["version"], entry.before["meeting"]) == (plain.text, 1, meeting_id)
    assert entry.after == {"version": 2, "text": plain.text.replace("補正予算", "補正予算案")}
    summary = editing.audit.events(action="replace")
    assert [e.after for e in summary] == [{"find": "補正予算", "replace": "補正予算案", "count": 20}]
    with engine.connect() as connection:  # the search index follows the bulk update (FTS triggers; pg_trgm's GIN)
        if engine.dialect.name == "sqlite":
            found = connection.exec_driver_sql(
                "SELECT count(*) FROM utterance_fts WHERE utterance_fts MATCH '補正予算案'"
            )
        else:
            found = connection.exec_driver_sql("SELECT count(*) FROM utterance WHERE text ILIKE '%%補正予算案%%'")
        assert found.scalar() == 20
    # Each utterance can be restored on its own.
    assert as_("佐藤").transcript.revert(plain.id, to_version=1, expected_version=2).text == plain.text


def test_replace_all_changes_nothing_when_an_utterance_changes_underneath(editing, engine, monkeypatch, as_):
    meeting_id = seed_meeting(engine, utterances=12)
    preview = editing.transcript.preview_replace(meeting_id, "補正予算", "補正予算案")
    victim = preview.matches[-1].utterance_id
    original = store.utterances_with_revisions

    def racing(session, *, utterance_ids):
        # Someone else's edit lands between the version check and the bulk update.
        session.exec(update(UtteranceRow).where(UtteranceRow.id == victim).values(version=UtteranceRow.version + 1))
        return original(session, utterance_ids=utterance_ids)

    monkeypatch.setattr(store, "utterances_with_revisions", racing)
    with pytest.raises(EditConflict):
        as_("佐藤").transcript.apply_replace(meeting_id, preview)
    lines = _lines(editing, meeting_id)
    assert all("補正予算案" not in x.text and x.version == 1 for x in lines)
    assert all(len(editing.transcript.history(x.id)) == 1 for x in lines)  # no revisions were written
    assert editing.audit.events(action="utterance_replace") == [] and editing.details.events(meeting_id) == []


def test_merge_speakers_moves_utterances_and_history(editing, meeting_id, as_):
    lines = _lines(editing, meeting_id)
    speakers = {s.label: s for s in editing.speakers.speakers(meeting_id)}
    as_("佐藤").transcript.edit_text(lines[1].id, text="議長。山田です。", expected_version=1)
    moved = as_("佐藤").speakers.merge_speakers(
        source_id=speakers["SPEAKER_01"].id, target_id=speakers["SPEAKER_02"].id
    )
    assert moved == 1
    after = {s.label: s for s in editing.speakers.speakers(meeting_id)}
    assert "SPEAKER_01" not in after and after["SPEAKER_02"].utterances == 2
    assert {r.speaker_id for r in editing.transcript.history(lines[1].id)} == {speakers["SPEAKER_02"].id}
    assert editing.details.events(meeting_id)[-1].action == "speaker_merge"


def test_finalize_locks_and_reopen_is_recorded(editing, meeting_id, as_):
    info = editing.details.meeting(meeting_id)
    line = _lines(editing, meeting_id)[0]
    done = as_("課長").details.finalize(meeting_id, expected_version=info.edit_version)
    assert done.finalized and done.finalized_by == "課長" and done.version == 1
    assert editing.meetings.meetings()[0].status_label == "確定済み"
    with pytest.raises(FinalizedError):
        as_("佐藤").transcript.edit_text(line.id, text="変更", expected_version=line.version)
    with pytest.raises(FinalizedError):
        as_("佐藤").speakers.update_speaker(editing.speakers.speakers(meeting_id)[0].id, name="x")
    with pytest.raises(FinalizedError):
        as_("佐藤").details.update_meeting(meeting_id, expected_version=done.edit_version, title="x")
    with pytest.raises(InputError):
        as_("課長").details.reopen(meeting_id, reason="", expected_version=done.edit_version)
    reopened = as_("課長").details.reopen(meeting_id, reason="発言者の訂正", expected_version=done.edit_version)
    assert not reopened.finalized and reopened.version == 2
    events = editing.details.events(meeting_id)
    assert [e.action for e in events] == ["finalize", "reopen"]
    assert events[1].detail["reason"] == "発言者の訂正" and events[1].detail["finalized_by"] == "課長"
    as_("佐藤").transcript.edit_text(line.id, text="変更", expected_version=line.version)


def test_meeting_details_round_trip_and_stale_details(editing, meeting_id, as_):
    info = editing.details.meeting(meeting_id)
    details = MeetingDetails(
        assembly="大磯町議会",
        session=4,
        issue=2,
        convened=dt.date(2025, 12, 1),
        opened=dt.time(10, 0),
        closed=dt.time(16, 30),
        attendees=(Person("山田太郎", seat=3), Person("大磯一郎", seat=14)),
        absentees=(Person("欠席花子", seat=5),),
        explainers=(Person("町長次郎", role="町長"),),
        staff=(Person("事務三郎", role="議会事務局長"),),
        agenda=(AgendaEntry("一般質問", order=1), AgendaEntry("令和７年度補正予算", order=2, bill="議案第５号")),
    )
    saved = as_("佐藤").details.update_meeting(
        meeting_id,
        expected_version=info.edit_version,
        title="令和７年第４回大磯町議会定例会",
        kind="定例会",
        held_at=dt.datetime(2025, 12, 2, 10),
        place="議場",
        details=details,
    )
    assert saved.details == details and saved.title == "令和７年第４回大磯町議会定例会"
    assert saved.edit_version == info.edit_version + 1
    assert MeetingDetails.from_dict(details.to_dict()) == details
    with pytest.raises(EditConflict):
        as_("鈴木").details.update_meeting(meeting_id, expected_version=info.edit_version, title="古い画面から")


def test_pages_jump_to_time_and_low_confidence(editing, engine):
    meeting_id = seed_meeting(engine, utterances=130)
    page = editing.transcript.page(meeting_id, 0, 50)
    assert (page.total, page.pages, len(page.lines)) == (130, 3, 50)
    assert len(editing.transcript.page(meeting_id, 2, 50).lines) == 30
    target = editing.transcript.page(meeting_id, 1, 50).lines[10]
    assert editing.transcript.page_at(meeting_id, (target.start + target.end) / 2, 50) == 1
    assert editing.transcript.page_at(meeting_id, 1e9, 50) == 2
    marked = page.lines[1].low_confidence()
    assert [low for _, low in marked] == [False, True, False] and "".join(t for t, _ in marked) == page.lines[1].text
    summary = editing.meetings.meetings()[0]
    assert summary.status == "succeeded" and summary.status_label == "完了"


def test_editor_name_is_required(editing, meeting_id, as_):
    line = _lines(editing, meeting_id)[0]
    with pytest.raises(InputError):
        as_(" ").transcript.edit_text(line.id, text="x", expected_version=1)
