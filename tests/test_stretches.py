"""Naming only what sounds like the person (minutes.pipeline.stretches): a named speaker's utterance that holds
someone else's speech loses the name there, on embeddings made to be near or far. The real voices are measured in
benchmarks/identify.py (AMI excerpts: wrong names 16.5 % → 2.4 %, 11.6 % → 1.8 %)."""

from __future__ import annotations

import numpy as np

from diarize.voices import Voice, unit
from minutes.pipeline.identify import Identification, IdentifyOptions, Match, Profile
from minutes.pipeline.stretches import WINDOW, set_apart, windows
from minutes.records import Utterance, Word

RNG = np.random.default_rng(11)
BASES = {name: unit(RNG.normal(size=192)) for name in ("takahashi", "sato")}
PROFILES = [Profile(name, Voice(BASES[name], 60.0)) for name in BASES]


def _voice(name: str) -> Voice:
    return Voice(unit(BASES[name] + 0.4 * unit(RNG.normal(size=192))), WINDOW)


def _words(start: float, texts: list[str]) -> tuple[Word, ...]:
    return tuple(Word(start + i, start + i + 0.9, text, 0.9) for i, text in enumerate(texts))


def _window_voices(found, sato_from: float, sato_to: float) -> list[Voice]:
    """Windows whose middle lies in [sato_from, sato_to) sound like sato, the others like takahashi."""
    return [_voice("sato" if sato_from <= (a + b) / 2 < sato_to else "takahashi") for _, a, b in found]


def test_the_other_persons_stretch_inside_a_named_utterance_is_set_apart_unnamed():
    texts = ["議長", "の", "高橋", "です", "はい", "佐藤", "です", "以上", "です", "ます"]
    u = Utterance("A", 0.0, 10.0, "".join(texts), _words(0.0, texts))
    named = Identification((u,), {"A": Match("takahashi", 0.95)})
    found = windows(named)
    assert found[0] == (0, 0.0, WINDOW) and found[-1] == (0, 10.0 - WINDOW, 10.0)
    result = set_apart(named, found, _window_voices(found, 4.0, 7.0), PROFILES, IdentifyOptions())
    speakers = [u.speaker for u in result.utterances]
    assert speakers == ["A", "A_1", "A"]
    assert [u.text for u in result.utterances] == ["議長の高橋です", "はい佐藤です", "以上ですます"]
    assert result.matches["A"].person == "takahashi"
    # the set-apart speech is unknown: sato is only offered
    assert result.matches["A_1"].person is None and result.matches["A_1"].suggested == "sato"
    assert "".join(u.text for u in result.utterances) == u.text  # not a word is lost


def test_a_named_utterance_that_sounds_like_the_person_throughout_is_left_whole():
    texts = ["本日", "の", "会議", "を", "開き", "ます"]
    u = Utterance("A", 0.0, 6.0, "".join(texts), _words(0.0, texts))
    named = Identification((u,), {"A": Match("takahashi", 0.95)})
    found = windows(named)
    result = set_apart(named, found, _window_voices(found, 99.0, 99.0), PROFILES, IdentifyOptions())
    assert result == Identification((u,), {"A": Match("takahashi", 0.95)})


def test_unknown_speakers_are_not_listened_to_and_a_short_doubt_keeps_the_name():
    unknown = Utterance("B", 0.0, 6.0, "")
    assert windows(Identification((unknown,), {"B": Match(None, 0.2, "sato")})) == []
    u = Utterance("A", 0.0, 10.0, "")  # a diarization turn: no words, cut by time
    named = Identification((u,), {"A": Match("takahashi", 0.95)})
    found = windows(named)
    one_window = set_apart(named, found, _window_voices(found, 5.0, 5.5), PROFILES, IdentifyOptions())
    assert [x.speaker for x in one_window.utterances] == ["A"]
    longer = set_apart(named, found, _window_voices(found, 5.0, 8.0), PROFILES, IdentifyOptions())
    assert (longer.utterances[0].speaker, longer.utterances[0].start) == ("A", 0.0)
    assert {x.speaker for x in longer.utterances} == {"A", "A_1"}
    assert sum(x.end - x.start for x in longer.utterances) == 10.0


def test_with_a_single_candidate_nothing_is_compared():
    u = Utterance("A", 0.0, 10.0, "")
    named = Identification((u,), {"A": Match("takahashi", 0.95)})
    found = windows(named)
    result = set_apart(named, found, _window_voices(found, 0.0, 10.0), PROFILES[:1], IdentifyOptions())
    assert result.utterances == (u,)


def test_a_call_like_stretch_at_the_edge_that_sounds_like_the_chair_is_the_chairs():
    # 「３番山田議員」 run into the member's own 「３番山田です」 without a pause: the text shows no call
    chair = Utterance("C", 0.0, 3.0, "日程第一です", _words(0.0, ["日程", "第一", "です"]))
    texts = ["３番", "山田", "議員", "３番", "山田", "です", "質問", "します"]
    words = tuple(Word(4.0 + 0.5 * i, 4.45 + 0.5 * i, text, 0.9) for i, text in enumerate(texts))
    member = Utterance("A", 4.0, 8.0, "".join(texts), words)
    named = Identification((chair, member), {"C": Match("takahashi", 0.95), "A": Match("sato", 0.95)})
    found = windows(named)

    def voices(takahashi_until: float) -> list[Voice]:
        return [_voice("takahashi" if (a + b) / 2 < takahashi_until else "sato") for _, a, b in found]

    result = set_apart(named, found, voices(5.5), PROFILES, IdentifyOptions(), frozenset({"takahashi"}))
    assert [(u.speaker, u.text) for u in result.utterances] == [
        ("C", "日程第一です"),
        ("C", "３番山田議員。"),
        ("A", "３番山田です質問します"),
    ]
    assert set(result.matches) == {"C", "A"}  # no unknown speaker
    # without knowing who chairs, the same stretch only loses the name
    unnamed = set_apart(named, found, voices(5.5), PROFILES, IdentifyOptions())
    assert [u.speaker for u in unnamed.utterances] == ["C", "A_1", "A"]
    # a longer stretch than a call is speech, not a call: set apart unnamed
    longer = set_apart(named, found, voices(7.0), PROFILES, IdentifyOptions(), frozenset({"takahashi"}))
    assert [u.speaker for u in longer.utterances] == ["C", "A_1", "A"]
