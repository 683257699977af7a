"""A second look at short speech Whisper left out (minutes.pipeline.relisten): which stretches are listened to again,
and what is kept of what is heard there. The decoding itself is a model boundary, faked with faster-whisper's shape."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from minutes.pipeline.relisten import confident, reached, relisten, token_limit, untranscribed_spans
from minutes.pipeline.transcribe import TranscriptionOptions
from minutes.records import SAMPLE_RATE, Segment, SpeakerTurn, Word


def _segment(text: str, start: float, end: float, **quality) -> Segment:
    return Segment(start, end, text, (Word(start, end, text, 0.9),), **quality)


# The chair's 「総務課長。」 (32.28–33.12) and 「町長。」 (141.15–141.68) of the synthetic session B, as Whisper base
# and the diarization left them: the diarization heard both, no word covers them.
SEGMENTS = [
    _segment("…説明させます。", 25.9, 31.69),
    _segment("ご説明いたします。", 33.13, 39.89),
    _segment("…伺います。", 136.41, 140.55),
    _segment("佐藤議員のご質問にお答えいたします。", 141.61, 144.37),
    _segment("今年度の登録は", 158.29, 161.45),
    _segment("180人で、", 162.23, 164.45),
]
TURNS = [
    SpeakerTurn(15.0, 31.79, "SPEAKER_01"),
    SpeakerTurn(32.25, 36.63, "SPEAKER_02"),  # the call is inside the treasurer's first turn
    SpeakerTurn(136.89, 140.62, "SPEAKER_04"),
    SpeakerTurn(141.11, 141.75, "SPEAKER_04"),  # a short turn of its own, given to the member before
    SpeakerTurn(141.81, 150.08, "SPEAKER_01"),
    SpeakerTurn(158.2, 172.19, "SPEAKER_05"),  # a pause inside one speaker's speech: not looked at again
]


def test_untranscribed_speech_at_speaker_changes_is_listened_to_again():
    # the second runs on to the change of speaker at 141.75, over the next word (Whisper put its start 0.2 s early)
    assert untranscribed_spans(SEGMENTS, TURNS) == [(32.05, 33.13), (140.91, 141.75)]


def test_short_long_and_far_stretches_are_left_alone():
    turns = [
        SpeakerTurn(0.0, 10.0, "A"),
        SpeakerTurn(10.0, 10.2, "B"),  # 0.2 s: a breath
        SpeakerTurn(10.3, 20.0, "C"),
    ]
    segments = [_segment("あ", 0.0, 10.0), _segment("い", 10.25, 13.0), _segment("う", 17.0, 20.0)]
    # 10.0–10.25 is too short; 13.0–17.0 is four seconds (speech, not a call) far from any speaker change
    assert untranscribed_spans(segments, turns) == []


def test_only_a_confident_second_look_is_kept():
    call = _segment("そうむかちょ", 32.05, 32.98, avg_logprob=-0.85, no_speech_prob=0.06, compression_ratio=0.67)
    assert confident(call)
    # what base invented on breath and noise (measured on the samples): a greeting, a vowel held for ever
    greeting = _segment("おはようございます。", 178.0, 178.5, avg_logprob=-1.17, no_speech_prob=0.55)
    vowel = _segment("はぁぁぁ", 73.7, 74.2, avg_logprob=-0.06, no_speech_prob=0.70, compression_ratio=33.4)
    assert not confident(greeting) and not confident(vowel)


class _Model:
    """faster-whisper's ``transcribe`` shape: (segments with words, relative to the clip; info)."""

    def __init__(self, heard: dict[int, tuple[str, float]]) -> None:
        self.heard = heard  # clip length in samples → (text, avg_logprob)
        self.calls: list[dict] = []

    def transcribe(self, clip, **kwargs):
        self.calls.append(kwargs)
        text, logprob = self.heard[len(clip)]
        end = len(clip) / SAMPLE_RATE
        word = SimpleNamespace(start=0.2, end=end, word=text, probability=0.8)
        tokens = list(range(len(text)))  # about one token a character
        piece = SimpleNamespace(
            start=0.0,
            end=end,
            text=text,
            words=[word],
            tokens=tokens,
            avg_logprob=logprob,
            no_speech_prob=0.1,
            compression_ratio=1,
        )
        return iter([piece]), SimpleNamespace(language="ja", language_probability=1.0)


def test_what_is_heard_joins_the_transcript_in_time_order():
    samples = np.zeros(200 * SAMPLE_RATE, dtype=np.float32)
    spans = untranscribed_spans(SEGMENTS, TURNS)
    lengths = [int(b * SAMPLE_RATE) - int(a * SAMPLE_RATE) for a, b in spans]
    model = _Model({lengths[0]: ("総務課長。", -0.5), lengths[1]: ("ご視聴ありがとうございました", -0.3)})
    out = relisten(model, samples, SEGMENTS, spans, TranscriptionOptions(), "ja")
    added = [s for s in out if s not in SEGMENTS]
    assert [(s.text, s.start, s.words[0].start) for s in added] == [("総務課長。", 32.05, 32.25)]  # the phantom is not
    assert [s.start for s in out] == sorted(s.start for s in out)
    assert all(c["vad_filter"] is False and c["temperature"] == 0.0 and c["language"] == "ja" for c in model.calls)
    assert [c["max_new_tokens"] for c in model.calls] == [token_limit(b - a) for a, b in spans]


def test_a_decode_that_runs_to_the_token_limit_is_a_loop_and_left_out():
    # base looping on a breath (「お前のお前の…」 from 0.48 s, measured on the sample): cut at the limit, not kept even
    # though the cut text reads as confident
    samples = np.zeros(200 * SAMPLE_RATE, dtype=np.float32)
    spans = untranscribed_spans(SEGMENTS, TURNS)
    lengths = [int(b * SAMPLE_RATE) - int(a * SAMPLE_RATE) for a, b in spans]
    limits = [token_limit(b - a) for a, b in spans]
    model = _Model({lengths[0]: ("お前の" * 10, -0.5), lengths[1]: ("町長。", -0.5)})
    assert len("お前の" * 10) + 2 >= limits[0] - 1 and reached(limits[0], [30])
    out = relisten(model, samples, SEGMENTS, spans, TranscriptionOptions(), "ja")
    assert [s.text for s in out if s not in SEGMENTS] == ["町長。"]
    assert token_limit(0.4) == 16 and token_limit(3.4) == 85 and not reached(16, [3])


def test_a_segment_heard_between_two_words_of_another_lands_between_them():
    from minutes.pipeline.assign import build_utterances

    long = Segment(
        139.0,
        144.0,
        "伺います。佐藤議員の",
        (Word(139.0, 140.5, "伺います。", 0.9), Word(141.6, 144.0, "佐藤議員の", 0.9)),
    )
    call = _segment("町長。", 140.9, 141.5)
    turns = [SpeakerTurn(139.0, 140.6, "A"), SpeakerTurn(140.9, 141.5, "B"), SpeakerTurn(141.6, 144.0, "C")]
    out = build_utterances(sorted([long, call], key=lambda s: s.start), turns)
    assert [(u.speaker, u.text) for u in out] == [("A", "伺います。"), ("B", "町長。"), ("C", "佐藤議員の")]
