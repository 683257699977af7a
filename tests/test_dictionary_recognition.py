"""End to end with the real Whisper base on the real sample council: the dictionary changes what is recognized.

Measured (benchmarks/accuracy.py and the first 11 s of samples_audio/council_ja.wav): without terms base writes the
chair's 「一般質問」 as 「一旦質問」; with the assembly's dictionary and the built-in 議会用語 it is right.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from minutes.pipeline.decode import decode_to_file
from minutes.pipeline.guards import normalize
from minutes.pipeline.transcribe import TranscriptionOptions, load_model, transcribe
from minutes.records import SAMPLE_RATE

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
TOWN = ROOT / "benchmarks" / "data" / "sample_town.csv"
CALL = 11.2  # seconds: 「ただいまから本日の会議を開きます。」「日程第１、一般質問を行います。…３番、山田議員。」


def test_a_dictionary_term_base_mishears_comes_out_right(runtime, tmp_path):
    services = runtime.operator("書記")
    services.dictionary.import_csv(TOWN.read_bytes())
    options = services.meetings.pipeline_options().transcription  # what a new meeting's job runs with
    assert any(t.source == "dictionary" for t in options.terms) and any(t.source == "builtin" for t in options.terms)

    samples = decode_to_file(ROOT / "samples_audio" / "council_ja.wav", tmp_path / "audio.f32").samples()
    excerpt = samples[: int(CALL * SAMPLE_RATE)]
    plain = TranscriptionOptions(cpu_threads=options.cpu_threads)
    model = load_model(runtime.whisper_model_path(), plain)
    without = normalize("".join(s.text for s in transcribe(model, excerpt, plain).segments))
    with_terms = normalize("".join(s.text for s in transcribe(model, excerpt, options).segments))
    assert "一般質問" not in without  # base alone mishears it (一旦質問)
    assert "一般質問" in with_terms
    assert "会議を開きます" in with_terms and "山田" in with_terms  # the rest of the call is still there
