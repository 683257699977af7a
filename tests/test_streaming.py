"""Live transcription: the commit policy on built hypotheses (fast), and the real stage on a few seconds of speech."""

from __future__ import annotations

from minutes.pipeline.agreement import agreed_prefix, fresh_words, join_words, sentence_cut
from minutes.records import Word


def words(*items: tuple[float, float, str]) -> tuple[Word, ...]:
    return tuple(Word(start, end, text, 0.9) for start, end, text in items)


def test_two_passes_commit_only_the_words_they_agree_on():
    first = words((0.0, 0.4, "議長"), (0.4, 0.9, "ただいま"), (0.9, 1.2, "から"))
    second = words((0.0, 0.4, "議長"), (0.4, 0.9, "ただいま"), (0.9, 1.3, "より"), (1.3, 1.8, "本日"))
    assert agreed_prefix(first, second) == 2
    assert agreed_prefix((), second) == 0  # the first pass commits nothing
    assert agreed_prefix(second, second) == 4


def test_agreement_ignores_width_and_spaces_but_not_text():
    first = words((0.0, 0.5, " ３番"), (0.5, 1.0, "山田"))
    second = words((0.0, 0.5, "3番"), (0.5, 1.0, "山口"))
    assert agreed_prefix(first, second) == 1


def test_committed_words_are_taken_off_a_new_pass_by_time_and_by_repeated_text():
    committed = words((0.0, 0.5, "議長"), (0.5, 1.0, "ただいま"))
    # the window still holds the committed audio: the new pass starts with the same words again
    again = words((0.0, 0.5, "議長"), (0.5, 1.0, "ただいま"), (1.0, 1.4, "から"))
    assert [w.text for w in fresh_words(again, committed)] == ["から"]
    # timestamps shifted a little later: the repeated words at the seam are still recognized
    shifted = words((0.95, 1.05, "ただいま"), (1.05, 1.4, "から"))
    assert [w.text for w in fresh_words(shifted, committed)] == ["から"]
    assert fresh_words(again, ()) == again


def test_the_window_is_cut_at_the_last_committed_sentence_end_after_its_start():
    committed = words((0.0, 1.0, "開会します。"), (1.0, 2.0, "日程第1"), (2.0, 3.0, "一般質問。"), (3.0, 4.0, "3番"))
    assert sentence_cut(committed, 0.0) == 3.0
    assert sentence_cut(committed, 3.0) is None  # no sentence ends inside the window
    assert sentence_cut(committed[:2], 0.5) == 1.0


def test_words_are_joined_as_a_line():
    assert join_words(words((0, 1, "議長"), (1, 2, "。"))) == "議長。"
    assert join_words(words((0, 1, " And"), (1, 2, " so"))) == "And so"
