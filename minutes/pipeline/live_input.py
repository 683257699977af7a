"""Live input: a file, a stream URL or an audio device, decoded through PyAV (FFmpeg) to 16 kHz mono float32 chunks,
and the recording written to disk as it arrives.

``open_input("alsa:hw:1")`` / ``"pulse:default"`` reads a device of the server (FFmpeg's ``alsa`` / ``pulse`` input);
``rtsp://``, ``http(s)://``, ``srt://``, ``udp://``, ``rtmp://`` a stream; anything else is a file. With
``realtime`` a file is read at the pace of real time, as a mixer's feed would arrive (rehearsals and tests).

:class:`Recorder` writes 16-bit PCM WAV and rewrites the header's sizes at every flush (about every second), then
asks the system to put it on disk (fsync): after a crash the file is a valid WAV of all but the last second or so.
"""

from __future__ import annotations

import os
import threading
import time
import wave
from collections.abc import Iterable, Iterator
from pathlib import Path

import av
import numpy as np

from minutes.errors import InputError
from minutes.records import SAMPLE_RATE

STREAM_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://", "srt://", "udp://", "rtmp://", "tcp://")
DEVICE_FORMATS = ("alsa", "pulse")


def describe_input(source: str) -> tuple[str, str | None]:
    """(what FFmpeg opens, the input format or None): ``alsa:hw:1`` → (``hw:1``, ``alsa``)."""
    kind, _, name = source.partition(":")
    if kind in DEVICE_FORMATS and not source.startswith(STREAM_SCHEMES):
        return name or "default", kind
    if not source.lower().startswith(STREAM_SCHEMES) and not Path(source).expanduser().is_file():
        raise InputError(
            f"入力「{source}」が見つかりません。録音ファイル、ストリームの URL（rtsp:// http:// srt:// …）、"
            "または録音デバイス（alsa:default、pulse:default など）を指定してください。",
            f"no such input: {source}",
        )
    return (source if "://" in source else str(Path(source).expanduser())), None


def open_input(source: str, *, realtime: bool = False, chunk_seconds: float = 0.5) -> Iterator[np.ndarray]:
    """16 kHz mono float32 chunks of about ``chunk_seconds`` from ``source`` until it ends."""
    target, format_name = describe_input(source)
    try:
        container = av.open(target, mode="r", format=format_name, timeout=(10.0, 10.0), metadata_errors="ignore")
    except (av.error.FFmpegError, OSError, ValueError) as error:
        raise InputError(
            f"入力「{source}」を開けません。ファイル、URL、デバイス名を確かめてください。", f"av.open: {error}"
        ) from None
    with container:
        if not container.streams.audio:
            raise InputError("入力に音声がありません。", f"no audio stream in {source}")
        yield from _paced(_decoded(container, chunk_seconds), realtime and format_name is None and "://" not in target)


def _decoded(container, chunk_seconds: float) -> Iterator[np.ndarray]:
    stream = container.streams.audio[0]
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    size = int(chunk_seconds * SAMPLE_RATE)
    pending: list[np.ndarray] = []
    count = 0
    frames = container.decode(stream)
    while True:
        try:
            frame = next(frames)
        except StopIteration:
            break
        except av.error.InvalidDataError:
            continue  # a damaged packet in a stream: skip it, as a player would
        except av.error.FFmpegError as error:
            raise InputError("入力が途切れました。", f"decode: {error}") from None
        for out in resampler.resample(frame):
            pending.append(out.to_ndarray().reshape(-1))
            count += out.samples
        if count >= size:
            yield np.concatenate(pending).astype(np.float32, copy=False)
            pending, count = [], 0
    for out in resampler.resample(None):
        pending.append(out.to_ndarray().reshape(-1))
    if pending:
        yield np.concatenate(pending).astype(np.float32, copy=False)


def _paced(chunks: Iterable[np.ndarray], realtime: bool) -> Iterator[np.ndarray]:
    """The chunks, each held back until its audio would have been heard when ``realtime``."""
    started, heard = time.monotonic(), 0.0
    for chunk in chunks:
        heard += chunk.shape[0] / SAMPLE_RATE
        if realtime:
            time.sleep(max(0.0, started + heard - time.monotonic()))
        yield chunk


class Recorder:
    """A 16 kHz mono 16-bit WAV written as audio arrives; flushed to disk every ``flush_seconds``."""

    def __init__(self, path: Path, *, flush_seconds: float = 1.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("xb")
        self._wave = wave.open(self._file, "wb")  # noqa: SIM115 (open for the recording's whole life; closed in close())
        self._wave.setnchannels(1)
        self._wave.setsampwidth(2)
        self._wave.setframerate(SAMPLE_RATE)
        self._pending: list[bytes] = []
        self._pending_samples = 0
        self._flush_samples = int(flush_seconds * SAMPLE_RATE)
        self._lock = threading.Lock()
        self.samples = 0
        self.closed = False

    @property
    def seconds(self) -> float:
        return self.samples / SAMPLE_RATE

    def write(self, samples: np.ndarray) -> None:
        pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        with self._lock:
            if self.closed:
                return
            self._pending.append(pcm)
            self._pending_samples += samples.shape[0]
            self.samples += samples.shape[0]
            if self._pending_samples >= self._flush_samples:
                self._flush()

    def _flush(self) -> None:
        # the wave module rewrites the header's sizes whenever frames are written, so the file on disk is always a
        # complete WAV of what was flushed
        self._wave.writeframes(b"".join(self._pending))
        self._pending, self._pending_samples = [], 0
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self._flush()
            self._wave.close()
            self._file.close()
            self.closed = True

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *_) -> None:
        self.close()


def recorded(chunks: Iterable[np.ndarray], recorder: Recorder) -> Iterator[np.ndarray]:
    """The chunks, each written to ``recorder`` as it passes."""
    for chunk in chunks:
        recorder.write(chunk)
        yield chunk
