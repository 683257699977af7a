"""Numbers and units of the 整文 in the assembly's notation (MINUTES_NUMBER_STYLE, minutes/pipeline/numbers.py)."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session

from minutes.errors import InputError
from minutes.pipeline import PipelineOptions
from minutes.pipeline.cleanup import CleanupOptions, layers
from minutes.pipeline.numbers import number_notation
from minutes.records import CorrectionRule
from minutes.services import DEFAULT_ORG
from minutes.services.corrections import with_cleanup
from minutes.settings import Settings

SPOKEN = "令和6年度の補正は8500万円で、総額は58億2000万円、議案第1052号、30%増の180人です"

FULL_TAIL = "議案第１０５２号、３０％増の１８０人です"


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        (
            "full",
            "令和６年度の補正は８，５００万円で、総額は５８億２，０００万円、議案第１０５２号、３０％増の１８０人です",
        ),
        (
            "full_plain",
            "令和６年度の補正は８５００万円で、総額は５８億２０００万円、議案第１０５２号、３０％増の１８０人です",
        ),
        ("half", "令和6年度の補正は8,500万円で、総額は58億2,000万円、議案第1052号、30%増の180人です"),
        ("half_plain", SPOKEN),
        ("asis", SPOKEN),
    ],
)
def test_each_style_writes_amounts_years_and_numbers_of_bills(style, expected):
    assert number_notation(SPOKEN, style) == expected


def test_the_recognizers_own_grouping_and_width_are_made_the_styles():
    assert number_notation("1,000万円と１０００万円", "half") == "1,000万円と1,000万円"
    assert number_notation("1,000万円と１，０００万円", "half_plain") == "1000万円と1000万円"
    assert number_notation("12,345", "full") == "１２，３４５"  # grouped as recognized stays grouped
    assert number_notation("3.5%と２．５％", "half") == "3.5%と2.5%"
    assert number_notation("1234.5万円", "full") == "１２３４．５万円"  # a decimal is never grouped


def test_years_times_codes_and_kanji_numbers_are_not_grouped_or_touched():
    assert number_notation("2024年の午前10時、朝8時に", "full") == "２０２４年の午前１０時、朝８時に"
    assert number_notation("5GとA4とCOVID-19", "full") == "5GとA4とCOVID-19"
    assert number_notation("10:30から2024/3/1まで", "full") == "10:30から2024/3/1まで"
    assert number_notation("三十人と一般質問", "full") == "三十人と一般質問"


def test_an_unknown_style_is_refused():
    with pytest.raises(ValueError):
        number_notation("3番", "kanji")
    with pytest.raises(ValueError):
        CleanupOptions(numbers="kanji")


def test_the_seibun_layer_writes_numbers_before_the_rules_apply_and_the_raw_keeps_them():
    rule = CorrectionRule("例は", "令和", "例は６年")  # written by a clerk in the 整文 they edit
    result = layers("えー、例は6年度の予算は8500万円です", CleanupOptions(rules=(rule,)))
    assert result.raw == "えー、例は6年度の予算は8500万円です"
    assert result.kebatori == "例は6年度の予算は8500万円です"
    assert result.seibun == "令和６年度の予算は８，５００万円です。"
    assert layers("予算は8500万円", CleanupOptions(numbers="asis")).seibun == "予算は8500万円。"


def test_jobs_stored_before_the_setting_keep_the_numbers_as_recognized():
    assert CleanupOptions.from_dict({"enabled": True}).numbers == "asis"
    options = PipelineOptions(cleanup=CleanupOptions(numbers="half"))
    assert PipelineOptions.from_dict(json.loads(json.dumps(options.to_dict()))) == options


def test_the_setting_reaches_the_job_and_a_bad_value_is_refused_in_japanese(runtime, monkeypatch):
    with Session(runtime.engine) as session:
        options = with_cleanup(session, Settings(number_style="half_plain"), PipelineOptions(), DEFAULT_ORG)
    assert options.cleanup.numbers == "half_plain"
    assert Settings().number_style == "full"
    monkeypatch.setenv("MINUTES_NUMBER_STYLE", "kanji")
    with pytest.raises(InputError, match="MINUTES_NUMBER_STYLE"):
        Settings.from_env()
