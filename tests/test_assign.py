from minutes.pipeline.assign import AssignOptions, build_utterances, join_words, word_speakers
from minutes.records import Segment, SpeakerTurn, Word


def w(start, end, text):
    return Word(start, end, text, 0.9)


def test_one_segment_spoken_by_two_people_becomes_two_utterances():
    words = (w(0.0, 0.4, "賛成"), w(0.4, 0.8, "の"), w(0.8, 1.2, "方"), w(1.3, 1.7, "はい"), w(1.7, 2.0, "賛成"))
    segment = Segment(0.0, 2.0, "賛成の方はい賛成", words)
    turns = [SpeakerTurn(0.0, 1.25, "SPEAKER_00"), SpeakerTurn(1.25, 2.1, "SPEAKER_01")]
    utterances = build_utterances([segment], turns)
    assert [(u.speaker, u.text) for u in utterances] == [("SPEAKER_00", "賛成の方"), ("SPEAKER_01", "はい賛成")]
    assert utterances[0].end == 1.2 and utterances[1].start == 1.3


def test_words_take_the_speaker_with_the_largest_overlap():
    turns = [SpeakerTurn(0.0, 1.1, "A"), SpeakerTurn(1.0, 3.0, "B")]
    assert word_speakers([w(0.9, 1.6, "x")], turns, AssignOptions()) == ["B"]


def test_words_outside_every_turn_take_the_nearest_speaker_or_the_previous_one():
    turns = [SpeakerTurn(0.0, 1.0, "A"), SpeakerTurn(5.0, 6.0, "B")]
    labels = word_speakers(
        [w(0.2, 0.5, "a"), w(1.3, 1.5, "b"), w(2.9, 3.0, "c"), w(4.5, 4.8, "d")], turns, AssignOptions(max_distance=1.0)
    )
    assert labels == ["A", "A", "A", "B"]


def test_short_islands_inside_one_speakers_run_are_smoothed():
    words = [w(0.0, 0.5, "本日"), w(0.5, 0.6, "の"), w(0.6, 1.2, "会議")]
    turns = [SpeakerTurn(0.0, 0.5, "A"), SpeakerTurn(0.5, 0.6, "B"), SpeakerTurn(0.6, 1.2, "A")]
    utterances = build_utterances([Segment(0, 1.2, "", tuple(words))], turns)
    assert [(u.speaker, u.text) for u in utterances] == [("A", "本日の会議")]


def test_japanese_joins_without_spaces_and_english_keeps_them():
    assert join_words([w(0, 1, "します"), w(1, 2, " 地面")], "ja") == "します地面"
    assert join_words([w(0, 1, " Ask"), w(1, 2, " not")], "en") == "Ask not"


def test_a_long_pause_starts_a_new_utterance():
    words = (w(0.0, 1.0, "休憩"), w(100.0, 101.0, "再開"))
    turns = [SpeakerTurn(0.0, 200.0, "A")]
    assert len(build_utterances([Segment(0, 101, "", words)], turns)) == 2


def test_no_words_no_utterances():
    assert build_utterances([], [SpeakerTurn(0, 1, "A")]) == []


def test_short_runs_at_a_sentence_edge_join_their_sentence():
    # measured on the sample meeting: the speaker change falls 0.3 s into the chair's sentence 「３番、山田議員。」
    words = [
        w(8.6, 9.06, "します。"),
        w(9.62, 9.92, "3"),
        w(9.92, 10.1, "番、"),
        w(10.56, 11.16, "山田議員。"),
        w(85.42, 85.82, "お"),
        w(85.82, 86.86, "答えいたします。"),
    ]
    turns = [
        SpeakerTurn(7.0, 9.97, "A"),
        SpeakerTurn(9.97, 11.2, "B"),
        SpeakerTurn(84.9, 85.6, "B"),
        SpeakerTurn(85.7, 87.2, "C"),
    ]
    utterances = build_utterances([Segment(8.6, 86.86, "", tuple(words))], turns)
    assert [(u.speaker, u.text) for u in utterances] == [
        ("A", "します。"),
        ("B", "3番、山田議員。"),
        ("C", "お答えいたします。"),
    ]


def test_a_real_change_inside_a_sentence_is_kept():
    words = [w(0.0, 1.0, "賛成の"), w(1.0, 2.0, "方は"), w(2.0, 3.5, "起立願います")]
    turns = [SpeakerTurn(0.0, 2.0, "A"), SpeakerTurn(2.0, 3.5, "B")]
    assert [u.speaker for u in build_utterances([Segment(0, 3.5, "", tuple(words))], turns)] == ["A", "B"]
