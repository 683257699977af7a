"""The same recording with the same options gives the same draft.

faster-whisper falls back to sampling at temperature > 0 when a segment decodes badly (here: English speech decoded
as Japanese, the product's default language, which falls back on every segment of pyannote's 30 s sample). The seed
in ``TranscriptionOptions`` (recorded with each job's options) makes those samples repeat."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from minutes.pipeline import PipelineOptions, run_pipeline
from minutes.pipeline.decode import decode_to_file
from minutes.pipeline.transcribe import TranscriptionOptions, load_model, transcribe
from minutes.services.meetings import pipeline_options
from minutes.settings import Settings
from tests.conftest import pyannote_sample


def test_the_seed_is_part_of_every_jobs_options():
    options = pipeline_options(Settings(device="cpu")).to_dict()
    assert options["transcription"]["seed"] == 0
    assert PipelineOptions.from_dict(options).transcription.seed == 0


@pytest.mark.slow
def test_two_runs_give_the_same_draft_and_the_seed_is_what_decides(whisper_base, tmp_path):
    sample, _ = pyannote_sample()
    options = PipelineOptions(transcription=TranscriptionOptions(device="cpu", compute_type="int8"))
    first = run_pipeline(sample, tmp_path / "one", whisper_base, options)
    second = run_pipeline(sample, tmp_path / "two", whisper_base, options)
    assert first.utterances, "the sample must give some text"
    assert (first.speakers, first.utterances) == (second.speakers, second.utterances)

    # Sampling really happens on this clip: another seed gives another text, so the equality above is the seed's.
    samples = np.asarray(decode_to_file(sample, tmp_path / "sample.f32").samples())

    def texts(seed: int) -> list[str]:
        chosen = replace(options.transcription, seed=seed)
        return [s.text for s in transcribe(load_model(whisper_base, chosen), samples, chosen).segments]

    assert texts(7) != texts(0)
