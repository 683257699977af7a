"""The chair's calls set apart (minutes.pipeline.calls): pure functions over utterance records."""

from __future__ import annotations

from minutes.pipeline.calls import (
    Cut,
    chair_label,
    cut_candidates,
    find_calls,
    separate_calls,
    voice_cuts,
)
from minutes.records import Utterance, Word


def _utterance(speaker: str, pieces: list[tuple[str, float, float]]) -> Utterance:
    words = tuple(Word(start, end, text, 0.9) for text, start, end in pieces)
    return Utterance(speaker, words[0].start, words[-1].end, "".join(w.text for w in words), words)


CHAIR = _utterance("S0", [("ただいまから", 0.0, 1.0), ("会議を開きます。", 1.0, 2.5), ("日程第１、", 3.0, 4.0)])
MAYOR = _utterance("S2", [("お答え", 7.8, 8.2), ("いたします。", 8.2, 9.5)])
MEMBER = _utterance("S1", [("質問", 5.0, 5.5), ("いたします。", 5.5, 6.5), ("町長。", 6.9, 7.4)])


def test_the_chair_is_who_says_the_formulas_and_the_calls():
    assert chair_label([CHAIR, MEMBER, MAYOR, CHAIR]) == "S0"
    assert chair_label([MEMBER]) is None  # one call is not enough to tell


def test_a_call_that_opens_or_closes_another_speakers_utterance_becomes_the_chairs():
    out = separate_calls([CHAIR, MEMBER, MAYOR], "S0")
    assert [(u.speaker, u.text) for u in out] == [
        ("S0", CHAIR.text),
        ("S1", "質問いたします。"),
        ("S0", "町長。"),
        ("S2", "お答えいたします。"),
    ]
    assert (out[1].start, out[1].end, out[2].start, out[2].end) == (5.0, 6.5, 6.9, 7.4)  # times from the words
    # a call at the start of the next speaker's words is a line of its own, even right after the chair's own words
    words = [("３番、", 4.2, 4.6), ("山田議員。", 4.6, 5.3), ("質問", 6.0, 6.5), ("します。", 6.5, 7.5)]
    opened = _utterance("S1", words)
    separated = separate_calls([CHAIR, opened], "S0")
    assert [(u.speaker, u.text) for u in separated] == [
        ("S0", CHAIR.text),
        ("S0", "３番、山田議員。"),
        ("S1", "質問します。"),
    ]


def test_an_utterance_that_is_only_a_call_is_the_chairs_and_nothing_changes_without_a_chair():
    alone = _utterance("S2", [("５番、", 20.0, 20.4), ("佐藤花子議員。", 20.4, 21.2)])
    assert separate_calls([alone], "S0")[0].speaker == "S0"
    assert separate_calls([CHAIR, MEMBER, MAYOR], None) == [CHAIR, MEMBER, MAYOR]
    assert not find_calls("議長。質問します。")  # said to the chair, not by the chair


def test_a_piece_in_the_chairs_voice_is_cut_where_the_text_shows_no_call():
    # Whisper wrote 「町長。」 as 「ちょちょ、」: no call in the text, but the voice of that piece is the chair's
    heard = _utterance("S2", [("ちょちょ、", 30.0, 30.4), ("お答え", 30.7, 31.2), ("いたします。", 31.2, 32.6)])
    candidates = cut_candidates(heard)
    assert Cut("start", 5, 30.0, 30.4) in candidates
    assert all(c.end - c.start <= 2.5 for c in candidates)
    similarities = [(0.55, 0.40) if c == Cut("start", 5, 30.0, 30.4) else (0.30, 0.70) for c in candidates]
    chosen = voice_cuts(candidates, similarities)
    assert chosen == [Cut("start", 5, 30.0, 30.4)]
    out = separate_calls([heard], "S0", {0: chosen})
    assert [(u.speaker, u.text) for u in out] == [("S0", "ちょちょ。"), ("S2", "お答えいたします。")]
    assert out[0].words[0].text == "ちょちょ、"  # the words keep what was heard


def test_a_piece_that_sounds_like_its_own_speaker_stays():
    heard = _utterance("S2", [("はい、", 30.0, 30.4), ("お答え", 30.7, 31.2), ("いたします。", 31.2, 32.6)])
    candidates = cut_candidates(heard)
    assert voice_cuts(candidates, [(0.45, 0.44)] * len(candidates)) == []  # closer to the chair, but not by enough
    assert voice_cuts(candidates, [(0.35, 0.20)] * len(candidates)) == []  # not close enough to the chair at all


def test_a_call_run_into_the_speech_without_a_pause_needs_a_clearer_voice():
    # 「教育長放課後…」: no pause, no punctuation after the call; cut only when the voice is clearly the chair's
    run_on = _utterance("S5", [("教育長", 40.0, 40.6), ("放課後", 40.6, 41.2), ("児童クラブについて", 41.2, 43.5)])
    candidates = cut_candidates(run_on)
    first = next(c for c in candidates if c.position == "start" and c.at == 3)
    assert not first.marked
    unsure = [(0.55, 0.45) if c == first else (0.2, 0.8) for c in candidates]
    assert voice_cuts(candidates, unsure) == []
    clear = [(0.70, 0.40) if c == first else (0.2, 0.8) for c in candidates]
    assert voice_cuts(candidates, clear) == [first]
    out = separate_calls([run_on], "S0", {0: [first]})
    assert [(u.speaker, u.text) for u in out] == [("S0", "教育長。"), ("S5", "放課後児童クラブについて")]


def test_the_voice_is_asked_at_the_edge_the_text_does_not_settle():
    # the call that opens the member's utterance is in the text; the chair's 「町長。」 at its end was misheard
    member = _utterance(
        "S1",
        [("３番、", 10.0, 10.5), ("山田議員。", 10.5, 11.2), ("質問", 11.6, 12.2), ("いたします。", 12.2, 14.0),
         ("チョッチョ", 14.6, 15.2)],
    )  # fmt: skip
    end = next(c for c in cut_candidates(member) if c.position == "end" and c.start == 14.6)
    out = separate_calls([member], "S0", {0: [end]})
    assert [(u.speaker, u.text) for u in out] == [
        ("S0", "３番、山田議員。"),
        ("S1", "質問いたします。"),
        ("S0", "チョッチョ"),
    ]
    assert "".join(u.text for u in out) == member.text  # not a character lost


def test_a_cut_at_a_pause_or_a_mark_is_preferred_to_a_slightly_clearer_one_in_the_answer():
    heard = _utterance(
        "S2", [("ちょちょ、", 85.0, 85.4), ("お", 85.7, 85.8), ("答え", 85.8, 86.0), ("いたします。", 86.0, 87.5)]
    )
    candidates = cut_candidates(heard)
    marked = Cut("start", 5, 85.0, 85.4)
    assert marked in candidates
    # 「ちょちょ、お答」 sounds a hair more like the chair than 「ちょちょ、」 (the answer's first sounds change little)
    similarities = [(0.46, 0.11) if c == marked else (0.55, 0.19) if c.end <= 86.0 else (0.2, 0.8) for c in candidates]
    assert voice_cuts(candidates, similarities) == [marked]


def test_a_short_turn_before_another_speaker_needs_only_to_sound_closer_to_the_chair():
    # half a second of 「町長。」 between the member's question and the mayor's answer: its voice tells little
    member = _utterance("S1", [("伺います。", 38.0, 40.2), ("チョッチョ", 40.75, 41.55)])
    piece = next(c for c in cut_candidates(member) if c.position == "end")
    weak = [(0.48, 0.45)]
    assert voice_cuts([piece], weak) == []  # inside a speaker's speech, closer by 0.03 is not enough
    at_change = Cut(piece.position, piece.at, piece.start, piece.end, piece.marked, at_change=True)
    assert voice_cuts([at_change], weak) == [at_change]
    assert voice_cuts([at_change], [(0.45, 0.48)]) == []  # …but it must sound closer to the chair
