"""Choosing each window's terms: priority, relevance to what was just said, and the prompt limit counted with the
Whisper base tokenizer itself (its tokenizer.json; the model is not loaded)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from minutes.pipeline import transcribe as transcribe_module
from minutes.pipeline.models import _base_parts
from minutes.pipeline.transcribe import TranscriptionOptions, WindowHints
from minutes.pipeline.vocabulary import (
    HOTWORD_TOKENS,
    builtin_terms,
    hint_text,
    rank_terms,
    select_terms,
    terms_from_titles,
)
from minutes.records import SAMPLE_RATE, Segment, Term, Word


@pytest.fixture(scope="module")
def count_tokens():
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(_base_parts()[2] / "tokenizer.json"))
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)


def dictionary(size: int) -> list[Term]:
    stems = ("川原", "山田", "ノ内", "ケ丘", "台", "沢", "原", "宮")
    places = [f"{a}{b}地区" for a in "東西南北上下中新" for b in stems]
    people = [f"{s} {g}" for s in ("青木", "石井", "上田", "岡田", "木村", "工藤") for g in ("明", "勇", "浩", "進")]
    return [Term(text, "", "地名" if "地区" in text else "人名") for text in (people + places)[:size]]


def test_the_builtin_vocabulary_is_procedure_words_with_readings():
    terms = builtin_terms()
    assert {"議長", "一般質問", "日程第", "補正予算", "可決", "散会", "会議録署名議員"} <= {t.text for t in terms}
    assert all(t.kind == "議会用語" and t.source == "builtin" and t.reading for t in terms)


def test_meeting_words_rank_first_then_the_dictionary_then_builtins_and_duplicates_keep_the_best_source():
    terms = [
        Term("議長", "", "議会用語", "builtin"),
        Term("桜川", "", "地名", "dictionary"),
        Term("議長", "", "議会用語", "dictionary"),
        *terms_from_titles(["補正予算書.pdf", "補正予算書.pdf", "  "]),
    ]
    ranked = rank_terms(terms)
    expected = [("補正予算書", "meeting"), ("議長", "dictionary"), ("桜川", "dictionary")]
    assert [(t.text, t.source) for t in ranked] == expected


def test_terms_mentioned_just_before_come_first_within_their_source():
    terms = [Term("青木 明", "", "人名"), Term("町営バス東循環線", "", "事業"), Term("中央公民館", "", "施設")]
    assert [t.text for t in rank_terms(terms)] == ["町営バス東循環線", "中央公民館", "青木 明"]  # by kind
    assert rank_terms(terms, "青木議員の質問に")[0].text == "青木 明"


@pytest.mark.parametrize("budget", [40, 100, HOTWORD_TOKENS])
def test_the_selection_fits_the_budget_counted_by_the_tokenizer(count_tokens, budget):
    terms = [*dictionary(500), *builtin_terms()]
    chosen = select_terms(terms, count_tokens, budget=budget)
    assert count_tokens(" " + hint_text(chosen, "、")) <= budget
    assert count_tokens(" " + hint_text(chosen, "、")) > budget * 0.8  # and uses it
    assert len(chosen) < len(terms)


def test_a_large_dictionary_leaves_room_for_the_builtin_words(count_tokens):
    terms = [*dictionary(500), *builtin_terms()]
    chosen = select_terms(terms, count_tokens, budget=100)
    builtin = [t for t in chosen if t.source == "builtin"]
    assert [t.text for t in builtin[:2]] == ["一般質問", "日程第"]  # the words of every session come first
    assert count_tokens(" " + hint_text(builtin, "、")) <= 25 + 3  # the share is counted term by term
    assert chosen[0].source == "dictionary"


def test_a_small_dictionary_fits_whole(count_tokens):
    terms = dictionary(5)
    assert set(select_terms(terms, count_tokens, budget=100)) == set(terms)


def test_each_window_gets_a_prompt_of_terms_and_the_clerks_own_words(count_tokens):
    options = TranscriptionOptions(
        initial_prompt="令和７年第４回定例会。", hotwords="補正予算", terms=(*dictionary(300), *builtin_terms())
    )
    hints = WindowHints(options, count_tokens)
    assert hints.window_seconds == options.terms_window_seconds == 30.0  # every window starts with the prompt
    prompt, hotwords = hints.next([])
    assert hotwords is None  # measured: base copies hotwords into the text (benchmarks/accuracy.py)
    assert prompt.startswith("令和７年第４回定例会。、補正予算、")  # the clerk's prompt, then the extra words first
    assert count_tokens(" " + prompt) <= HOTWORD_TOKENS
    first = hints.chosen
    said = [Segment(0, 5, "上川原地区と下宮地区で説明会を開きます", ())]
    hints.next(said)
    assert hints.chosen != first and {"上川原地区", "下宮地区"} <= {t.text for t in hints.chosen}


def test_without_terms_nothing_changes(count_tokens):
    options = TranscriptionOptions(initial_prompt="一般質問。")
    hints = WindowHints(options, count_tokens)
    assert hints.window_seconds == options.window_seconds
    assert hints.next([]) == ("一般質問。", None)


def test_hotwords_mode_gives_them_to_every_segment(count_tokens):
    options = TranscriptionOptions(terms=dictionary(3), hint_mode="hotwords")
    prompt, hotwords = WindowHints(options, count_tokens).next([])
    assert prompt is None and hotwords == "青木 明 青木 勇 青木 浩"


def test_jobs_stored_before_the_guards_are_reproduced_without_them():
    stored = TranscriptionOptions().to_dict()
    del stored["tail_seconds"], stored["gap_seconds"]
    options = TranscriptionOptions.from_dict(stored)
    assert (options.tail_seconds, options.gap_seconds) == (0.0, 0.0)
    assert TranscriptionOptions.from_dict(TranscriptionOptions().to_dict()) == TranscriptionOptions()


def test_options_with_terms_round_trip_through_json():
    options = TranscriptionOptions(terms=(Term("町長", "ちょうちょう", "議会用語", "builtin"),))
    assert TranscriptionOptions.from_dict(options.to_dict()) == options


class _Tokenizer:
    def encode(self, text, add_special_tokens=False):
        return SimpleNamespace(ids=list(text))


class _Model:
    """faster-whisper's interface at the model boundary: a window's call yields the segments of two decodes, the
    second (from the last complete segment to the window's end) only when the first's segments have all been taken;
    a call on a shorter stretch (a second look) yields one segment."""

    def __init__(self) -> None:
        self.hf_tokenizer = _Tokenizer()
        self.decodes = 0
        self.second_looks: list[tuple[float, dict]] = []

    def transcribe(self, audio, **options):
        def pieces():
            self.decodes += 1
            yield _piece(0.0, 4.0, "ただいまから会議を開きます。")
            yield _piece(4.5, 9.4, "日程第１、一般質問を行います。")
            self.decodes += 1
            yield _piece(9.4, 9.9, "はい")

        def second_look():
            self.second_looks.append((len(audio) / SAMPLE_RATE, options))
            yield _piece(0.2, 3.5, "町長。")

        info = SimpleNamespace(language="ja", language_probability=1.0)
        return (pieces() if len(audio) >= 12 * SAMPLE_RATE else second_look()), info


def _piece(start: float, end: float, text: str):
    """A segment whose words last a second at most, as base's do."""
    count = max(1, int(np.ceil(end - start)))
    step, size = (end - start) / count, int(np.ceil(len(text) / count))
    words = [
        SimpleNamespace(start=start + i * step, end=start + (i + 1) * step, word=text[i * size : (i + 1) * size],
                        probability=0.9)
        for i in range(count)
    ]  # fmt: skip
    return SimpleNamespace(
        start=start, end=end, text=text, words=words, avg_logprob=-0.2, no_speech_prob=0.01, compression_ratio=1.2
    )


def _run(monkeypatch, speech, options):
    monkeypatch.setattr(transcribe_module, "_speech", lambda window: speech)  # Silero VAD's speech
    model = _Model()
    result = transcribe_module.transcribe(model, np.zeros(20 * SAMPLE_RATE, dtype=np.float32), options)
    return model, [segment.text for segment in result.segments]


@pytest.mark.parametrize(("terms", "tail", "decodes"), [(True, 1.0, 1), (True, 0.0, 2), (False, 1.0, 2)])
def test_the_silent_tail_of_a_short_window_is_not_decoded_again(monkeypatch, terms, tail, decodes):
    options = TranscriptionOptions(terms=dictionary(3) if terms else (), tail_seconds=tail)
    model, texts = _run(monkeypatch, [(0.0, 10.2)], options)
    assert model.decodes == decodes and not model.second_looks
    assert texts[:2] == ["ただいまから会議を開きます。", "日程第１、一般質問を行います。"]


def test_speech_a_prompted_window_left_out_is_decoded_again_without_the_terms(monkeypatch):
    speech = [(0.0, 10.0), (12.0, 16.0), (17.0, 17.8)]  # 12–16 s: no word covers it; 17–17.8 s: too short to look at
    model, texts = _run(monkeypatch, speech, TranscriptionOptions(terms=dictionary(3)))
    assert texts == ["ただいまから会議を開きます。", "日程第１、一般質問を行います。", "はい", "町長。"]
    [(seconds, options)] = model.second_looks
    assert seconds == pytest.approx(4.0) and options["initial_prompt"] is None and options["hotwords"] is None
    model, _ = _run(monkeypatch, speech, TranscriptionOptions(terms=dictionary(3), gap_seconds=0))
    assert not model.second_looks
    model, _ = _run(monkeypatch, speech, TranscriptionOptions())  # without terms nothing changes
    assert not model.second_looks


def test_a_word_stretched_over_skipped_speech_does_not_hide_it():
    skipped = Segment(0.0, 20.0, "山田太", (Word(0.0, 18.0, "山田太", 0.4), Word(18.0, 18.5, "山田", 0.9)))
    assert transcribe_module._uncovered([(0.0, 20.0)], [skipped], 2.0) == [(2.5, 17.5)]
