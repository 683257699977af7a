"""Voice profiles (services.voices): enrolled from a span of real speech, listed with where they came from, deleted
only by administrators, every change audited; what a transcription job stores for the speakers it identified."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from minutes.errors import InputError, PermissionDenied
from minutes.pipeline.identify import Match
from minutes.services import Principal, Role, Services
from minutes.services.identification import speaker_fields
from minutes.services.voices import profiles_for
from minutes.store.tables import Meeting
from tests.conftest import SAMPLES

SAMPLE = SAMPLES / "council_ja.wav"


def _services(runtime, role: Role | None) -> Services:
    user = Principal.operator("tester") if role is None else Principal(7, f"{role.value}さん", role)
    return Services.for_user(runtime.engine, runtime.settings, user)


@pytest.fixture
def people(runtime):
    services = _services(runtime, None)
    chair = services.people.add("高橋一郎", kind="議員", seat=10, titles=[("議長", "2023-05-01", None)])
    mayor = services.people.add("鈴木健二", kind="説明員", titles=[("町長", "2022-04-01", None)])
    return chair, mayor


def test_a_voice_is_enrolled_from_a_span_and_listed_with_its_source(runtime, people):
    chair, _ = people
    clerk = _services(runtime, Role.CLERK)
    profile = clerk.voices.enroll(chair.id, SAMPLE, start=105.4, end=113.4)
    assert profile.name == "高橋一郎" and len(profile.samples) == 1
    sample = profile.samples[0]
    assert sample.source == "登録" and "council_ja.wav" in sample.detail and 7.5 <= sample.seconds <= 8.5
    assert [p.name for p in clerk.voices.profiles()] == ["高橋一郎"]
    events = _services(runtime, None).audit.events()
    assert any(e.action == "voice.enroll" and e.actor == clerk.user.name for e in events)


def test_too_short_a_span_or_a_wrong_order_is_refused_and_nothing_is_stored(runtime, people):
    chair, _ = people
    services = _services(runtime, None)
    with pytest.raises(InputError, match="3 秒以上"):
        services.voices.enroll(chair.id, SAMPLE, start=41.0, end=41.6)
    with pytest.raises(InputError, match="終了は開始より後"):
        services.voices.enroll(chair.id, SAMPLE, start=20.0, end=10.0)
    assert services.voices.profiles() == []


def test_only_administrators_delete_a_profile_and_readers_do_not_see_them(runtime, people):
    chair, _ = people
    _services(runtime, None).voices.enroll(chair.id, SAMPLE, start=105.4, end=113.4)
    with pytest.raises(PermissionDenied):
        _services(runtime, Role.CLERK).voices.delete(chair.id)
    with pytest.raises(PermissionDenied):
        _services(runtime, Role.EDITOR).voices.profiles()
    admin = _services(runtime, Role.ADMIN)
    assert admin.voices.delete(chair.id) == 1
    assert admin.voices.profiles() == []
    deleted = [e for e in admin.audit.events() if e.action == "voice.delete"]
    assert deleted and deleted[0].before == {"name": "高橋一郎", "samples": 1}


def test_an_identified_speaker_gets_the_roster_name_and_title_and_an_unsure_one_only_a_suggestion(runtime, people):
    chair, mayor = people
    with Session(runtime.engine) as session:
        meeting = Meeting(title="定例会")
        session.add(meeting)
        session.flush()
        fields = speaker_fields(
            session,
            meeting,
            {"S0": Match(str(chair.id), 0.97), "S1": Match(None, 0.31, str(mayor.id)), "S2": Match(None, 0.0)},
        )
    assert (fields["S0"]["name"], fields["S0"]["role"], fields["S0"]["person_id"]) == ("高橋一郎", "議長", chair.id)
    assert fields["S0"]["person_score"] == 0.97
    assert fields["S1"] == {"suggested_person_id": mayor.id, "person_score": 0.31}  # no name from an unsure match
    assert "S2" not in fields


def test_when_the_header_lists_people_only_they_and_the_chair_are_candidates(runtime, people):
    chair, mayor = people
    member = _services(runtime, None).people.add("山田太郎", kind="議員", seat=3)
    services = _services(runtime, None)
    for person, span in ((chair, (105.4, 113.4)), (mayor, (45.5, 72.4)), (member, (20.9, 40.3))):
        services.voices.enroll(person.id, SAMPLE, start=span[0], end=span[1])
    with Session(runtime.engine) as session:
        meeting = Meeting(title="委員会", details={})
        session.add(meeting)
        session.flush()
        assert sorted(p.person for p in profiles_for(session, meeting)) == sorted(
            str(p.id) for p in (chair, mayor, member)
        )  # nobody listed: everyone in office
        meeting.details = {"attendees": [{"name": "山田　太郎君", "seat": 3, "role": ""}]}
        assert sorted(p.person for p in profiles_for(session, meeting)) == sorted(str(p.id) for p in (chair, member))


def test_the_rosters_people_in_office_are_recognition_terms(runtime, people):
    services = _services(runtime, None)
    services.people.add("小林恵子", yomi="こばやしけいこ", kind="説明員")
    services.people.retire(services.people.find("小林恵子").id)
    terms = services.dictionary.recognition_terms()
    names = {t.text: t for t in terms if t.kind == "人名"}
    assert {"高橋一郎", "鈴木健二"} <= set(names) and "小林恵子" not in names


def test_finalizing_a_meeting_adds_its_named_speakers_voices_to_their_profiles(runtime, people):
    import shutil

    from minutes.services.worker import Worker
    from tests.seeding import seed_meeting

    chair, _ = people
    meeting_id = seed_meeting(runtime.engine)
    (runtime.settings.data_dir / "recordings").mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLE, runtime.settings.data_dir / "recordings" / "sample.wav")
    clerk = _services(runtime, Role.CLERK)
    speaker = clerk.speakers.speakers(meeting_id)[0]
    clerk.speakers.link_person(speaker.id, chair.id)
    info = clerk.details.meeting(meeting_id)
    assert clerk.details.finalize(meeting_id, expected_version=info.edit_version).finalized
    assert Worker(runtime).run_once() is not None  # the voices job the finalization queued
    profile = clerk.voices.profile(chair.id)
    assert [s.source for s in profile.samples] == ["会議"] and profile.samples[0].seconds > 0
    assert "令和７年第４回定例会" in profile.samples[0].detail
    assert any(e.action == "voice.from_meeting" for e in _services(runtime, None).audit.events())


def _reference_meeting(runtime, title: str, start: float, end: float, labels: dict[str, str]) -> int:
    """A meeting stored as the worker leaves it, over the part [start, end) of the council sample (its reference turns
    as utterances, speakers labelled ``labels[reference speaker]``); both meetings share the sample's recording."""
    import json

    from minutes.records import Utterance
    from tests.seeding import store_meeting, words_of

    turns = json.loads(SAMPLE.with_suffix(".json").read_text(encoding="utf-8"))
    utterances = [
        Utterance(labels[t["speaker"]], t["start"], t["end"], t["text"], words_of(t["text"], t["start"], t["end"]))
        for t in turns
        if start <= t["start"] < end
    ]
    return store_meeting(runtime.engine, title=title, utterances=utterances, duration=113.9)


def test_a_finalized_meetings_named_voices_name_the_speakers_of_the_next_meeting(runtime, people):
    """The flow a clerk relies on: meeting 1 named and finalized → its voices job adds each person's voice → the
    speakers of meeting 2 (other speech of the same people, anonymous labels) come out named by the identify job."""
    import shutil

    from minutes.services.worker import Worker

    chair, mayor = people
    member = _services(runtime, None).people.add("山田太郎", kind="議員", seat=3)
    (runtime.settings.data_dir / "recordings").mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLE, runtime.settings.data_dir / "recordings" / "sample.wav")
    clerk = _services(runtime, Role.CLERK)
    who = {"gicho": chair, "chocho": mayor, "giin3": member}
    first = _reference_meeting(runtime, "第１日", 0.0, 73.0, {name: name for name in who})
    for speaker in clerk.speakers.speakers(first):
        clerk.speakers.link_person(speaker.id, who[speaker.label].id)
    info = clerk.details.meeting(first)
    assert clerk.details.finalize(first, expected_version=info.edit_version).finalized
    assert Worker(runtime).run_once() is not None  # the voices job
    assert {p.name for p in clerk.voices.profiles()} == {"高橋一郎", "鈴木健二", "山田太郎"}

    anonymous = {"gicho": "SPEAKER_02", "chocho": "SPEAKER_00", "giin3": "SPEAKER_01"}
    second = _reference_meeting(runtime, "第２日", 73.0, 114.0, anonymous)  # speech none of the profiles holds
    clerk.meetings.identify(second)
    assert Worker(runtime).run_once() is not None  # the identify job
    named = {s.label: s for s in clerk.speakers.speakers(second)}
    for reference, label in anonymous.items():
        assert named[label].person_id == who[reference].id, (label, named[label])
    assert named["SPEAKER_02"].display == "議長 高橋一郎" and named["SPEAKER_01"].display == "３番 山田太郎"
    assert not any(s.person_confirmed for s in named.values())  # named by voice: the clerk still confirms
