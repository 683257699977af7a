"""Speech to text with faster-whisper: word timestamps, VAD, the batched pipeline, domain prompt and hotwords.

Long recordings are transcribed in windows (about ten minutes, cut at the quietest moment near the boundary) so that
memory stays flat: faster-whisper's batched pipeline computes the features of all of its input at once. Each window
gets its own hotwords from the dictionary terms (``minutes.pipeline.vocabulary``): when the terms do not all fit in
Whisper's prompt, windows are shorter (``terms_window_seconds``) so that the words recognized just before can bring
the terms they mention forward.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from minutes.errors import ModelError
from minutes.pipeline.decode import quiet_cut
from minutes.pipeline.guards import clean_segments
from minutes.pipeline.vocabulary import HOTWORD_TOKENS, hint_text, select_terms, terms_from_words
from minutes.progress import ProgressCallback, no_progress
from minutes.records import SAMPLE_RATE, Segment, Term, Word

CONTEXT_CHARACTERS = 300  # of the previous window's text, to rank the next window's terms
MAX_WORD_SECONDS = 2.0  # a longer "word" is a skip over speech (see _uncovered)


@dataclass(frozen=True)
class TranscriptionOptions:
    """How faster-whisper is run. Stored with every job so a result can be reproduced."""

    language: str | None = "ja"  # None (or "auto") detects the language on the first window
    initial_prompt: str | None = None  # domain words and style, e.g. "令和７年第４回定例会。一般質問。"
    hotwords: str | None = None  # words to favour, e.g. "大磯町 議案 補正予算"
    beam_size: int = 5
    # 0 selects the sequential pipeline. On 2 CPU cores with base it is both more accurate (CER 0.07 vs 0.18 on the
    # sample meeting) and about as fast as the batched one, which decodes each VAD chunk once and so can drop the end
    # of dense speech; batching pays off on a GPU.
    batch_size: int = 0
    chunk_length: int = 15  # seconds per batched chunk; 30 lost whole sentences of dense Japanese speech
    vad: bool = True
    window_seconds: float = 600.0  # length of the windows a long recording is cut into
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0
    # faster-whisper falls back to sampling at higher temperatures when a segment decodes badly; a fixed seed (set
    # when the model is loaded, see load_model) makes the same recording with the same options give the same draft.
    seed: int = 0
    # Words to favour, from the dictionary (records, so that the job stores exactly what it ran with). Each window
    # gets the most relevant of them that fit in ``hint_tokens``. Measured on the sample council (benchmarks/
    # accuracy.py): as the initial prompt of short windows ("prompt") the terms helped; as hotwords ("hotwords",
    # which faster-whisper repeats in every 30 s segment) base copied them into the text and dropped speech, the more
    # so the more terms. "both" gives them both ways. "every" gives the prompt's 「、」 sentence as hotwords, so that it
    # reaches every 30 s segment of long windows: with the built-in words alone the best on two council clips and the
    # worst on the third; with the sample town's dictionary it skipped 20 s of speech (README, 用語辞書).
    terms: tuple[Term, ...] = ()
    hint_mode: str = "prompt"
    hint_tokens: int = 100
    # With terms, windows are this short, so that the initial prompt (which faster-whisper gives to the first 30 s
    # of a window only, condition_on_previous_text being off) reaches all of the speech, and each window's terms
    # can follow what was said just before.
    terms_window_seconds: float = 30.0
    # In those short windows faster-whisper decodes again from the last complete segment to the window's end (a
    # second 30 s decode, without the prompt), which doubled the decoding time. When the segments recognized reach to
    # within this many seconds of the window's last speech (Silero VAD, as faster-whisper finds it), that tail is
    # silence and is not decoded. 0 decodes it always.
    tail_seconds: float = 1.0
    # A prompt of terms can make base skip a whole stretch of speech (a 20 s question gone, benchmarks/accuracy.py).
    # In windows with terms, speech (VAD) of at least this many seconds that no recognized word covers is decoded once
    # more on its own, without the terms. 0: never.
    gap_seconds: float = 2.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TranscriptionOptions:
        terms = tuple(Term(**term) for term in data.get("terms", ()))
        before_guards = {"tail_seconds": 0.0, "gap_seconds": 0.0}  # jobs stored before the guards ran without them
        return cls(**{**before_guards, **data, "terms": terms})


@dataclass(frozen=True)
class TranscriptionResult:
    language: str
    language_probability: float
    segments: tuple[Segment, ...]


def load_model(model_path: Path, options: TranscriptionOptions):
    """Load a faster-whisper model from a local folder only (never from a hub), seeded with ``options.seed``.

    CTranslate2 keeps one random generator per worker thread, seeded from the global seed when the thread first
    samples; a new model has new threads. So the seed is set here, and a job that loads its own model (as
    ``run_pipeline`` does) samples the same way every time: the same recording gives the same draft."""
    import ctranslate2
    from faster_whisper import WhisperModel

    ctranslate2.set_random_seed(options.seed)
    try:
        return WhisperModel(
            str(model_path),
            device=options.device,
            compute_type=options.compute_type,
            cpu_threads=options.cpu_threads,
            local_files_only=True,
        )
    except (RuntimeError, ValueError, OSError) as error:
        raise ModelError(
            f"Whisper モデル（{model_path}）を読み込めません。`minutes models` で状態を確認してください。",
            f"WhisperModel load failed: {error}",
        ) from None


def _windows(samples: np.ndarray, window: int) -> Iterator[tuple[int, int]]:
    """(start, end) sample ranges covering ``samples``, each cut at a quiet moment near the nominal boundary."""
    start, total = 0, samples.shape[0]
    search = min(20 * SAMPLE_RATE, window // 4)
    while start < total:
        end = min(start + window, total)
        if end < total:
            end = quiet_cut(samples, start, end, search)
        yield start, end
        start = end


def transcribe(
    model,
    samples: np.ndarray,
    options: TranscriptionOptions = TranscriptionOptions(),
    progress: ProgressCallback = no_progress,
) -> TranscriptionResult:
    """Transcribe 16 kHz mono float32 ``samples`` (an array or memory map) into cleaned segments with words."""
    from faster_whisper import BatchedInferencePipeline

    total = samples.shape[0] / SAMPLE_RATE
    language = None if options.language in (None, "", "auto") else options.language
    language_probability = 1.0
    batched = BatchedInferencePipeline(model) if options.batch_size > 0 else None
    hints = WindowHints(options, token_counter(model))
    segments: list[Segment] = []
    progress("transcribe", 0.0, total)
    for start, end in _windows(samples, int(hints.window_seconds * SAMPLE_RATE)):
        window = np.ascontiguousarray(samples[start:end], dtype=np.float32)
        offset = start / SAMPLE_RATE
        prompt, hotwords = hints.next(segments)
        common = dict(
            language=language,
            beam_size=options.beam_size,
            word_timestamps=True,
            vad_filter=options.vad,
            initial_prompt=prompt,
            hotwords=hotwords,
            # Each segment decoded without the previous text avoids runaway repetition loops.
            condition_on_previous_text=False,
        )
        if batched is not None:
            pieces, info = batched.transcribe(
                window, batch_size=options.batch_size, chunk_length=options.chunk_length, **common
            )
        else:
            pieces, info = model.transcribe(window, **common)
        if language is None:
            # Fix the detected language for the remaining windows so one meeting stays in one language.
            language, language_probability = info.language, info.language_probability
        speech = _speech(window) if hints.short and options.vad else []
        speech_end = speech[-1][1] if speech and options.tail_seconds > 0 else None
        found: list[Segment] = []
        for piece in pieces:
            found.append(segment_record(piece, 0.0))
            progress("transcribe", min(offset + piece.end, total), total)
            if speech_end is not None and piece.end >= speech_end - options.tail_seconds:
                break  # what is left of the window is silence: no second decode for it
        if speech and options.gap_seconds > 0:
            found = _second_look(model, window, speech, found, options.gap_seconds, {**common, "initial_prompt": None})
        segments.extend(_shifted(segment, offset) for segment in found)
        del window
        gc.collect()
        progress("transcribe", end / SAMPLE_RATE, total)
    return TranscriptionResult(language or "ja", language_probability, tuple(clean_segments(segments)))


def _speech(window: np.ndarray) -> list[tuple[float, float]]:
    """The window's speech (seconds from its start) as faster-whisper's VAD finds it."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    return [(c["start"] / SAMPLE_RATE, c["end"] / SAMPLE_RATE) for c in get_speech_timestamps(window, VadOptions())]


def _uncovered(
    speech: list[tuple[float, float]], found: list[Segment], least: float, slack: float = 0.5
) -> list[tuple[float, float]]:
    """Stretches of ``speech`` at least ``least`` seconds long that no word (give or take ``slack``) covers. A word
    covers at most ``MAX_WORD_SECONDS`` from its start: where base skipped a stretch, the word before the skip often
    ends only after it (「山田太」 from 60 s to 80 s)."""
    words = sorted((w.start - slack, min(w.end, w.start + MAX_WORD_SECONDS) + slack) for s in found for w in s.words)
    gaps = []
    for start, end in speech:
        cursor = start
        for word_start, word_end in words:
            if word_end <= cursor or word_start >= end:
                continue
            if word_start - cursor >= least:
                gaps.append((cursor, word_start))
            cursor = max(cursor, word_end)
        if end - cursor >= least:
            gaps.append((cursor, end))
    return gaps


def _second_look(model, window: np.ndarray, speech, found: list[Segment], least: float, common: dict) -> list[Segment]:
    """``found`` with the speech it left out (stretches of ``least`` seconds or more) decoded once more, each on its
    own and without the terms, in time order."""
    added = []
    for start, end in _uncovered(speech, found, least):
        piece_audio = window[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
        pieces, _ = model.transcribe(piece_audio, **{**common, "hotwords": None})
        added.extend(segment_record(piece, start) for piece in pieces)
    return sorted([*found, *added], key=lambda segment: segment.start) if added else found


def _shifted(segment: Segment, offset: float) -> Segment:
    """``segment`` with its times (and its words') moved by ``offset`` seconds."""
    if not offset:
        return segment
    words = tuple(replace(w, start=round(w.start + offset, 3), end=round(w.end + offset, 3)) for w in segment.words)
    return replace(segment, start=round(segment.start + offset, 3), end=round(segment.end + offset, 3), words=words)


def token_counter(model):
    """Counts tokens as the model's tokenizer does (faster-whisper's ``hf_tokenizer``)."""
    tokenizer = model.hf_tokenizer
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)


class WindowHints:
    """The initial prompt and hotwords of each window: the clerk's extra words and the dictionary terms, the most
    relevant that fit in the prompt limit (counted with the model's tokenizer), ranked against the meeting's own
    words and the text recognized so far."""

    def __init__(self, options: TranscriptionOptions, count_tokens) -> None:
        self.options = options
        self.count_tokens = count_tokens
        self.terms = (*terms_from_words(options.hotwords), *options.terms)
        self.base_context = " ".join(t.text for t in self.terms if t.source == "meeting")
        self.short = bool(self.terms) and options.hint_mode != "every"  # windows of terms_window_seconds
        self.window_seconds = (
            min(options.window_seconds, options.terms_window_seconds) if self.short else options.window_seconds
        )
        # faster-whisper keeps 223 tokens of the prompt; the clerk's own initial prompt comes first
        own = count_tokens(" " + options.initial_prompt + "、") if options.initial_prompt else 0
        self.budget = max(0, min(options.hint_tokens, HOTWORD_TOKENS - own))
        self.chosen: tuple[Term, ...] = ()  # the last window's terms (for tests and the benchmark)

    def next(self, recognized: list[Segment]) -> tuple[str | None, str | None]:
        """(initial_prompt, hotwords) for the next window, given the segments recognized before it."""
        if not self.terms:
            return self.options.initial_prompt, None
        context = self.base_context + "".join(s.text for s in recognized)[-CONTEXT_CHARACTERS:]
        self.chosen = select_terms(self.terms, self.count_tokens, budget=self.budget, context=context)
        mode, prompt = self.options.hint_mode, self.options.initial_prompt
        if mode == "every":
            sentence = "、".join(filter(None, (prompt, hint_text(self.chosen, "、"))))
            return None, (sentence.rstrip("、。") + "。") if sentence else None
        if mode in ("prompt", "both"):
            # Whisper writes in the prompt's style: a list that ends without 「。」 made it drop punctuation, which
            # a 会議録 (and the sentence-based tools: splits, the chair's calls) needs. Ended as a sentence, the same
            # terms gave CER 0.145 instead of 0.231 on an unseen synthetic session (0.170 without terms) and 0.068
            # instead of 0.060 on samples_audio (0.098 without) (benchmarks/accuracy.py, issue 12 notes).
            prompt = "、".join(filter(None, (prompt, hint_text(self.chosen, "、"))))
            prompt = prompt.rstrip("、。") + "。" if prompt else prompt
        hotwords = hint_text(self.chosen) if mode in ("hotwords", "both") else ""
        return prompt or None, hotwords or None


def segment_record(piece, offset: float) -> Segment:
    """A faster-whisper segment as a record, its times shifted by ``offset`` seconds."""
    words = tuple(
        Word(
            start=round(offset + word.start, 3),
            end=round(offset + word.end, 3),
            text=word.word,
            probability=round(float(word.probability), 4),
        )
        for word in (piece.words or [])
    )
    return Segment(
        start=round(offset + piece.start, 3),
        end=round(offset + piece.end, 3),
        text=piece.text,
        words=words,
        avg_logprob=float(piece.avg_logprob),
        no_speech_prob=float(piece.no_speech_prob),
        compression_ratio=float(piece.compression_ratio),
    )
