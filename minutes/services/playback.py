"""Short playback copies of a stored recording, so the page never loads a whole 2–4 hour file into the browser.

The player gets a 15-minute 16 kHz mono WAV cut from the recording, starting on a 5-minute grid (so any utterance
starting in a copy's first 5 minutes can be heard for at least 10). Copies are cached under
``$MINUTES_DATA_DIR/playback/`` (``Settings.playback_dir``) and the oldest are removed beyond ``MAX_CACHED``.
"""

from __future__ import annotations

import math
import os
import threading
import wave
from pathlib import Path

import av
import numpy as np
from sqlmodel import Session

from minutes import store
from minutes.errors import NotFoundError
from minutes.services.base import Service

RATE = 16_000
GRID = 300.0  # seconds between copy starts
WINDOW = 900.0  # seconds in one copy
MAX_CACHED = 40  # about 1 GB of copies

_lock = threading.Lock()


def clip_for(source: Path, cache_dir: Path, start: float, *, key: str) -> tuple[Path, float]:
    """The playback copy holding ``start`` and the offset of ``start`` inside it: (wav path, seconds)."""
    begin = math.floor(max(start, 0.0) / GRID) * GRID
    target = cache_dir / f"{key}-{int(begin):06d}.wav"
    with _lock:  # two sessions asking for the same copy make it once
        if not target.exists():
            cache_dir.mkdir(parents=True, exist_ok=True)
            _cut(source, target, begin, WINDOW)
            _prune(cache_dir)
    return target, start - begin


def _cut(source: Path, target: Path, begin: float, length: float) -> None:
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    first, wanted = int(begin * RATE), int(length * RATE)
    chunks: list[np.ndarray] = []
    position = None  # sample index (at RATE) of the next decoded sample
    with av.open(str(source)) as container:
        stream = container.streams.audio[0]
        if begin > 0 and stream.time_base:
            container.seek(int(begin / stream.time_base), stream=stream, any_frame=False, backward=True)
        have = 0
        for frame in container.decode(stream):
            if position is None:
                position = round((frame.time or 0.0) * RATE)
            for out in resampler.resample(frame):
                samples = out.to_ndarray().reshape(-1)
                lo = max(0, first - position)
                position += len(samples)
                if lo < len(samples):
                    chunks.append(samples[lo:])
                    have += len(samples) - lo
            if have >= wanted:
                break
    data = np.concatenate(chunks)[:wanted] if chunks else np.zeros(0, dtype=np.int16)
    partial = target.with_suffix(".part")
    with wave.open(str(partial), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(data.astype(np.int16).tobytes())
    os.replace(partial, target)


def _prune(cache_dir: Path) -> None:
    copies = sorted(cache_dir.glob("*.wav"), key=lambda p: p.stat().st_mtime)
    for old in copies[:-MAX_CACHED]:
        old.unlink(missing_ok=True)


def sample_for(source: Path, cache_dir: Path, start: float, end: float, *, key: str) -> Path:
    """A short copy of exactly ``start``–``end`` (a speaker's sample clip)."""
    target = cache_dir / f"{key}-sample-{int(start * 1000):09d}-{int(end * 1000):09d}.wav"
    with _lock:
        if not target.exists():
            cache_dir.mkdir(parents=True, exist_ok=True)
            _cut(source, target, max(0.0, start), max(0.1, end - start))
    return target


class PlaybackService(Service):
    """Pieces of a meeting's recording for the players of the editor and the 話者 page."""

    def _recording(self, meeting_id: int) -> tuple[Path, str]:
        with Session(self.engine) as session:
            self._readable(session, meeting_id)
            recording = store.recording_of(session, meeting_id=meeting_id)
        if recording is None or not (self.settings.data_dir / recording.stored_path).is_file():
            raise NotFoundError("録音ファイルが見つからないため再生できません。", f"no recording for {meeting_id}")
        return self.settings.data_dir / recording.stored_path, f"recording-{recording.id}"

    def clip(self, meeting_id: int, start: float) -> tuple[Path, float]:
        """The playback copy holding ``start`` and the offset of ``start`` inside it: (wav path, seconds)."""
        source, key = self._recording(meeting_id)
        return clip_for(source, self.settings.playback_dir, start, key=key)

    def sample(self, meeting_id: int, start: float, end: float) -> Path:
        """A short copy of exactly ``start``–``end`` (a speaker's sample clip)."""
        source, key = self._recording(meeting_id)
        return sample_for(source, self.settings.playback_dir, start, end, key=key)
