"""Make real media files for tests with PyAV (the same FFmpeg the product decodes with)."""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np

from minutes.records import SAMPLE_RATE


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as handle:
        frames = handle.readframes(handle.getnframes())
        rate = handle.getframerate()
        channels = handle.getnchannels()
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768
    return samples.reshape(-1, channels).mean(axis=1), rate


def write_wav(path: Path, samples: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.tobytes())
    return path


def encode(path: Path, samples: np.ndarray, rate: int, codec: str, *, video: bool = False, stereo: bool = False):
    """Encode mono float samples with ``codec`` into the container given by ``path``'s suffix."""
    with av.open(str(path), "w") as container:
        if video:
            picture = container.add_stream("libvpx" if path.suffix == ".webm" else "mpeg4", rate=10)
            picture.width, picture.height, picture.pix_fmt = 64, 48, "yuv420p"
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "stereo" if stereo else "mono"
        data = samples.astype(np.float32)
        fmt = stream.codec_context.codec.audio_formats[0].name
        block = 1024
        for index, start in enumerate(range(0, len(data), block * 10)):
            chunk = data[start : start + block * 10]
            planes = np.stack([chunk, chunk]) if stereo else chunk[None, :]  # (channels, samples)
            packed = planes.T.reshape(1, -1)  # interleaved L R L R ...
            frame = av.AudioFrame.from_ndarray(
                planes if fmt.endswith("p") else packed,
                format="fltp" if fmt.endswith("p") else "flt",
                layout=stream.layout.name,
            )
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
            if video and index % 2 == 0:
                image = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
                for packet in picture.encode(image):
                    container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
        if video:
            for packet in picture.encode(None):
                container.mux(packet)
    return path


def video_without_audio(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        picture = container.add_stream("mpeg4", rate=10)
        picture.width, picture.height, picture.pix_fmt = 64, 48, "yuv420p"
        for _ in range(20):
            image = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            for packet in picture.encode(image):
                container.mux(packet)
        for packet in picture.encode(None):
            container.mux(packet)
    return path
