"""Live transcription: the commit policy on built hypotheses (fast), and the real stage on a few seconds of speech."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from minutes.cli import main
from minutes.pipeline.agreement import agreed_prefix, fresh_words, join_words, sentence_cut
from minutes.pipeline.live_input import Recorder
from minutes.records import SAMPLE_RATE, Word
from minutes.services import Runtime
from tests.conftest import SAMPLES
from tests.media import read_wav, write_wav


def words(*items: tuple[float, float, str]) -> tuple[Word, ...]:
    return tuple(Word(start, end, text, 0.9) for start, end, text in items)


def test_two_passes_commit_only_the_words_they_agree_on():
    first = words((0.0, 0.4, "議長"), (0.4, 0.9, "ただいま"), (0.9, 1.2, "から"))
    second = words((0.0, 0.4, "議長"), (0.4, 0.9, "ただいま"), (0.9, 1.3, "より"), (1.3, 1.8, "本日"))
    assert agreed_prefix(first, second) == 2
    assert agreed_prefix((), second) == 0  # the first pass commits nothing
    assert agreed_prefix(second, second) == 4


def test_agreement_ignores_width_and_spaces_but_not_text():
    first = words((0.0, 0.5, " ３番"), (0.5, 1.0, "山田"))
    second = words((0.0, 0.5, "3番"), (0.5, 1.0, "山口"))
    assert agreed_prefix(first, second) == 1


def test_committed_words_are_taken_off_a_new_pass_by_time_and_by_repeated_text():
    committed = words((0.0, 0.5, "議長"), (0.5, 1.0, "ただいま"))
    # the window still holds the committed audio: the new pass starts with the same words again
    again = words((0.0, 0.5, "議長"), (0.5, 1.0, "ただいま"), (1.0, 1.4, "から"))
    assert [w.text for w in fresh_words(again, committed)] == ["から"]
    # timestamps shifted a little later: the repeated words at the seam are still recognized
    shifted = words((0.95, 1.05, "ただいま"), (1.05, 1.4, "から"))
    assert [w.text for w in fresh_words(shifted, committed)] == ["から"]
    assert fresh_words(again, ()) == again


def test_the_window_is_cut_at_the_last_committed_sentence_end_after_its_start():
    committed = words((0.0, 1.0, "開会します。"), (1.0, 2.0, "日程第1"), (2.0, 3.0, "一般質問。"), (3.0, 4.0, "3番"))
    assert sentence_cut(committed, 0.0) == 3.0
    assert sentence_cut(committed, 3.0) is None  # no sentence ends inside the window
    assert sentence_cut(committed[:2], 0.5) == 1.0


def test_words_are_joined_as_a_line():
    assert join_words(words((0, 1, "議長"), (1, 2, "。"))) == "議長。"
    assert join_words(words((0, 1, " And"), (1, 2, " so"))) == "And so"


# ---------------------------------------------------------------- the real model, through the command line


def test_recorder_keeps_a_valid_wav_while_it_is_written(tmp_path):
    """A crash loses at most the last second: the file on disk is a whole WAV after every flush."""
    path = tmp_path / "live.wav"
    recorder = Recorder(path, flush_seconds=1.0)
    recorder.write(np.full(SAMPLE_RATE * 2 + 100, 0.25, dtype=np.float32))
    samples, rate = read_wav(path)  # not closed: as a crash would leave it
    assert rate == SAMPLE_RATE and samples.shape[0] == SAMPLE_RATE * 2 + 100
    recorder.write(np.zeros(50, dtype=np.float32))
    recorder.close()
    assert read_wav(path)[0].shape[0] == SAMPLE_RATE * 2 + 150


def test_a_missing_input_is_refused_before_anything_starts(settings, monkeypatch, capsys):
    monkeypatch.setenv("MINUTES_DATA_DIR", str(settings.data_dir))
    assert main(["live", str(settings.data_dir / "nothing.wav")]) != 0
    captured = capsys.readouterr()
    assert "見つかりません" in captured.err and captured.out == ""
    assert not (settings.data_dir / "live").exists() or not any((settings.data_dir / "live").iterdir())


@pytest.mark.slow
def test_live_command_prints_captions_and_stores_the_meeting(settings, monkeypatch, capsys, tmp_path):
    """The JSON-lines contract on the sample's first 3.7 s (the chair opening the meeting, then a pause), read as fast
    as it decodes; 散会 stores the meeting with its recording, its committed captions and the batch job queued."""
    samples, rate = read_wav(SAMPLES / "council_ja.wav")
    clip = write_wav(tmp_path / "opening.wav", samples[: int(rate * 3.7)], rate)
    monkeypatch.setenv("MINUTES_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MINUTES_WHISPER_MODEL", str(settings.whisper_model))
    assert main(["live", str(clip), "--title", "ライブ試験", "--queue-only"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    captions, done = lines[:-1], lines[-1]
    assert set(done) == {"meeting_id", "done"} and done["done"] is True
    assert captions and all(set(c) == {"t", "start", "end", "text", "final"} for c in captions)
    assert [c["t"] for c in captions] == sorted(c["t"] for c in captions)
    final = [c for c in captions if c["final"]]
    assert all(a["end"] <= b["start"] + 0.1 for a, b in itertools.pairwise(final))  # in order, no overlap
    text = "".join(c["text"] for c in final)
    assert "本日の会議を開きます" in text  # the first line, committed at its pause
    assert all(0.0 <= c["start"] <= c["end"] <= 3.8 for c in captions)

    runtime = Runtime(settings)
    services = runtime.operator("tester")
    meeting_id = done["meeting_id"]
    assert [c.text for c in services.meetings.live_captions(meeting_id)] == [c["text"] for c in final]
    assert services.meetings.transcript(meeting_id).title == "ライブ試験"
    job = services.meetings.job(1)  # the only job of a new database
    assert job.meeting_id == meeting_id and job.status == "queued"
    stored = read_wav(next((settings.data_dir / "recordings").rglob("*.wav")))[0]
    assert abs(stored.shape[0] - rate * 3.7) < rate // 10  # the whole input was recorded
    assert not any((settings.data_dir / "live").iterdir())  # the working copy went into recordings/
    runtime.engine.dispose()
