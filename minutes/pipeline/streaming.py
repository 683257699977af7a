"""Live transcription: audio arrives in chunks, captions come out as provisional and then committed text.

The audio not yet committed is kept in a rolling window. Silero VAD (faster-whisper's) cuts it at pauses: speech that
ended with a pause is transcribed once and committed at once, and the window starts again after it. Within speech
that goes on, the window is transcribed again every ``min_chunk_seconds`` with the same local Whisper model and the
same recognition terms as the batch pipeline; words two consecutive passes agree on are committed
(``minutes.pipeline.agreement``, like whisper_streaming's LocalAgreement-2), the rest is shown as provisional text,
and the window is trimmed at the end of a committed sentence once it is long.

Under load (a pass takes longer than the audio it waits for) the live driver skips the provisional passes and waits
for the pauses, transcribing what has piled up in one larger piece: captions come later but it never falls behind
without bound, since every pass takes all the audio that has arrived.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from minutes.pipeline.agreement import agreed_prefix, fresh_words, join_words, sentence_cut
from minutes.pipeline.guards import clean_segments
from minutes.pipeline.transcribe import TranscriptionOptions, WindowHints, segment_record, token_counter
from minutes.progress import ProgressCallback, no_progress
from minutes.records import SAMPLE_RATE, Caption, Segment, Word


@dataclass(frozen=True)
class StreamingOptions:
    """How live transcription runs. ``transcription`` gives the language, model settings and recognition terms, as
    for the batch pipeline; its ``beam_size``, ``vad`` and window fields are not used here."""

    transcription: TranscriptionOptions = field(default_factory=TranscriptionOptions)
    # Greedy decoding for the passes over speech going on (the window is transcribed again every second, and a word
    # is committed only when two passes agree); the batch pipeline's beam for the one pass over an utterance that
    # ended with a pause, which is committed as it comes.
    beam_size: int = 1
    final_beam_size: int = 5
    min_chunk_seconds: float = 1.0  # new audio needed before the next pass
    window_seconds: float = 15.0  # beyond this the window is trimmed at the end of a committed sentence
    max_window_seconds: float = 25.0  # beyond this the agreed part is committed whatever (Whisper sees 30 s at most)
    pause_seconds: float = 0.5  # silence after speech that ends an utterance (it is then committed)
    vad_threshold: float = 0.5  # Silero speech probability
    prompt_characters: int = 100  # of the committed text before the window, given to Whisper as context
    # Live input: when more audio than this piled up while the last pass ran, provisional passes are skipped.
    behind_seconds: float = 3.0


@dataclass
class _Window:
    """The audio not yet committed: ``samples`` start at ``offset`` seconds of the stream."""

    samples: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    offset: float = 0.0

    @property
    def end(self) -> float:
        return self.offset + self.samples.shape[0] / SAMPLE_RATE

    def cut(self, at: float) -> None:
        """Drop the audio before ``at`` seconds of the stream."""
        index = min(max(0, round((at - self.offset) * SAMPLE_RATE)), self.samples.shape[0])
        self.samples = self.samples[index:]
        self.offset += index / SAMPLE_RATE


class StreamingTranscriber:
    """One live stream: :meth:`insert` audio, :meth:`process` when enough arrived, :meth:`finish` at the end.
    Each returns the captions it made, in order."""

    def __init__(
        self, model, options: StreamingOptions = StreamingOptions(), progress: ProgressCallback = no_progress
    ) -> None:
        from faster_whisper.vad import VadOptions

        self.model = model
        self.options = options
        self.progress = progress
        self.language = options.transcription.language
        if self.language in ("", "auto"):
            self.language = None
        self.hints = WindowHints(options.transcription, token_counter(model))
        pad = 0.1
        self.vad = VadOptions(
            threshold=options.vad_threshold,
            min_silence_duration_ms=int(options.pause_seconds * 1000),
            speech_pad_ms=int(pad * 1000),
        )
        self.pad = pad
        self.window = _Window()
        self.committed: list[Word] = []
        self.hypothesis: tuple[Word, ...] = ()
        self.received = 0.0
        self.passes = 0  # Whisper passes so far
        self.skipped = 0  # provisional passes skipped because the input was ahead (see ``behind_seconds``)

    def insert(self, samples: np.ndarray) -> None:
        """Add 16 kHz mono float32 samples (shape ``(n,)``)."""
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        self.window.samples = np.concatenate([self.window.samples, samples])
        self.received += samples.shape[0] / SAMPLE_RATE

    def process(self, *, provisional: bool = True) -> list[Caption]:
        """One step: commit speech that ended with a pause; then, with ``provisional``, transcribe the speech going on
        and commit what two passes agree on."""
        captions: list[Caption] = []
        self.skipped += not provisional
        regions = self._speech()
        if not regions:
            # nothing said: keep only the last pause's worth, where speech may be starting
            self.window.cut(self.window.end - self.options.pause_seconds)
            self.hypothesis = ()
            return captions
        if regions[0][0] - self.window.offset > 1.0 and not self.hypothesis:
            self.window.cut(regions[0][0] - 0.3)
        ended = self._ended(regions)
        if ended is not None:
            captions += self._commit(fresh_words(self._transcribe(ended, final=True), self.committed))
            self.window.cut(ended)
            self.hypothesis = ()
            regions = [r for r in regions if r[0] >= ended]
        if provisional and regions and self.window.end - self.window.offset >= 0.5:
            captions += self._agree()
        elif self.window.end - self.window.offset > self.options.max_window_seconds:
            captions += self._agree(force=True)
        self.progress("live", self.window.offset, self.received)
        return captions

    def finish(self) -> list[Caption]:
        """Commit everything still in the window (the input ended)."""
        captions: list[Caption] = []
        if self._speech():
            captions = self._commit(fresh_words(self._transcribe(self.window.end, final=True), self.committed))
        self.window.cut(self.window.end)
        self.hypothesis = ()
        self.progress("live", self.received, self.received)
        return captions

    def _speech(self) -> list[tuple[float, float]]:
        """The window's speech as (start, end) seconds of the stream, padded by ``self.pad``."""
        from faster_whisper.vad import get_speech_timestamps

        if self.window.samples.shape[0] < 512:
            return []
        found = get_speech_timestamps(self.window.samples, self.vad)
        return [
            (self.window.offset + r["start"] / SAMPLE_RATE, self.window.offset + r["end"] / SAMPLE_RATE) for r in found
        ]

    def _ended(self, regions: list[tuple[float, float]]) -> float | None:
        """Where the last utterance followed by a pause ends (seconds of the stream), or None."""
        pause = self.options.pause_seconds
        if self.window.end - (regions[-1][1] - self.pad) >= pause:
            return min(regions[-1][1], self.window.end)
        if len(regions) > 1:
            return regions[-2][1]
        return None

    def _agree(self, *, force: bool = False) -> list[Caption]:
        """Transcribe the whole window; commit what the last pass agrees on (with ``force``, also what ends more than
        5 s before the window's end); keep the rest as the provisional hypothesis."""
        words = fresh_words(self._transcribe(self.window.end), self.committed)
        count = agreed_prefix(self.hypothesis, words)
        if force:
            count = max(count, sum(1 for w in words if w.end < self.window.end - 5.0))
        captions = self._commit(words[:count])
        self.hypothesis = words[count:]
        length = self.window.end - self.window.offset
        if length > self.options.window_seconds:
            cut = sentence_cut(self.committed, self.window.offset)
            if cut is None and force and self.committed:
                cut = self.committed[-1].end
            if cut is not None:
                self.window.cut(cut)
        if self.hypothesis:
            start, end = self.hypothesis[0].start, self.hypothesis[-1].end
            captions.append(Caption(start, end, join_words(self.hypothesis), False, round(self.received, 3)))
        return captions

    def _commit(self, words: Iterable[Word]) -> list[Caption]:
        words = [w for w in words if w.text.strip()]
        if not words:
            return []
        self.committed.extend(words)
        text = join_words(words)
        return [Caption(words[0].start, words[-1].end, text, True, round(self.received, 3))]

    def _hints(self) -> tuple[str | None, str | None]:
        """(initial prompt, hotwords): the terms as in the batch pipeline (ranked against what was said lately),
        then the committed text just before the window as context."""
        before = [w for w in self.committed if w.end <= self.window.offset + 0.05]
        context = join_words(before)[-self.options.prompt_characters :]
        prompt, hotwords = self.hints.next([Segment(0.0, 0.0, join_words(self.committed[-50:]), ())])
        return "".join(filter(None, (prompt, context))) or None, hotwords

    def _transcribe(self, until: float, *, final: bool = False) -> tuple[Word, ...]:
        """Words of the window up to ``until`` seconds of the stream, with times in the stream."""
        end = max(0, round((until - self.window.offset) * SAMPLE_RATE))
        audio = np.ascontiguousarray(self.window.samples[:end])
        if audio.shape[0] < SAMPLE_RATE // 10:
            return ()
        prompt, hotwords = self._hints()
        pieces, info = self.model.transcribe(
            audio,
            language=self.language,
            beam_size=self.options.final_beam_size if final else self.options.beam_size,
            word_timestamps=True,
            vad_filter=False,
            initial_prompt=prompt,
            hotwords=hotwords,
            condition_on_previous_text=False,
        )
        segments = [segment_record(piece, self.window.offset) for piece in pieces]
        if self.language is None:
            self.language = info.language  # one stream stays in the language first detected
        self.passes += 1
        return tuple(w for s in clean_segments(segments) for w in s.words)


def stream_captions(
    model,
    chunks: Iterable[np.ndarray],
    options: StreamingOptions = StreamingOptions(),
    progress: ProgressCallback = no_progress,
    *,
    live: bool = False,
    stop: threading.Event | None = None,
) -> Iterator[Caption]:
    """Captions for 16 kHz mono float32 ``chunks`` as they arrive.

    With ``live`` the chunks are read on a thread of their own (a device, a stream, a file paced at real time) and
    each pass takes all the audio that arrived meanwhile; when more than ``behind_seconds`` piled up, the provisional
    pass is skipped. Without it (a file read as fast as it decodes) a pass follows every ``min_chunk_seconds`` of
    audio, as if it had arrived in real time on a fast machine: the same input gives the same captions.
    Setting ``stop`` ends a live stream as if the input had ended: what arrived is transcribed and committed.
    """
    transcriber = StreamingTranscriber(model, options, progress)
    if not live:
        pending = 0.0
        for chunk in chunks:
            if stop is not None and stop.is_set():
                break
            transcriber.insert(chunk)
            pending += len(chunk) / SAMPLE_RATE
            if pending >= options.min_chunk_seconds:
                pending = 0.0
                yield from transcriber.process()
        yield from transcriber.finish()
        return
    yield from _live(transcriber, chunks, options, stop or threading.Event())


_END = object()


def _live(transcriber: StreamingTranscriber, chunks: Iterable[np.ndarray], options: StreamingOptions, stop):
    arrived: queue.Queue = queue.Queue()

    def read() -> None:
        try:
            for chunk in chunks:
                arrived.put(chunk)
                if stop.is_set():
                    break
        except BaseException as error:  # handed to the consumer, which raises it
            arrived.put(error)
        arrived.put(_END)

    reader = threading.Thread(target=read, name="live-input", daemon=True)
    reader.start()
    pending, done = 0.0, False
    try:
        while not done and not stop.is_set():
            try:
                items = [arrived.get(timeout=0.2)]
            except queue.Empty:
                continue
            while True:
                try:
                    items.append(arrived.get_nowait())
                except queue.Empty:
                    break
            for item in items:
                if item is _END:
                    done = True
                elif isinstance(item, BaseException):
                    raise item
                else:
                    transcriber.insert(item)
                    pending += len(item) / SAMPLE_RATE
            if done or pending < options.min_chunk_seconds:
                continue
            behind = pending > options.behind_seconds
            pending = 0.0
            yield from transcriber.process(provisional=not behind)
        while not done:  # stopped: what already arrived is still transcribed
            try:
                item = arrived.get_nowait()
            except queue.Empty:
                break
            done = item is _END
            if isinstance(item, np.ndarray):
                transcriber.insert(item)
        yield from transcriber.finish()
    finally:
        stop.set()
        reader.join(timeout=5.0)  # the reader may still be writing the recording: let it end first
