"""Decode any common recording once, at the edge, to 16 kHz mono float32.

The decoded samples are streamed to a raw float32 file and read back as a memory map, so a 3-hour meeting does not
need three hours of samples in process memory: later stages read the windows they work on.
"""

from __future__ import annotations

import gc
import itertools
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from minutes.errors import InputError
from minutes.records import SAMPLE_RATE

# Below this peak amplitude (about -66 dBFS) a recording is treated as silent.
SILENCE_PEAK = 5e-4
# A decoded stream shorter than this share of the container's declared duration is treated as truncated.
TRUNCATED_RATIO = 0.9

ACCEPTED_SUFFIXES = (".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".opus", ".oga", ".mp4", ".mov", ".webm", ".mkv")


@dataclass(frozen=True)
class DecodedAudio:
    """A decoded recording: raw little-endian float32 samples at 16 kHz mono in ``path``."""

    path: Path
    num_samples: int
    peak: float
    source_codec: str
    declared_duration: float | None

    @property
    def duration(self) -> float:
        return self.num_samples / SAMPLE_RATE

    def samples(self) -> np.ndarray:
        """The samples as a read-only memory map (shape ``(num_samples,)``, float32)."""
        if self.num_samples == 0:
            return np.zeros(0, dtype=np.float32)
        return np.memmap(self.path, dtype="<f4", mode="r", shape=(self.num_samples,))


def _frames(container, stream) -> Iterator:
    """Decoded frames; counts frames FFmpeg could not decode instead of stopping at the first one."""
    iterator = container.decode(stream)
    while True:
        try:
            yield next(iterator)
        except StopIteration:
            return
        except av.error.InvalidDataError:
            continue


def _wav_declared_duration(source: Path) -> float | None:
    """The duration a RIFF/WAVE header promises. FFmpeg estimates WAV duration from the file size, which hides a
    truncated copy; the header's data chunk size does not."""
    with source.open("rb") as handle:
        head = handle.read(4096)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    position, byte_rate = 12, None
    while position + 8 <= len(head):
        chunk, size = head[position : position + 4], struct.unpack("<I", head[position + 4 : position + 8])[0]
        if chunk == b"fmt " and position + 16 <= len(head):
            byte_rate = struct.unpack("<I", head[position + 16 : position + 20])[0]
        if chunk == b"data":
            # 0 and 0xFFFFFFFF mean "unknown" (streamed recorders); trust FFmpeg then
            return size / byte_rate if byte_rate and 0 < size < 0xFFFFFFFF else None
        position += 8 + size + (size & 1)
    return None


def _open(source: Path):
    """The media container of ``source``, or InputError for a missing, empty or non-media file."""
    if not source.is_file():
        raise InputError("ファイルが見つかりません。", f"no such file: {source}")
    if source.stat().st_size == 0:
        raise InputError(
            "ファイルが空です（0 バイト）。録音ファイルをもう一度書き出してからアップロードしてください。", "empty file"
        )
    try:
        return av.open(str(source), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as error:
        raise _not_media(error) from None


def probe(source: Path) -> float | None:
    """Check quickly that ``source`` is media with a decodable audio track; returns its declared duration if known.

    Catches what no retry can fix (empty file, not media, no audio track, codec FFmpeg cannot decode) before anything is
    stored. Corruption deeper in the file is found by ``decode_to_file``.
    """
    source = Path(source)
    container = _open(source)
    with container:
        if not container.streams.audio:
            raise _no_audio()
        stream = container.streams.audio[0]
        if stream.codec_context is None or not stream.codec_context.codec:
            raise _unsupported(
                stream.codec_context.name if stream.codec_context else "unknown", ValueError("no decoder")
            )
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        return container.duration / 1_000_000 if container.duration else None


def _not_media(error: Exception) -> InputError:
    return InputError(
        "音声・動画ファイルとして読み込めません（壊れているか、途中で切れている可能性があります）。"
        "wav、mp3、m4a、flac、ogg、mp4 などの録音ファイルを選んでください。",
        f"cannot open as media: {error}",
    )


def _no_audio() -> InputError:
    return InputError(
        "このファイルには音声トラックがありません。音声付きの録音・録画ファイルを選んでください。", "no audio stream"
    )


def _unsupported(codec: str, error: Exception) -> InputError:
    named = f"（{codec}）" if codec != "unknown" else ""
    return InputError(
        f"この音声形式{named}をデコードできません。ファイルが壊れているか、対応していない形式です。"
        "wav や mp3 に変換してから再度お試しください。",
        f"decode failed: {error}",
    )


def decode_to_file(source: Path, destination: Path, *, max_duration: float | None = None) -> DecodedAudio:
    """Decode ``source`` (audio or video) to 16 kHz mono float32 samples written to ``destination``.

    Raises InputError with a message for the clerk when the file is empty, not media, has no audio track, uses a codec
    FFmpeg cannot decode, is corrupt or truncated, is longer than ``max_duration`` seconds, or is silent. Any other
    error (an OSError when the disk is full) rises as it is, with ``destination`` removed.
    """
    source = Path(source)
    container = _open(source)

    destination.parent.mkdir(parents=True, exist_ok=True)
    with container:
        if not container.streams.audio:
            raise _no_audio()
        stream = container.streams.audio[0]
        codec = stream.codec_context.name if stream.codec_context else "unknown"
        declared = _wav_declared_duration(source)
        if declared is not None:
            pass
        elif stream.duration is not None and stream.time_base is not None:
            declared = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            declared = container.duration / 1_000_000
        if max_duration is not None and declared is not None and declared > max_duration:
            raise _too_long(declared, max_duration)

        resampler = av.audio.resampler.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        num_samples = 0
        peak = 0.0
        try:
            with destination.open("wb") as out:
                for frame in itertools.chain(_frames(container, stream), [None]):
                    for resampled in resampler.resample(frame):
                        array = resampled.to_ndarray().reshape(-1).astype("<f4", copy=False)
                        if array.size == 0:
                            continue
                        peak = max(peak, float(np.abs(array).max()))
                        out.write(array.tobytes())
                        num_samples += array.size
                    if max_duration is not None and num_samples > max_duration * SAMPLE_RATE:
                        raise _too_long(num_samples / SAMPLE_RATE, max_duration)
        except (av.error.FFmpegError, ValueError) as error:
            destination.unlink(missing_ok=True)
            raise _unsupported(codec, error) from None
        except BaseException:
            # a refusal, or the disk filling up (OSError ENOSPC): no partial file of samples is left behind to keep
            # the disk full; the error rises as it is (the worker tells a full disk as such)
            destination.unlink(missing_ok=True)
            raise
        finally:
            del resampler
            gc.collect()

    decoded = DecodedAudio(destination, num_samples, peak, codec, declared)
    try:
        _check_decoded(decoded)
    except InputError:
        destination.unlink(missing_ok=True)
        raise
    return decoded


def _check_decoded(decoded: DecodedAudio) -> None:
    """Raise InputError when nothing was decoded, the stream is truncated, or the recording is silent."""
    declared = decoded.declared_duration
    if decoded.num_samples == 0:
        raise InputError(
            "音声を取り出せませんでした。ファイルが壊れているか、対応していない形式です。",
            f"no samples ({decoded.source_codec})",
        )
    if declared and declared > 2.0 and decoded.duration < declared * TRUNCATED_RATIO:
        raise InputError(
            f"ファイルが途中で切れているか壊れています（{_hms(declared)} のはずが {_hms(decoded.duration)} "
            "しか読めません）。元の録音ファイルをもう一度コピーしてアップロードしてください。",
            f"truncated: decoded {decoded.duration:.1f}s of declared {declared:.1f}s",
        )
    if decoded.peak < SILENCE_PEAK:
        raise InputError(
            "録音が無音です。マイクの接続や録音レベルを確認し、音声の入ったファイルを選んでください。",
            f"silent: peak amplitude {decoded.peak:.2e}",
        )


def _too_long(seconds: float, limit: float) -> InputError:
    return InputError(
        f"録音が長すぎます（{_hms(seconds)}）。{_hms(limit)} 以内に分割してアップロードしてください。",
        f"duration {seconds:.0f}s exceeds limit {limit:.0f}s",
    )


def _hms(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}時間{minutes:02d}分{secs:02d}秒" if hours else f"{minutes}分{secs:02d}秒"


def quiet_cut(samples: np.ndarray, start: int, end: int, search: int) -> int:
    """The quietest 100 ms point in ``[end - search, end)``: where to cut a long recording into windows."""
    if end - start <= search:
        return end
    frame = SAMPLE_RATE // 10
    lo = end - search
    region = np.asarray(samples[lo:end], dtype=np.float32)
    usable = (region.size // frame) * frame
    if usable == 0:
        return end
    energy = np.square(region[:usable].reshape(-1, frame)).mean(axis=1)
    return lo + int(np.argmin(energy)) * frame + frame // 2
