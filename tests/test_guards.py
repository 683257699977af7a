from minutes.pipeline.guards import clean_segment, clean_segments, collapse_repeats, is_phantom, normalize
from minutes.records import Segment, Word


def words(*texts: str, start: float = 0.0, step: float = 0.3) -> tuple[Word, ...]:
    return tuple(Word(start + i * step, start + (i + 1) * step, t, 0.9) for i, t in enumerate(texts))


def segment(*texts: str, **extra) -> Segment:
    ws = words(*texts)
    return Segment(ws[0].start, ws[-1].end, "".join(texts), ws, **extra)


def test_normalize_drops_punctuation_spaces_and_width():
    assert normalize("ただいまから、本日の会議を開きます。 ＡＢＣ１") == "ただいまから本日の会議を開きますabc1"


def test_phantom_phrases_are_recognised_only_when_alone():
    assert is_phantom("ご視聴ありがとうございました。")
    assert is_phantom(" ご視聴ありがとうございました！ チャンネル登録よろしくお願いします")
    assert not is_phantom("議会だよりをご覧いただきありがとうございました。次に")
    assert not is_phantom("")


def test_phantom_segment_is_dropped_and_real_speech_kept():
    kept = segment("ただいま", "から", "会議", "を", "開きます")
    result = clean_segments([segment("ご視聴", "ありがとう", "ございました"), kept])
    assert result == [kept]


def test_silence_decoded_as_text_is_dropped():
    assert clean_segment(segment("はい", no_speech_prob=0.9, avg_logprob=-1.5)) is None
    assert clean_segment(segment("はい", no_speech_prob=0.9, avg_logprob=-0.2)) is not None


def test_repetition_loop_is_collapsed_to_one_copy_and_tail_kept():
    looped = segment("予算", "に", "ついて", *(["お願い", "します"] * 12), "以上", "です")
    cleaned = clean_segment(looped)
    assert cleaned.text == "予算についてお願いします以上です"
    assert [w.text for w in cleaned.words] == ["予算", "に", "ついて", "お願い", "します", "以上", "です"]
    assert cleaned.end == cleaned.words[-1].end


def test_natural_repetition_is_kept():
    natural = words("はい", "、", "はい", "、", "はい")
    assert collapse_repeats(natural) == list(natural)
    assert collapse_repeats(words(*"ありがとう")) == list(words(*"ありがとう"))


def test_single_character_loops_need_more_repeats():
    assert len(collapse_repeats(words(*(["ー"] * 5)))) == 5
    assert len(collapse_repeats(words(*(["ー"] * 20)))) == 1


def test_a_short_fragment_decoded_with_very_low_confidence_is_dropped():
    # as seen after the last sentence of a read clip when dictionary terms were the prompt: 2.9–3.16 s 「1位」
    assert clean_segment(segment("1位", avg_logprob=-3.3, no_speech_prob=0.59)) is None
    assert clean_segment(segment("はい", avg_logprob=-0.8)) is not None  # a short answer heard clearly stays
    long_unclear = segment("ただいま", "から", "会議", "を", "開きます", avg_logprob=-2.4)  # 1.5 s: kept
    assert clean_segment(long_unclear) is long_unclear
