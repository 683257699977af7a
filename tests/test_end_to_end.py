"""End to end with the real models on real audio: CLI in, speaker-attributed Japanese transcript out.

Thresholds, and why:
- CER <= 0.20 on the project's Japanese sample. Whisper base measured 0.08 on it (clean TTS speech, 3 voices); real
  read Japanese measures about 0.05–0.3 with base (shared/MODELS.md). 0.20 leaves room for CPU-level numeric drift
  while failing on any real regression (a lost stretch of audio, mis-joined text, a wrong language all exceed it).
- DER of the final utterances (word timing and speaker assignment included) with pyannote.metrics' collar of 0.25 s
  (±0.125 s around each reference boundary), without the speaker count:
  - Japanese sample <= 0.15 (the issue's target). Measured 0.068 (0.100 with no collar).
  - pyannote's sample <= 0.20. It has 1.9 s of overlapped speech in 24.4 s of speaker time (7.8 %) that a transcript
    with one speaker per word cannot give to both speakers, so 0.08 is a floor for this measure; measured 0.159. The
    diarization stage itself scores 0.015 there and is held to DER <= 0.10 in tests/test_diarize.py.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from minutes.evaluation import character_error_rate, diarization_error_rate, read_rttm
from minutes.records import SpeakerTurn
from tests.conftest import SAMPLES, pyannote_sample

pytestmark = pytest.mark.slow


def run_cli(settings, *args: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(settings.data_dir.parent),
        "MINUTES_DATA_DIR": str(settings.data_dir),
        "MINUTES_WHISPER_MODEL": str(settings.whisper_model),
        "MINUTES_DEVICE": "cpu",
    }
    return subprocess.run([sys.executable, "-m", "minutes.cli", *args], capture_output=True, text=True, env=env)


def utterance_turns(payload: dict) -> list[SpeakerTurn]:
    return [SpeakerTurn(u["start"], u["end"], u["speaker"]) for u in payload["utterances"]]


@pytest.fixture(scope="module")
def japanese(tmp_path_factory, whisper_base):
    from minutes.settings import Settings

    data = tmp_path_factory.mktemp("ja") / "data"
    settings = Settings(data_dir=data, whisper_model=whisper_base)
    result = run_cli(settings, "transcribe", str(SAMPLES / "council_ja.wav"), "--title", "定例会", "--json")
    assert result.returncode == 0, result.stderr
    return settings, json.loads(result.stdout), result.stderr


def test_japanese_sample_text_is_accurate(japanese):
    _, payload, _ = japanese
    reference = (SAMPLES / "council_ja.txt").read_text()
    hypothesis = "".join(u["text"] for u in payload["utterances"])
    assert payload["language"] == "ja"
    assert " " not in hypothesis  # Japanese joins without spaces
    assert character_error_rate(reference, hypothesis) <= 0.20
    assert "本日はこれにて" in hypothesis  # the last sentence of the meeting is not lost


def test_japanese_sample_speakers_are_found_without_the_count(japanese):
    _, payload, _ = japanese
    assert len(payload["speakers"]) == 3
    reference = read_rttm(SAMPLES / "council_ja.rttm")
    assert diarization_error_rate(reference, utterance_turns(payload), collar=0.25) <= 0.15


def test_japanese_sample_utterances_follow_the_speakers(japanese):
    _, payload, _ = japanese
    utterances = payload["utterances"]
    starts = [u["start"] for u in utterances]
    assert starts == sorted(starts)
    assert all(u["start"] < u["end"] <= payload["duration"] + 0.5 for u in utterances)
    assert abs(payload["duration"] - 113.9) < 0.1
    # The 町長's two long answers must each be one speaker's utterance, not split between voices.
    by_text = {u["text"]: u["speaker"] for u in utterances}
    chair = next(s for t, s in by_text.items() if "会議を開きます" in t)
    mayor = next(s for t, s in by_text.items() if "避難訓練" in t)
    assert chair != mayor


def test_json_and_progress_bar_and_stored_meeting(japanese):
    settings, payload, stderr = japanese
    assert set(payload) == {"meeting_id", "language", "duration", "speakers", "people", "utterances"}
    assert set(payload["utterances"][0]) == {"speaker", "person", "person_score", "start", "end", "text", "raw"}
    assert all(u["raw"] and u["text"] for u in payload["utterances"])  # the 素起こし kept beside the 整文
    assert all(u["person"] is None for u in payload["utterances"])  # no voice profiles: nobody is named
    assert "100%" in stderr and "話者の識別" in stderr  # a progress bar on stderr, with the stage named
    shown = run_cli(settings, "show", str(payload["meeting_id"]), "--json")
    assert json.loads(shown.stdout)["utterances"] == payload["utterances"]


def test_pyannote_two_speaker_sample(tmp_path, whisper_base):
    from minutes.settings import Settings

    wav, rttm = pyannote_sample()
    settings = Settings(data_dir=tmp_path / "data", whisper_model=whisper_base)
    result = run_cli(settings, "transcribe", str(wav), "--language", "en", "--json", "--quiet")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert len(payload["speakers"]) == 2
    assert diarization_error_rate(read_rttm(rttm), utterance_turns(payload), collar=0.25) <= 0.20
    text = " ".join(u["text"] for u in payload["utterances"]).lower()
    assert "  " not in text and len(text.split()) > 40  # English keeps its spaces


def test_known_speaker_count_is_honoured(tmp_path, whisper_base):
    from minutes.settings import Settings

    settings = Settings(data_dir=tmp_path / "data", whisper_model=whisper_base)
    result = run_cli(settings, "transcribe", str(SAMPLES / "council_ja.wav"), "--speakers", "2", "--json", "--quiet")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["speakers"]) == 2
