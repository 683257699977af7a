"""Issue 16, speakers in the editor, on real SQLite: adding a speaker, changing the speaker of many utterances at once,
splitting at a place in the text with a speaker, splitting out the chair's calls, 話者１… instead of SPEAKER_00, and
re-running speaker separation on a finished meeting with every text edit kept (pure, service, worker and, marked
slow, the real models on samples_audio/council_ja.wav)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from minutes.errors import EditConflict, FinalizedError, InputError, JobError, PermissionDenied
from minutes.pipeline.assign import join_words
from minutes.pipeline.rediarize import SeparationResult, StoredUtterance, match_speakers, resegment, speaker_fixed
from minutes.records import SpeakerTurn, Utterance, Word
from minutes.services import Principal, Services
from minutes.services.permissions import Role
from minutes.services.rediarization import apply_rediarization
from minutes.services.speaker_views import ReassignScope
from minutes.services.views import Line, MeetingDetails, Person
from minutes.services.worker import Worker
from minutes.settings import Settings
from tests.conftest import SAMPLES
from tests.seeding import set_details, store_meeting, words_of

# ---------------------------------------------------------------- a council meeting where 町長 was heard as 5番

CHAIR, MEMBER, MAYOR = "gicho", "giin5", "chocho"  # who really speaks (the turns of a "better" separation)


def sentences(*parts: tuple[str, float, float]) -> tuple[Word, ...]:
    """Words of consecutive sentences, each (text, start, end), two characters a word, evenly timed."""
    return tuple(word for text, start, end in parts for word in words_of(text, start, end))


# (stored label, [(sentence, start, end, who really says it)])
COUNCIL = [
    ("SPEAKER_00", [("ただいまから会議を開きます。", 0.0, 3.5, CHAIR)]),
    (
        "SPEAKER_01",
        [
            ("５番、佐藤です。", 4.0, 6.0, MEMBER),
            ("防災について伺います。", 6.0, 14.0, MEMBER),
            ("町長。", 14.0, 15.0, CHAIR),
        ],
    ),
    ("SPEAKER_01", [("お答えします。", 15.5, 18.0, MAYOR), ("防災計画を見直しました。", 18.0, 24.0, MAYOR)]),
    ("SPEAKER_00", [("５番、佐藤花子議員。", 24.5, 27.0, CHAIR)]),
    ("SPEAKER_01", [("ありがとうございました。", 27.5, 33.0, MEMBER)]),
    (
        "SPEAKER_01",
        [("町長。", 33.5, 34.5, CHAIR), ("お答えします。", 34.5, 37.0, MAYOR), ("以上です。", 37.0, 39.0, MAYOR)],
    ),
]


def council_records() -> list[Utterance]:
    records = []
    for label, parts in COUNCIL:
        words = sentences(*[(text, start, end) for text, start, end, _ in parts])
        records.append(Utterance(label, parts[0][1], parts[-1][2], "".join(t for t, *_ in parts), words))
    return records


def council_turns() -> list[SpeakerTurn]:
    """What a separation with the right count finds: one turn per sentence, by who really says it."""
    return [SpeakerTurn(start, end, who) for _, parts in COUNCIL for _, start, end, who in parts]


@pytest.fixture
def as_(engine: Engine, tmp_path: Path) -> Callable[..., Services]:
    settings = Settings(data_dir=tmp_path)
    return lambda name, role=None: Services.for_user(
        engine, settings, Principal.operator(name) if role is None else Principal(7, name, role)
    )


@pytest.fixture
def council(engine: Engine) -> int:
    return store_meeting(engine, title="第４回定例会", utterances=council_records(), duration=40.0)


def lines_of(services: Services, meeting_id: int) -> list[Line]:
    return list(services.transcript.page(meeting_id, 0, 1000).lines)


def names_of(services: Services, meeting_id: int) -> list[str]:
    shown = {s.id: s.display for s in services.speakers.speakers(meeting_id)}
    return [shown[line.speaker_id] for line in lines_of(services, meeting_id)]


# ---------------------------------------------------------------- 話者１, 話者２ … instead of SPEAKER_00


def test_unnamed_speakers_show_as_numbered_speakers_in_japanese(as_, council):
    services = as_("佐藤")
    assert names_of(services, council) == ["話者１", "話者２", "話者２", "話者１", "話者２", "話者２"]
    assert all("SPEAKER" not in s.display for s in services.speakers.speakers(council))
    first = services.speakers.speakers(council)[0]
    services.speakers.update_speaker(first.id, expected=first, role="議長")
    assert names_of(services, council)[:2] == ["議長", "話者２"]  # a role alone is a name
    transcript = services.meetings.transcript(council)  # the CLI's view says the same
    assert [transcript.speaker(u).display for u in transcript.utterances][:2] == ["議長", "話者２"]
    text = services.exports.export(council, "txt").data.decode("utf-8")
    assert "○話者２\u3000" in text and "話者２君" not in text  # a number, not a name: no honorific


# ---------------------------------------------------------------- adding a speaker


def test_add_a_speaker_by_name_or_from_the_header(as_, council, engine, tmp_path):
    services = as_("佐藤")
    set_details(
        engine,
        tmp_path,
        council,
        MeetingDetails(
            attendees=(Person("大磯一郎", seat=14, role="議長"), Person("佐藤花子", seat=5)),
            explainers=(Person("町田次郎", role="町長"),),
            chair="大磯一郎",
        ),
    )
    people = services.speakers.header_people(council)
    assert [(p.name, p.role, p.kind, p.present) for p in people] == [
        ("大磯一郎", "議長", "議員", False),
        ("佐藤花子", "", "議員", False),
        ("町田次郎", "町長", "説明員", False),
    ]
    mayor = people[2]
    added = services.speakers.add_speaker(council, name=mayor.name, role=mayor.role, kind=mayor.kind, seat=mayor.seat)
    assert (added.display, added.kind, added.utterances, added.detected) == ("町長 町田次郎", "説明員", 0, False)
    assert added.id in {s.id for s in services.speakers.speakers(council)}  # in every drop-down at once
    assert [p.present for p in services.speakers.header_people(council)] == [False, False, True]
    clerk = services.speakers.add_speaker(council, role="議会事務局長")
    assert clerk.display == "議会事務局長" and clerk.label != added.label
    with pytest.raises(InputError):
        services.speakers.add_speaker(council, name="町田次郎", role="町長")  # already there
    with pytest.raises(InputError):
        services.speakers.add_speaker(council, name=" ", role="")
    events = [e for e in services.details.events(council) if e.action == "speaker_add"]
    assert [(e.actor, e.detail["after"]["name"]) for e in events] == [("佐藤", "町田次郎"), ("佐藤", None)]
    assert [e.actor for e in services.audit.events(action="speaker_add")] == ["佐藤", "佐藤"]
    with pytest.raises(PermissionDenied):
        as_("田中", Role.VIEWER).speakers.add_speaker(council, name="誰か")
    info = services.details.meeting(council)
    as_("課長").details.finalize(council, expected_version=info.edit_version)
    with pytest.raises(FinalizedError):
        services.speakers.add_speaker(council, name="誰か")


# ---------------------------------------------------------------- one speaker for many utterances


def test_reassign_one_from_here_on_and_until_the_chair(as_, council):
    services = as_("佐藤")
    lines = lines_of(services, council)
    chair_id, member_id = lines[0].speaker_id, lines[1].speaker_id
    mayor = services.speakers.add_speaker(council, role="町長")

    one = services.speakers.preview_reassign(lines[2].id, speaker_id=mayor.id)
    assert [m.utterance_id for m in one.matches] == [lines[2].id] and one.changes == 1
    same = services.speakers.preview_reassign(lines[2].id, speaker_id=mayor.id, scope=ReassignScope.SAME)
    assert [m.utterance_id for m in same.matches] == [lines[2].id, lines[4].id, lines[5].id]
    until = services.speakers.preview_reassign(
        lines[2].id, speaker_id=mayor.id, scope=ReassignScope.UNTIL, until_speaker_id=chair_id
    )
    assert [m.utterance_id for m in until.matches] == [lines[2].id]  # the chair speaks next
    with pytest.raises(InputError):
        services.speakers.preview_reassign(lines[2].id, speaker_id=mayor.id, scope=ReassignScope.UNTIL)

    # all of 5番's later utterances → 町長, as one action with a version, a revision and an audit event each
    assert as_("鈴木").speakers.reassign(same) == 3
    after = lines_of(services, council)
    assert [line.speaker_id for line in after] == [chair_id, member_id, mayor.id, chair_id, mayor.id, mayor.id]
    assert all(after[i].version == 2 and after[i].edited for i in (2, 4, 5))
    assert [(r.version, r.action, r.edited_by, r.speaker_id) for r in services.transcript.history(lines[4].id)] == [
        (1, "recognized", "自動認識", member_id),
        (2, "speaker", "鈴木", mayor.id),
    ]
    trail = services.audit.events(action="utterance_speaker")
    assert sorted(int(e.target_id) for e in trail) == sorted([lines[2].id, lines[4].id, lines[5].id])
    assert all(e.after == {"version": 2, "speaker_id": mayor.id} and e.actor == "鈴木" for e in trail)
    event = services.details.events(council)[-1]
    assert (event.action, event.detail["count"], event.detail["speaker"]) == ("reassign", 3, "町長")
    assert "これより後の「話者２」の発言すべて" in event.detail["rule"]
    # one of them back: the history restores the speaker
    services.transcript.revert(lines[4].id, to_version=1, expected_version=2)
    assert services.transcript.line(lines[4].id).speaker_id == member_id

    # a preview that went stale (someone changed one of its utterances) changes nothing
    stale = services.speakers.preview_reassign(
        lines[4].id, speaker_id=chair_id, scope=ReassignScope.UNTIL, until_speaker_id=mayor.id
    )
    services.transcript.edit_text(lines[4].id, text="ありがとうございました！", expected_version=3)
    with pytest.raises(EditConflict):
        services.speakers.reassign(stale)
    assert services.transcript.line(lines[4].id).speaker_id == member_id


def test_reassign_is_refused_when_finalized_or_not_allowed(as_, council):
    services = as_("佐藤")
    line = lines_of(services, council)[1]
    preview = services.speakers.preview_reassign(line.id, speaker_id=lines_of(services, council)[0].speaker_id)
    with pytest.raises(PermissionDenied):
        as_("田中", Role.VIEWER).speakers.reassign(preview)
    as_("課長").details.finalize(council, expected_version=services.details.meeting(council).edit_version)
    with pytest.raises(FinalizedError):
        services.speakers.reassign(preview)
    assert services.transcript.history(line.id)[-1].action == "recognized"


# ---------------------------------------------------------------- splitting at a place in the text


def test_split_where_the_second_part_begins_with_its_speaker(as_, council):
    services = as_("佐藤")
    line = lines_of(services, council)[1]
    chair_id = lines_of(services, council)[0].speaker_id
    with pytest.raises(InputError):  # not in the text
        services.transcript.split(line.id, second_part="補正予算", expected_version=1)
    with pytest.raises(InputError):  # twice in the text
        services.transcript.split(line.id, second_part="す。", expected_version=1)
    first, second = services.transcript.split(
        line.id, second_part="防災に", speaker_id=chair_id, expected_version=1
    )  # the first characters of the second part are enough
    assert (first.text, second.text) == ("５番、佐藤です。", "防災について伺います。町長。")
    assert (first.speaker_id, second.speaker_id) == (line.speaker_id, chair_id)
    assert first.end == second.start == 6.0 and "".join(w["text"] for w in second.words) == second.text
    # split, then its speaker: two versions of the new utterance, both in its history and in the audit trail
    assert [(r.version, r.action, r.speaker_id) for r in services.transcript.history(second.id)] == [
        (1, "split", line.speaker_id),
        (2, "speaker", chair_id),
    ]
    made = [e for e in services.audit.events() if e.target_id == str(second.id)]
    assert [(e.action, e.actor, e.after.get("from"), e.after.get("speaker_id")) for e in made] == [
        ("utterance_split", "佐藤", line.id, None),
        ("utterance_speaker", "佐藤", None, chair_id),
    ]
    # the whole second part, as the editor prefills it, works too
    again, rest = services.transcript.split(second.id, second_part="町長。", expected_version=2)
    assert (again.text, rest.text) == ("防災について伺います。", "町長。")


def test_split_out_the_chairs_calls_in_one_step(as_, council):
    services = as_("佐藤")
    lines = lines_of(services, council)
    chair = services.speakers.speakers(council)[0]
    assert services.speakers.chair(council) is None
    services.speakers.update_speaker(chair.id, expected=chair, name="大磯一郎", role="議長")
    assert services.speakers.chair(council).id == chair.id
    # a call that closes an utterance: the call is the new second one, the chair's
    rest, call = services.transcript.split_call(lines[1].id, expected_version=1, speaker_id=chair.id)
    assert (rest.text, rest.speaker_id, call.text, call.speaker_id) == (
        "５番、佐藤です。防災について伺います。",
        lines[1].speaker_id,
        "町長。",
        chair.id,
    )
    assert call.start == 14.0 and [w["text"] for w in call.words] == ["町長", "。"]
    # a call that opens one: the first part becomes the chair's, the rest keeps its speaker
    call, rest = services.transcript.split_call(lines[5].id, expected_version=1, speaker_id=chair.id)
    assert (call.text, call.speaker_id, rest.text, rest.speaker_id) == (
        "町長。",
        chair.id,
        "お答えします。以上です。",
        lines[5].speaker_id,
    )
    assert [(r.action, r.speaker_id) for r in services.transcript.history(lines[5].id)][-2:] == [
        ("split", lines[5].speaker_id),
        ("speaker", chair.id),
    ]
    with pytest.raises(InputError):  # no call left in it
        services.transcript.split_call(lines[2].id, expected_version=1, speaker_id=chair.id)
    assert names_of(services, council)[:4] == ["議長 大磯一郎", "話者２", "議長 大磯一郎", "話者２"]


# ---------------------------------------------------------------- re-running speaker separation (pure)


def stored(records: list[Utterance], edited: dict[int, str] | None = None) -> list[StoredUtterance]:
    """The council as stored: utterance i has id 100 + i and speaker 1 (SPEAKER_00) or 2 (SPEAKER_01)."""
    edited = edited or {}
    return [
        StoredUtterance(
            100 + i, 1 if u.speaker == "SPEAKER_00" else 2, u.start, u.end, edited.get(i, u.text), u.words, i in edited
        )
        for i, u in enumerate(records)
    ]


def test_resegment_cuts_unedited_utterances_and_keeps_edited_text_whole():
    utterances = stored(council_records(), edited={2: "お答えいたします。防災計画を見直しました。"})
    pieces = resegment(utterances, council_turns())
    assert [(p.sources, p.label, p.text, p.kept_text) for p in pieces] == [
        ((100,), CHAIR, "ただいまから会議を開きます。", False),
        ((101,), MEMBER, "５番、佐藤です。防災について伺います。", False),
        ((101,), CHAIR, "町長。", False),
        ((102,), MAYOR, "お答えいたします。防災計画を見直しました。", True),
        ((103,), CHAIR, "５番、佐藤花子議員。", False),
        ((104,), MEMBER, "ありがとうございました。", False),
        ((105,), CHAIR, "町長。", False),
        ((105,), MAYOR, "お答えします。以上です。", False),
    ]
    assert pieces[2].start == 14.0 and pieces[2].words[0].text == "町長"
    # untouched neighbours of one new speaker join (the first run's rule); a touched one keeps its boundaries
    one_voice = [SpeakerTurn(0.0, 40.0, CHAIR)]
    assert [p.sources for p in resegment(stored(council_records()), one_voice)] == [tuple(range(100, 106))]
    touched = stored(council_records(), edited={3: COUNCIL[3][1][0][0]})  # edited but the words still spell it
    assert [p.sources for p in resegment(touched, one_voice)] == [(100, 101, 102), (103,), (104, 105)]
    # no turn near an utterance: it keeps its speaker
    assert all(p.label is None for p in resegment(utterances, []))


def test_resegment_cuts_an_untouched_utterance_whose_text_is_the_seibun_of_its_words():
    """A draft's 整文 (５番 where the words say 5番) is not a clerk's edit: the utterance is still cut where the new
    speakers change, and its text is remade from the words (the service gives it the draft's 整文 again)."""
    records = council_records()
    words = tuple(replace(w, text=w.text.replace("５", "5")) for w in records[1].words)
    raw = join_words(words, "ja")
    assert raw != records[1].text
    utterances = stored(records)
    utterances[1] = replace(utterances[1], words=words, raw=raw)
    pieces = [(p.sources, p.label, p.kept_text) for p in resegment(utterances, council_turns()) if 101 in p.sources]
    assert pieces == [((101,), MEMBER, False), ((101,), CHAIR, False)]
    edited = [replace(u, touched=True) if u.id == 101 else u for u in utterances]  # the clerk's text: kept whole
    assert [p.kept_text for p in resegment(edited, council_turns()) if 101 in p.sources] == [True]


def test_match_speakers_keeps_names_with_the_voice_that_overlaps_them_most():
    utterances = stored(council_records())
    # speaker 2 (SPEAKER_01) holds 5番 and 町長; 5番 overlaps it most, so 5番's new label takes it over
    assert match_speakers(utterances, council_turns()) == {CHAIR: 1, MEMBER: 2}
    # a named speaker chooses first: the clerk added 町長 (3) and gave it two of the mayor's utterances
    utterances[2] = replace(utterances[2], speaker=3)
    utterances[5] = replace(utterances[5], speaker=3)
    assert match_speakers(utterances, council_turns(), named={3}) == {MAYOR: 3, CHAIR: 1, MEMBER: 2}


# ---------------------------------------------------------------- re-running speaker separation (stored)


def test_rediarization_keeps_text_edits_names_and_history(as_, council, engine):
    services = as_("佐藤")
    lines = lines_of(services, council)
    chair = services.speakers.speakers(council)[0]
    services.speakers.update_speaker(chair.id, expected=chair, name="大磯一郎", role="議長")
    edited = services.transcript.edit_text(
        lines[2].id, text="お答えいたします。防災計画を見直しました。", expected_version=1
    )
    with Session(engine) as session:
        summary = apply_rediarization(
            session, meeting_id=council, turns=council_turns(), actor="鈴木", request={"num_speakers": 3}
        )
        session.commit()
    assert (summary.speakers, summary.new_speakers, summary.created) == (3, 1, 2)
    after = lines_of(services, council)
    texts = [line.text for line in after]
    assert texts == [
        "ただいまから会議を開きます。",
        "５番、佐藤です。防災について伺います。",
        "町長。",
        "お答えいたします。防災計画を見直しました。",  # the clerk's edit, whole
        "５番、佐藤花子議員。",
        "ありがとうございました。",
        "町長。",
        "お答えします。以上です。",
    ]
    assert names_of(services, council) == [
        "議長 大磯一郎",
        "話者２",
        "議長 大磯一郎",
        "話者３",
        "議長 大磯一郎",
        "話者２",
        "議長 大磯一郎",
        "話者３",
    ]
    assert [line.seq for line in after] == sorted({line.seq for line in after})
    # the edited utterance: same row, new speaker, its text untouched; a 'rediarize' revision by the requester
    mayor_line = after[3]
    assert mayor_line.id == edited.id and mayor_line.version == edited.version + 1
    history = services.transcript.history(edited.id)
    assert [(r.action, r.edited_by) for r in history] == [
        ("recognized", "自動認識"),
        ("edit", "佐藤"),
        ("rediarize", "鈴木"),
    ]
    # the cut utterance keeps its row for the first part, the call is a new row; both can be seen in the history
    assert after[1].id == lines[1].id and not after[1].edited and after[1].end == 14.0
    assert [r.action for r in services.transcript.history(after[2].id)] == ["rediarize"]
    # revert: the clerk can take one utterance back as it was
    services.transcript.revert(lines[1].id, to_version=1, expected_version=after[1].version)
    assert services.transcript.line(lines[1].id).text == "５番、佐藤です。防災について伺います。町長。"
    trail = services.audit.events(action="utterance_rediarize")
    assert {e.actor for e in trail} == {"鈴木"} and len(trail) == summary.changed + summary.created
    event = services.details.events(council)[-1]
    assert (event.action, event.actor, event.detail["num_speakers"], event.detail["speakers"]) == (
        "rediarize",
        "鈴木",
        3,
        3,
    )


def test_rediarization_keeps_a_speaker_the_clerk_chose(as_, council, engine):
    services = as_("佐藤")
    lines = lines_of(services, council)
    chair = services.speakers.speakers(council)[0]
    services.speakers.update_speaker(chair.id, expected=chair, role="議長")
    # the clerk gives 5番's thanks to the chair (say, the chair said it): the separation disagrees, the clerk wins
    chosen = services.transcript.change_speaker(lines[4].id, speaker_id=chair.id, expected_version=1)
    with Session(engine) as session:
        apply_rediarization(session, meeting_id=council, turns=council_turns(), actor="鈴木")
        session.commit()
    kept = services.transcript.line(chosen.id)
    assert (kept.speaker_id, kept.version, kept.text) == (chair.id, chosen.version, chosen.text)
    assert services.transcript.history(chosen.id)[-1].action == "speaker"
    after = lines_of(services, council)
    assert len({line.speaker_id for line in after}) == 3
    assert after[1].text == "５番、佐藤です。防災について伺います。" and after[1].speaker_id != chair.id


def test_speaker_fixed_reads_the_history():
    assert not speaker_fixed([])
    assert not speaker_fixed([("recognized", 1), ("edit", 1)])
    assert speaker_fixed([("recognized", 1), ("speaker", 2), ("edit", 2)])
    assert speaker_fixed([("split", 1), ("speaker", 2)])
    assert not speaker_fixed([("recognized", 1), ("speaker", 2), ("rediarize", 3)])
    assert speaker_fixed([("recognized", 1), ("rediarize", 2), ("revert", 1)])


# ---------------------------------------------------------------- the job: queued, run by the worker


class FakeRuntime:
    """The worker's view of the runtime, without models: ``separate_speakers`` is replaced in the test."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings, self.base_settings = engine, settings, settings

    def settings_for(self, org_id: int) -> Settings:
        return self.settings

    def whisper_model_path(self, override=None, settings=None):
        raise AssertionError("a re-run of the speaker separation needs no Whisper model")


def test_rediarize_job_is_queued_and_run_by_the_worker(as_, council, engine, tmp_path, monkeypatch):
    services = as_("佐藤", Role.EDITOR)
    recording = tmp_path / "recordings" / "sample.wav"
    recording.parent.mkdir(parents=True)
    with pytest.raises(JobError):  # the recording is gone
        services.meetings.rediarize(council, num_speakers=3)
    recording.write_bytes(b"RIFF")
    with pytest.raises(InputError):
        services.meetings.rediarize(council, min_speakers=4, max_speakers=2)
    with pytest.raises(PermissionDenied):
        as_("田中", Role.VIEWER).meetings.rediarize(council, num_speakers=3)
    job = services.meetings.rediarize(council, num_speakers=3)
    assert job.options["kind"] == "rediarize" and job.options["diarization"]["num_speakers"] == 3
    assert services.meetings.speaker_job(council).status == "queued"
    with pytest.raises(JobError):  # one at a time
        services.meetings.rediarize(council, num_speakers=3)
    # the meeting's state is still its transcription's: finished, so it can still be finalized and exported
    assert services.details.meeting(council).job.status == "succeeded"

    seen: list[tuple[str, float]] = []

    def fake_separation(source, work_dir, options, progress, max_duration=None):
        assert source == recording and options.num_speakers == 3
        progress("decode", 1, 1)
        progress("diarize", 1, 1)
        return SeparationResult(40.0, tuple(council_turns()), {"decode": 0.1, "diarize": 1.0})

    monkeypatch.setattr("minutes.services.worker.separate_speakers", fake_separation)
    worker = Worker(FakeRuntime(engine, Settings(data_dir=tmp_path)), heartbeat_interval=60)
    assert worker.run_job(job.id, lambda stage, done, total, message="": seen.append((stage, done))) == "succeeded"
    assert [stage for stage, _ in seen][-1] == "done" and "assign" in [stage for stage, _ in seen]
    state = services.meetings.speaker_job(council)
    assert (state.status, state.progress) == ("succeeded", 100.0)
    assert len({line.speaker_id for line in lines_of(services, council)}) == 3
    history = services.transcript.history(lines_of(services, council)[1].id)
    assert history[-1].action == "rediarize" and history[-1].edited_by == "佐藤"  # the one who asked
    assert [e.action for e in services.details.events(council)][-2:] == ["rediarize_request", "rediarize"]


def test_rediarize_job_saves_nothing_once_the_meeting_is_finalized(as_, council, engine, tmp_path, monkeypatch):
    services = as_("佐藤")
    (tmp_path / "recordings").mkdir()
    (tmp_path / "recordings" / "sample.wav").write_bytes(b"RIFF")
    job = services.meetings.rediarize(council, num_speakers=3)
    before = [(line.id, line.version) for line in lines_of(services, council)]
    finalized = threading.Event()

    def fake_separation(source, work_dir, options, progress, max_duration=None):
        as_("課長").details.finalize(council, expected_version=services.details.meeting(council).edit_version)
        finalized.set()
        return SeparationResult(40.0, tuple(council_turns()), {})

    monkeypatch.setattr("minutes.services.worker.separate_speakers", fake_separation)
    worker = Worker(FakeRuntime(engine, Settings(data_dir=tmp_path)), heartbeat_interval=60)
    assert worker.run_job(job.id) == "failed" and finalized.is_set()
    assert "確定済み" in services.meetings.job(job.id).error_message
    assert [(line.id, line.version) for line in lines_of(services, council)] == before
    with pytest.raises(FinalizedError):
        services.meetings.rediarize(council, num_speakers=3)


# ---------------------------------------------------------------- end to end with the real models


@pytest.mark.slow
def test_rediarize_the_sample_meeting_with_three_speakers(runtime, settings):
    """The issue's case: separation with 2 speakers merges two of the 3 voices of samples_audio/council_ja.wav (the
    chair and 3番); the clerk names the mayor, edits one of the mayor's answers and re-runs it with 3 speakers: the
    edit stays word for word, 3 speakers speak, the chair and 3番 are apart, the name 町長 stays with the mayor's
    voice, and the changes are in the history."""
    operator = runtime.operator("佐藤")
    meeting_id, job_id = operator.meetings.create(
        SAMPLES / "council_ja.wav", title="定例会", options=operator.meetings.pipeline_options(num_speakers=2)
    )
    worker = Worker(runtime)
    assert worker.run_job(job_id) == "succeeded"
    before = lines_of(operator, meeting_id)
    assert len({line.speaker_id for line in before}) == 2
    answer = next(line for line in before if "避難訓練" in line.text)
    edited = operator.transcript.edit_text(
        answer.id, text=answer.text.replace("避難訓練", "防災訓練") + "以上です。", expected_version=answer.version
    )
    mayor = next(s for s in operator.speakers.speakers(meeting_id) if s.id == answer.speaker_id)
    operator.speakers.update_speaker(mayor.id, expected=mayor, role="町長")
    question = next(line for line in before if "再質問" in line.text)
    assert question.speaker_id == before[0].speaker_id  # the chair and 3番 are one speaker so far

    job = operator.meetings.rediarize(meeting_id, num_speakers=3)
    assert worker.run_job(job.id) == "succeeded"
    after = lines_of(operator, meeting_id)
    assert len({line.speaker_id for line in after}) == 3
    kept = next(line for line in after if line.id == edited.id)
    assert kept.text == edited.text and kept.speaker_id == mayor.id  # the clerk's edit, whole, still the mayor's
    # already the mayor's: nothing to change, so no new version (utterances that change get a 'rediarize' revision)
    assert kept.version == edited.version and operator.transcript.history(edited.id)[-1].action == "edit"
    opening = next(line for line in after if "会議を開きます" in line.text)
    again = next(line for line in after if "再質問" in line.text)
    assert opening.speaker_id != again.speaker_id != mayor.id  # the chair and 3番 apart now
    assert all(line.speaker_id == mayor.id for line in after if "お答えいたします" in line.text)
    assert any(r.action == "rediarize" for line in after for r in operator.transcript.history(line.id))
    assert [line.start for line in after] == sorted(line.start for line in after)
    assert operator.details.events(meeting_id)[-1].action == "rediarize"
