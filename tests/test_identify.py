"""Speaker identification (minutes.pipeline.identify) on embeddings made to be near or far: one-to-one names, unknown
when unsure, speakers split and merged by the voices. The real voices are measured in benchmarks/identify.py and the
end-to-end test."""

from __future__ import annotations

import numpy as np

from diarize.voices import Voice, unit
from minutes.pipeline.identify import IdentifyOptions, Profile, identify, score
from minutes.records import Utterance

RNG = np.random.default_rng(7)
BASES = {name: unit(RNG.normal(size=192)) for name in ("takahashi", "sato", "suzuki", "tanaka")}


def _voice(name: str, noise: float = 0.5, seconds: float = 10.0) -> Voice:
    """A voice whose cosine to ``name``'s profile is about 1 / sqrt(1 + noise²) (0.89 at 0.5)."""
    return Voice(unit(BASES[name] + noise * unit(RNG.normal(size=192))), seconds)


def _profiles(*names: str) -> list[Profile]:
    return [Profile(name, Voice(BASES[name], 60.0)) for name in names]


def _utterances(labels: list[str], seconds: float = 10.0) -> list[Utterance]:
    return [Utterance(label, i * 20.0, i * 20.0 + seconds, f"発言{i}") for i, label in enumerate(labels)]


def test_each_speaker_gets_its_person_and_an_unenrolled_voice_stays_unknown():
    utterances = _utterances(["A", "B", "C", "A"])
    voices = [_voice("takahashi"), _voice("sato"), _voice("tanaka"), _voice("takahashi")]
    result = identify(utterances, voices, _profiles("takahashi", "sato", "suzuki"))
    assert result.matches["A"].person == "takahashi" and result.matches["B"].person == "sato"
    assert result.matches["A"].score > 0.9
    assert result.matches["C"].person is None  # tanaka has no profile: unknown, never the closest wrong name
    assert result.matches["C"].score < 0.5
    assert [u.speaker for u in result.utterances] == ["A", "B", "C", "A"]


def test_the_score_is_calibrated_around_the_threshold():
    options = IdentifyOptions()
    assert score(options.threshold) == 0.5
    assert score(options.threshold + 0.1) > 0.85 > 0.15 > score(options.threshold - 0.1)


def test_a_speaker_with_too_little_speech_or_no_clear_winner_is_only_a_suggestion():
    short = identify(_utterances(["A"], seconds=2.0), [_voice("sato", seconds=2.0)], _profiles("sato", "suzuki"))
    assert short.matches["A"].person is None and short.matches["A"].suggested == "sato"
    # a voice halfway between two people: neither name is given
    between = Voice(unit(BASES["sato"] + BASES["suzuki"]), 20.0)
    unsure = identify(_utterances(["A"]), [between], _profiles("sato", "suzuki"))
    assert unsure.matches["A"].person is None and unsure.matches["A"].suggested in ("sato", "suzuki")


def test_two_speakers_of_one_voice_are_merged_and_one_speaker_of_two_voices_is_split():
    # the clustering cut takahashi in two (A, B) and joined sato and suzuki (C)
    labels = ["A", "B", "A", "B", "C", "C", "C", "C"]
    names = ["takahashi", "takahashi", "takahashi", "takahashi", "sato", "suzuki", "sato", "suzuki"]
    result = identify(_utterances(labels), [_voice(n, 0.3) for n in names], _profiles("takahashi", "sato", "suzuki"))
    speakers = [u.speaker for u in result.utterances]
    assert speakers[:4] == ["A"] * 4  # merged into the one with more speech (the first, on a tie)
    assert speakers[4] == speakers[6] != speakers[5] == speakers[7]  # split by person
    people = {speakers[i]: result.matches[speakers[i]].person for i in (0, 4, 5)}
    assert sorted(people.values()) == ["sato", "suzuki", "takahashi"]
    assert set(result.matches) == set(speakers)


def test_one_person_is_never_given_to_two_speakers_that_do_not_sound_alike():
    # B is close to takahashi's profile but not to A: only the closer speaker gets the name
    near = Voice(unit(BASES["takahashi"] + 0.45 * unit(RNG.normal(size=192))), 20.0)
    far = Voice(unit(BASES["takahashi"] + 0.9 * unit(RNG.normal(size=192))), 20.0)
    options = IdentifyOptions(merge_similarity=0.95)
    result = identify(_utterances(["A", "B"]), [near, far], _profiles("takahashi", "sato"), options)
    assert [m.person for m in (result.matches["A"], result.matches["B"])] == ["takahashi", None]


def test_without_profiles_nothing_changes():
    utterances = _utterances(["A", "B"])
    result = identify(utterances, [_voice("sato"), None], [])
    assert list(result.utterances) == utterances
    assert all(m.person is None for m in result.matches.values())
