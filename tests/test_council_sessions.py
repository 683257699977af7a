"""The scripts of benchmarks/council_sessions.py are what the speaker-identification benchmark needs (no synthesis here:
that takes minutes; the voices' packages are an optional extra)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import council_sessions as cs  # noqa: E402

CALL = re.compile(r"^(次に、)?(?:([０-９]+番)、.+議員|(町長|総務課長|教育長))。$")
SESSION_IDS = [session.id for session in cs.SESSIONS]


def test_the_roster_lists_each_person_once_with_a_voice_of_their_own():
    labels = [entry["label"] for entry in cs.ROSTER]
    assert labels == list(cs.PEOPLE) and len(set(labels)) == len(labels) >= 5
    voices = [(p.voice.engine, p.voice.name) for p in cs.PEOPLE.values()]
    assert len(set(voices)) == len(voices)  # no pitch-shifted copy of another person's voice
    assert {entry["kind"] for entry in cs.ROSTER} <= {"議員", "説明員", "職員", "その他"}
    assert all(set(entry) == {"label", "name", "yomi", "kind", "seat", "title"} for entry in cs.ROSTER)


@pytest.mark.parametrize("session", cs.SESSIONS, ids=SESSION_IDS)
def test_everyone_speaks_enough_in_each_session(session):
    assert 20 <= len(session.script) <= 30
    chars = dict.fromkeys(cs.PEOPLE, 0)
    for line in session.script:
        chars[line.speaker] += len(line.text)
    # About 5.5 characters a second: 80 characters are about 15 s of speech.
    assert min(chars.values()) >= 80, chars


@pytest.mark.parametrize("session", cs.SESSIONS, ids=SESSION_IDS)
def test_the_chair_recognizes_each_speaker_in_a_turn_of_its_own(session):
    for before, line in zip(session.script, session.script[1:], strict=False):
        assert 0.15 <= line.pause_before <= 1.5
        if line.speaker != cs.CHAIR and before.speaker == cs.CHAIR:
            call = CALL.match(before.text)
            assert call, before.text
            person = cs.PEOPLE[line.speaker]
            assert person.role in (call.group(2), call.group(3)), (before.text, person.name)
            assert line.pause_before <= 0.6  # the recognized speaker starts quickly
    # A call is never part of a longer turn.
    for line in session.script:
        assert not re.search(r"[０-９]+番、[^。]*議員。.", line.text), line.text


def test_the_two_sessions_differ_and_their_hashes_too():
    a, b = cs.SESSIONS
    assert a.id != b.id and a.noise_seed != b.noise_seed
    said = [{line.text for line in s.script if line.speaker != cs.CHAIR} for s in cs.SESSIONS]
    assert not said[0] & said[1]
    assert cs.script_hash(a) != cs.script_hash(b) and cs.script_hash(a) == cs.script_hash(a)


def test_make_sessions_reuses_files_made_from_the_same_script(tmp_path, monkeypatch):
    for session in cs.SESSIONS:
        turns = [
            {"speaker": line.speaker, "person": cs.PEOPLE[line.speaker].name, "role": "", "start": 0.0, "end": 1.0,
             "text": line.text}
            for line in session.script
        ]  # fmt: skip
        for ext in ("wav", "rttm", "txt"):
            (tmp_path / f"{session.id}.{ext}").write_text("")
        (tmp_path / f"{session.id}.json").write_text(json.dumps(turns, ensure_ascii=False))
        (tmp_path / f"{session.id}.script.sha256").write_text(cs.script_hash(session) + "\n")
    made = []
    monkeypatch.setattr(cs, "synthesize_session", lambda session, *args, **kwargs: made.append(session.id))

    recordings = cs.make_sessions(tmp_path, tmp_path)
    assert made == [] and [r.id for r in recordings] == SESSION_IDS
    assert recordings[1].turns[0].text == cs.SESSIONS[1].script[0].text

    (tmp_path / f"{SESSION_IDS[1]}.script.sha256").write_text("stale\n")
    cs.make_sessions(tmp_path, tmp_path)
    assert made == [SESSION_IDS[1]]
