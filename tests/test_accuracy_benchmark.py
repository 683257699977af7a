"""benchmarks/accuracy.py without the model: its dictionaries and its table."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from minutes.pipeline.vocabulary import builtin_terms, read_terms_csv

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("accuracy_benchmark", ROOT / "benchmarks" / "accuracy.py")
accuracy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(accuracy)


def test_the_sample_towns_dictionary_reads_and_the_large_one_has_500_unique_terms():
    small = read_terms_csv(accuracy.SMALL.read_bytes())
    assert 50 <= len(small) < 100 and {"人名", "地名", "施設", "事業", "会派"} <= {t.kind for t in small}
    large = accuracy.large_dictionary(small)
    assert len(large) == len({t.text for t in large}) == 500 and large[: len(small)] == small
    reference = (ROOT / "samples_audio" / "council_ja.txt").read_text(encoding="utf-8")
    assert not [t.text for t in small if len(t.text) > 8 and t.text in reference]  # terms, not its sentences


def test_configurations_put_the_meeting_first_and_the_builtins_last():
    configs = accuracy.configurations(["none", "builtin", "small", "large"])
    assert configs["none"] == () and configs["builtin"] == builtin_terms()
    assert configs["small"][0].source == "meeting" and configs["small"][-1].source == "builtin"
    assert len(configs["large"]) - len(configs["small"]) == 500 - len(read_terms_csv(accuracy.SMALL.read_bytes()))


def test_the_table_weights_totals_by_reference_length():
    rows = [
        {"clip": "a", "group": "council", "config": "none", "cer": 0.2, "reference_chars": 100},
        {"clip": "a", "group": "council", "config": "small", "cer": 0.1, "reference_chars": 100},
        {"clip": "b", "group": "unrelated", "config": "none", "cer": 0.0, "reference_chars": 10},
        {"clip": "b", "group": "unrelated", "config": "small", "cer": 0.5, "reference_chars": 10},
        {"clip": "c", "group": "unrelated", "config": "none", "cer": 0.1, "reference_chars": 30},
        {"clip": "c", "group": "unrelated", "config": "small", "cer": 0.1, "reference_chars": 30},
    ]
    table = accuracy.table(rows, ["none", "small"])
    assert "| a | council | 0.2000 | 0.1000 |" in table
    assert "| **total** | unrelated | 0.0750 | 0.2000 |" in table


def test_the_sample_rules_read_and_make_the_seibun_layer():
    rules = accuracy.sample_rules()
    assert ("長栄バス", "町営バス", "") in {(r.wrong, r.right, r.context) for r in rules}
    reference = (ROOT / "samples_audio" / "council_ja.txt").read_text(encoding="utf-8")
    assert not [r.wrong for r in rules if r.wrong in reference]  # written from mishearings, not the reference

    class Segment:
        def __init__(self, text: str) -> None:
            self.text = text

    assert (
        accuracy.seibun([Segment(" えー、長長の答弁"), Segment("長栄バスです")], rules) == "町長の答弁。町営バスです。"
    )


def test_a_configuration_names_its_terms_and_how_they_are_given():
    configs = accuracy.configurations(["small", "small:every:t40"], "council_r6_3")
    assert configs["small"] == configs["small:every:t40"]
    meeting = {t.text for t in configs["small"] if t.source == "meeting"}
    assert {"佐藤花子", "町営バスの運行について 山田太郎議員"} <= meeting
    options = accuracy.options_of("small:every:t40", configs["small"], 2)
    assert (options.hint_mode, options.hint_tokens, options.cpu_threads) == ("every", 40, 2)
    assert accuracy.options_of("small", configs["small"], 0).hint_mode == "prompt"
