"""Decoding every common format once to 16 kHz mono, and clear errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest

from minutes.errors import InputError
from minutes.pipeline.decode import decode_to_file, probe
from tests.media import encode, video_without_audio, write_wav

RATE = 44_100


def tone(seconds: float = 3.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


@pytest.mark.parametrize(
    ("name", "codec", "video"),
    [
        ("a.mp3", "libmp3lame", False),
        ("a.m4a", "aac", False),
        ("a.flac", "flac", False),
        ("a.ogg", "libopus", False),
        ("a.opus", "libopus", False),
        ("a.mp4", "aac", True),
        ("a.mov", "aac", True),
        ("a.webm", "libopus", True),
    ],
)
def test_common_formats_decode_to_16k_mono(tmp_path, name, codec, video):
    rate = 48_000 if codec == "libopus" else RATE
    source = encode(tmp_path / name, tone(3.0, rate), rate, codec, video=video, stereo=True)
    decoded = decode_to_file(source, tmp_path / "out.f32")
    samples = decoded.samples()
    assert samples.dtype == np.float32
    assert decoded.duration == pytest.approx(3.0, abs=0.15)
    assert 0.2 < decoded.peak < 0.5
    # 440 Hz survives the resampling: the spectrum peaks there
    spectrum = np.abs(np.fft.rfft(samples[:16000]))
    assert abs(np.argmax(spectrum) - 440) <= 2


def test_wav_at_other_rate_is_resampled(tmp_path):
    decoded = decode_to_file(write_wav(tmp_path / "a.wav", tone(2.0), RATE), tmp_path / "o.f32")
    assert decoded.num_samples == pytest.approx(32_000, abs=50)


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.touch()
    for check in (probe, lambda p: decode_to_file(p, tmp_path / "o.f32")):
        with pytest.raises(InputError, match="空です"):
            check(empty)


def test_not_audio(tmp_path):
    text = tmp_path / "minutes.mp3"
    text.write_text("これは録音ではありません\n" * 100)
    with pytest.raises(InputError, match="読み込めません"):
        probe(text)


def test_video_without_audio_track(tmp_path):
    with pytest.raises(InputError, match="音声トラックがありません"):
        probe(video_without_audio(tmp_path / "silent-film.mp4"))


def test_unsupported_codec(tmp_path):
    import struct

    data = (np.random.default_rng(0).standard_normal(16000) * 1000).astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 0x9999, 1, 16000, 32000, 2, 16)  # a WAVE format tag no decoder knows
    header = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data))
    path = tmp_path / "odd.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(header) + len(data)) + header + data)
    with pytest.raises(InputError, match="デコードできません"):
        probe(path)
    with pytest.raises(InputError, match="デコードできません"):
        decode_to_file(path, tmp_path / "o.f32")


@pytest.mark.parametrize(("name", "codec"), [("a.wav", None), ("a.mp3", "libmp3lame"), ("a.m4a", "aac")])
def test_truncated_file(tmp_path, name, codec):
    full = tmp_path / name
    if codec is None:
        write_wav(full, tone(20.0), RATE)
    else:
        encode(full, tone(20.0), RATE, codec)
    assert decode_to_file(full, tmp_path / "full.f32").duration == pytest.approx(20.0, abs=0.2)
    data = full.read_bytes()
    cut = tmp_path / f"cut-{name}"
    cut.write_bytes(data[: len(data) // 3])  # the header still promises 20 s
    with pytest.raises(InputError, match="途中で切れて"):
        decode_to_file(cut, tmp_path / "o.f32")
    assert not (tmp_path / "o.f32").exists()


def test_silent_recording(tmp_path):
    silent = write_wav(tmp_path / "silence.wav", np.zeros(5 * 16000, dtype=np.float32))
    with pytest.raises(InputError, match="無音"):
        decode_to_file(silent, tmp_path / "o.f32")


def test_too_long(tmp_path):
    with pytest.raises(InputError, match="長すぎます"):
        decode_to_file(write_wav(tmp_path / "a.wav", tone(3.0), RATE), tmp_path / "o.f32", max_duration=2.0)
