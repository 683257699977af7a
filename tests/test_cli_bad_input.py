"""Bad input through the CLI: one clear line, a non-zero exit, nothing half-written, the upload kept for retry."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
from sqlmodel import Session, select

from minutes.services import Runtime
from minutes.store.tables import Job, Meeting, Recording, Speaker, Utterance
from tests.media import encode, write_wav


def run_cli(settings, *args: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(settings.data_dir.parent),
        "MINUTES_DATA_DIR": str(settings.data_dir),
        "MINUTES_WHISPER_MODEL": str(settings.whisper_model),
        "MINUTES_DEVICE": "cpu",
    }
    return subprocess.run([sys.executable, "-m", "minutes.cli", *args], capture_output=True, text=True, env=env)


def rows(settings, table) -> list:
    runtime = Runtime(settings)
    with Session(runtime.engine) as session:
        found = list(session.exec(select(table)))
    runtime.engine.dispose()
    return found


def stored_files(settings) -> list:
    folder = settings.data_dir / "recordings"
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("エラー")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def noise(seconds: float, level: float) -> np.ndarray:
    return (np.random.default_rng(1).standard_normal(int(seconds * 16000)) * level).astype(np.float32)


def test_missing_file(settings, tmp_path):
    result = run_cli(settings, "transcribe", str(tmp_path / "nowhere.wav"))
    assert result.returncode == 2 and "見つかりません" in one_error_line(result)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.wav", "これは録音ではありません。" * 50, "読み込めません"),
        ("empty.mp3", "", "空です"),
    ],
)
def test_refused_before_anything_is_stored(settings, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    result = run_cli(settings, "transcribe", str(path))
    assert result.returncode == 2
    assert message in one_error_line(result)
    assert rows(settings, Meeting) == [] and stored_files(settings) == []


def test_corrupt_m4a_is_refused(settings, tmp_path):
    good = encode(tmp_path / "a.m4a", noise(3, 0.1), 16000, "aac")
    data = bytearray(good.read_bytes())
    data[:64] = bytes(64)  # the container header is destroyed
    bad = tmp_path / "bad.m4a"
    bad.write_bytes(bytes(data))
    result = run_cli(settings, "transcribe", str(bad))
    assert result.returncode == 2 and "読み込めません" in one_error_line(result)


def test_unsupported_codec_is_refused(settings, tmp_path):
    import struct

    data = (noise(1, 0.1) * 32767).astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 0x9999, 1, 16000, 32000, 2, 16)
    header = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data))
    path = tmp_path / "codec.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(header) + len(data)) + header + data)
    result = run_cli(settings, "transcribe", str(path))
    assert result.returncode == 2 and "デコードできません" in one_error_line(result)


def assert_failed_job_kept_upload(settings, message: str) -> None:
    [job] = rows(settings, Job)
    assert job.status == "failed" and message in job.error_message
    assert rows(settings, Utterance) == [] and rows(settings, Speaker) == []  # nothing half-written
    [recording] = rows(settings, Recording)
    assert (settings.data_dir / recording.stored_path).is_file()  # kept so the job can be retried


def test_truncated_recording_fails_the_job_and_keeps_the_upload(settings, tmp_path):
    full = write_wav(tmp_path / "full.wav", noise(30, 0.1))
    data = full.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) // 2])
    result = run_cli(settings, "transcribe", str(cut))
    assert result.returncode == 1
    line = one_error_line(result)
    assert "途中で切れて" in line and "minutes retry 1" in line
    assert_failed_job_kept_upload(settings, "途中で切れて")
    # the clerk copies the whole file over the stored one (as an admin would) and retries: the same job now runs on
    [recording] = rows(settings, Recording)
    shutil.copyfile(
        write_wav(tmp_path / "silence.wav", np.zeros(16000 * 3, np.float32)), settings.data_dir / recording.stored_path
    )
    retried = run_cli(settings, "retry", "1")
    assert retried.returncode == 1 and "無音" in one_error_line(retried)
    [job] = rows(settings, Job)
    assert job.attempts == 2


def test_silent_recording_with_an_odd_long_name(settings, tmp_path):
    name = "令和７年 第４回「定例会」'録音' $(rm -rf ~) ;" + "議" * 60 + ".wav"
    path = write_wav(tmp_path / name, np.zeros(16000 * 5, np.float32))
    result = run_cli(settings, "transcribe", str(path))
    assert result.returncode == 1 and "無音" in one_error_line(result)
    assert_failed_job_kept_upload(settings, "無音")
    [recording] = rows(settings, Recording)
    assert recording.original_name == name
    assert recording.stored_path.startswith("recordings/") and name not in recording.stored_path


@pytest.mark.slow
def test_noise_without_speech_fails_clearly(settings, tmp_path):
    path = write_wav(tmp_path / "hum.wav", noise(20, 0.05))
    result = run_cli(settings, "transcribe", str(path))
    assert result.returncode == 1 and "聞き取れませんでした" in one_error_line(result)
    assert_failed_job_kept_upload(settings, "聞き取れませんでした")


def test_broken_model_folder_says_what_is_missing(settings, tmp_path):
    folder = tmp_path / "large-v3"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"x")
    path = write_wav(tmp_path / "a.wav", noise(2, 0.1))
    result = run_cli(settings, "transcribe", str(path), "--model", str(folder))
    assert result.returncode == 3
    assert "config.json" in one_error_line(result) and rows(settings, Meeting) == []


def test_too_large_upload(settings, tmp_path):
    path = write_wav(tmp_path / "a.wav", noise(40, 0.1))  # 1.3 MB
    env_settings = settings
    result = subprocess.run(
        [sys.executable, "-m", "minutes.cli", "transcribe", str(path)],
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "MINUTES_DATA_DIR": str(env_settings.data_dir),
            "MINUTES_MAX_UPLOAD_MB": "1",
            "MINUTES_WHISPER_MODEL": str(settings.whisper_model),
        },
    )
    assert result.returncode == 2 and "大きすぎます" in one_error_line(result)
    assert stored_files(settings) == []


def test_output_cut_short_by_the_reader_ends_quietly(settings, tmp_path):
    """`minutes dictionary list | head -1`: the reader closes the pipe early; no traceback, as with other tools."""
    terms = tmp_path / "terms.csv"
    terms.write_text("表記,読み,種別\n" + "".join(f"町営バス第{n}路線,ちょうえいばす,事業\n" for n in range(4000)))
    assert run_cli(settings, "dictionary", "import", str(terms)).returncode == 0
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MINUTES_DATA_DIR": str(settings.data_dir)}
    listing = subprocess.Popen(
        [sys.executable, "-m", "minutes.cli", "dictionary", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert listing.stdout.readline()  # more than a pipe's buffer follows
    listing.stdout.close()
    stderr = listing.stderr.read().decode()
    assert listing.wait(timeout=60) == 1
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
