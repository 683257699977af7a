"""Speakers named from enrolled voices, end to end with the real models on the project's sample meeting, through the
CLI as a clerk's script would: roster → voices enroll → transcribe --json → identify.

The chair and the mayor are enrolled from one stretch of their speech each; the member is on the roster but not
enrolled. Checked: the chair's and the mayor's speakers are named (the member's never is: unknown, not a wrong
name), the chair's short calls that Whisper joins to the next speaker come out as the chair's own lines, and
`identify` gives the same names again. (Enrolling from one recording and naming another is measured in
benchmarks/identify.py; the sample has only one recording of these voices.)"""

from __future__ import annotations

import json

import pytest

from minutes.evaluation import read_rttm
from tests.conftest import SAMPLES
from tests.test_end_to_end import run_cli

pytestmark = pytest.mark.slow


def _share(payload: dict, reference, speaker: str, person: str | None) -> float:
    """The share of ``speaker``'s reference speech that the transcript gives to ``person``."""
    total = named = 0.0
    for turn in reference:
        if turn.speaker != speaker:
            continue
        total += turn.end - turn.start
        for u in payload["utterances"]:
            if u["person"] == person:
                named += max(0.0, min(u["end"], turn.end) - max(u["start"], turn.start))
    return named / total


def test_enrolled_voices_name_the_speakers_and_the_chairs_calls_are_his(tmp_path, whisper_base):
    from minutes.settings import Settings

    settings = Settings(data_dir=tmp_path / "data", whisper_model=whisper_base)
    wav = str(SAMPLES / "council_ja.wav")
    for args in (
        ("people", "add", "高橋一郎", "--kind", "議員", "--seat", "10", "--title", "議長", "--from", "2023-05-01"),
        ("people", "add", "鈴木健二", "--kind", "説明員", "--title", "町長", "--from", "2022-04-01"),
        ("people", "add", "山田太郎", "--kind", "議員", "--seat", "3"),
        ("voices", "enroll", "高橋一郎", wav, "--start", "105.4", "--end", "113.4"),
        ("voices", "enroll", "鈴木健二", wav, "--start", "45.5", "--end", "72.4"),
    ):
        result = run_cli(settings, *args)
        assert result.returncode == 0, result.stderr
    listed = json.loads(run_cli(settings, "voices", "list", "--json").stdout)
    assert sorted(p["name"] for p in listed) == sorted(["高橋一郎", "鈴木健二"])

    result = run_cli(settings, "transcribe", wav, "--title", "定例会", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    named = {label: entry["person"] for label, entry in payload["people"].items()}
    assert sorted(n for n in named.values() if n) == sorted(["高橋一郎", "鈴木健二"])  # one speaker each
    assert "山田太郎" not in named.values()  # on the roster, never enrolled: never named
    assert all(0.5 <= entry["score"] <= 1.0 for entry in payload["people"].values() if entry["person"])

    reference = read_rttm(SAMPLES / "council_ja.rttm")
    assert _share(payload, reference, "gicho", "高橋一郎") >= 0.8
    assert _share(payload, reference, "chocho", "鈴木健二") >= 0.9
    assert _share(payload, reference, "giin3", "高橋一郎") + _share(payload, reference, "giin3", "鈴木健二") < 0.05
    # the chair's calls at 73.3 s (「３番、山田議員。」) and 85.0 s (「町長。」), which Whisper joins to the next
    # speaker's words (or drops: the 0.5 s 「町長。」 often is, samples_audio/README.md), are the chair's own lines
    heard = 0
    for start, end in ((73.332, 74.794), (85.026, 85.549)):
        covering = [u for u in payload["utterances"] if u["start"] < end - 0.1 and u["end"] > start + 0.1]
        if covering:
            heard += 1
            first = covering[0]
            assert first["person"] == "高橋一郎" and first["end"] - first["start"] < 3.0, first
    assert heard >= 1

    again = run_cli(settings, "identify", str(payload["meeting_id"]), "--json")
    assert again.returncode == 0, again.stderr
    renamed = {label: entry["person"] for label, entry in json.loads(again.stdout)["people"].items()}
    assert renamed == named
