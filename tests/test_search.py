"""Full-text search on real SQLite (FTS5 trigram): long and short words, filters, ranking, edits, the CLI."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from minutes.cli import main
from minutes.errors import InputError
from minutes.services import Principal, Services
from minutes.services.search import SearchQuery, make_snippet, parse_date, terms_of
from minutes.services.views import ReplacePreview
from minutes.settings import Settings
from tests.seeding import seed_transcript

pytestmark = pytest.mark.both_backends  # on SQLite and on PostgreSQL (tests/conftest.py)


def as_(engine: Engine, data_dir: Path = Path("."), name: str = "佐藤") -> Services:
    """The services acting for the operating-system user ``name``."""
    return Services.for_user(engine, Settings(data_dir=data_dir), Principal.operator(name))


@pytest.fixture
def meetings(engine: Engine) -> dict[str, int]:
    old = seed_transcript(
        engine,
        title="令和６年第１回定例会",
        held_at=dt.datetime(2024, 3, 5, 10),
        lines=[
            ("SPEAKER_00", "ただいまから令和６年第１回定例会を開会いたします。"),
            ("SPEAKER_01", "予算について伺います。"),
            ("SPEAKER_02", "当初予算は前年度並みです。"),
        ],
    )
    new = seed_transcript(
        engine,
        title="令和７年第４回定例会",
        held_at=dt.datetime(2025, 12, 2, 10),
        lines=[
            ("SPEAKER_00", "日程第１、議案第５号を議題といたします。"),
            ("SPEAKER_01", "補正予算の防災費について質問します。補正予算は十分ですか。"),
            ("SPEAKER_02", "お答えします。防災費は補正予算で計上しました。"),
            ("SPEAKER_01", "河川の改修予定をお聞きします。"),
        ],
    )
    committee = seed_transcript(
        engine,
        title="総務常任委員会",
        kind="委員会",
        held_at=dt.datetime(2025, 11, 20, 13),
        lines=[("SPEAKER_00", "補正予算の審査を行います。"), ("SPEAKER_01", "Wi-Fi 整備の予算です。")],
    )
    return {"old": old, "new": new, "committee": committee}


def _texts(results) -> list[str]:
    return [hit.snippet.text for hit in results.utterances]


def test_sqlite_supports_trigram_and_the_index_exists(engine):
    if engine.dialect.name == "postgresql":  # pg_trgm's GIN indexes, and trigrams made of kanji and kana
        with engine.connect() as connection:
            indexes = {row[0] for row in connection.exec_driver_sql("SELECT indexname FROM pg_indexes")}
            trigrams = connection.exec_driver_sql("SELECT show_trgm('町営バス')").scalar()
        assert {"ix_utterance_text_trgm", "ix_utterance_raw_trgm", "ix_materialtext_text_trgm"} <= indexes
        assert len(trigrams) == 5  # "  町", " 町営", 町営バ, 営バス, "バス " (shown hashed: multibyte); [] under C
        return
    assert sqlite3.sqlite_version_info >= (3, 34)
    with engine.connect() as connection:
        names = {row[0] for row in connection.exec_driver_sql("SELECT name FROM sqlite_master")}
    assert {"utterance_fts", "materialtext_fts", "utterance_fts_ai", "utterance_fts_au", "utterance_fts_ad"} <= names


def test_long_words_are_found_and_ranked_by_bm25(engine, meetings):
    search = as_(engine).search
    results = search.search(SearchQuery("補正予算"))
    assert results.utterance_total == 3
    # the utterance that says it twice ranks first
    assert results.utterances[0].snippet.text.count("補正予算") == 2
    assert results.utterances[0].matches == 2
    assert all("補正予算" in hit.snippet.marked() for hit in results.utterances)
    assert "【補正予算】" in results.utterances[0].snippet.marked()
    # several words must all occur
    both = search.search(SearchQuery("補正予算 防災費"))
    assert both.utterance_total == 2 and all("防災費" in t for t in _texts(both))


def test_two_and_one_character_words(engine, meetings):
    search = as_(engine).search
    budget = search.search(SearchQuery("予算"))
    assert budget.utterance_total == 6
    river = search.search(SearchQuery("河川"))
    assert [h.meeting_id for h in river.utterances] == [meetings["new"]]
    # a two-character word at the very end of an utterance, and a single character
    end = seed_transcript(engine, title="臨時会", lines=[("SPEAKER_00", "補正予算")])
    assert end in {h.meeting_id for h in search.search(SearchQuery("予算")).utterances}
    assert search.search(SearchQuery("算")).utterance_total == 7
    # short words rank by occurrences, then newest meeting
    assert search.search(SearchQuery("予算", meeting_id=meetings["new"])).utterances[0].matches == 2
    # short and long words together
    mixed = search.search(SearchQuery("防災費 補正"))
    assert mixed.utterance_total == 2
    # case-insensitive Latin
    assert search.search(SearchQuery("wi-fi")).utterance_total == 1


def test_filters_date_kind_speaker_and_scope(engine, meetings):
    search = as_(engine).search
    recent = search.search(SearchQuery("予算", date_from=dt.date(2025, 1, 1)))
    assert {h.meeting_id for h in recent.utterances} == {meetings["new"], meetings["committee"]}
    older = search.search(SearchQuery("予算", date_to=dt.date(2024, 12, 31)))
    assert {h.meeting_id for h in older.utterances} == {meetings["old"]}
    day = search.search(SearchQuery("補正予算", date_from=dt.date(2025, 11, 20), date_to=dt.date(2025, 11, 20)))
    assert {h.meeting_id for h in day.utterances} == {meetings["committee"]}
    committee = search.search(SearchQuery("補正予算", kind="委員会"))
    assert [h.meeting_id for h in committee.utterances] == [meetings["committee"]]
    # a named speaker, by name or role
    editing = as_(engine, Path("."))
    speaker = next(s for s in editing.speakers.speakers(meetings["new"]) if s.label == "SPEAKER_02")
    editing.speakers.update_speaker(speaker.id, name="大磯太郎", role="町長")
    by_name = search.search(SearchQuery("補正予算", speaker="大磯"))
    assert [h.speaker for h in by_name.utterances] == ["町長 大磯太郎"]
    assert search.search(SearchQuery("予算", speaker="町長")).utterance_total == 1
    assert search.search(SearchQuery("予算", scope="materials")).utterances == ()
    with pytest.raises(InputError):
        search.search(SearchQuery("予算", date_from=dt.date(2026, 1, 1), date_to=dt.date(2025, 1, 1)))
    with pytest.raises(InputError):
        search.search(SearchQuery("　 "))


def test_ordering_newest_and_oldest(engine, meetings):
    search = as_(engine).search
    newest = search.search(SearchQuery("予算", order="newest"))
    dates = [h.held_at for h in newest.utterances]
    assert dates == sorted(dates, reverse=True)
    oldest = search.search(SearchQuery("補正予算", order="oldest"))
    assert oldest.utterances[0].meeting_id == meetings["committee"]
    # paging
    first = search.search(SearchQuery("予算", order="newest", limit=3))
    second = search.search(SearchQuery("予算", order="newest", limit=3, offset=3))
    assert len(first.utterances) == 3 and first.utterance_total == 6
    assert not {h.utterance_id for h in first.utterances} & {h.utterance_id for h in second.utterances}


def test_edits_and_new_transcripts_are_reflected(engine, meetings, tmp_path):
    search = as_(engine).search
    editing = as_(engine, tmp_path)
    line = editing.transcript.page(meetings["new"]).lines[3]
    editing.transcript.edit_text(line.id, text="堤防の改修予定をお聞きします。", expected_version=line.version)
    # the edited-away word is still in the line's 素起こし, which search covers: found, and shown from that layer
    kasen = search.search(SearchQuery("河川"))
    assert [h.utterance_id for h in kasen.utterances] == [line.id]
    assert "".join(part for part, _ in kasen.utterances[0].snippet.parts).startswith("（素起こし）")
    assert search.search(SearchQuery("河川の")).utterances[0].utterance_id == line.id  # the trigram index too
    assert search.search(SearchQuery("堤防の改修")).utterances[0].utterance_id == line.id
    assert search.search(SearchQuery("堤防")).utterance_total == 1
    # split, merge and replace
    first, second = editing.transcript.split(line.id, at=7, expected_version=line.version + 1)
    assert search.search(SearchQuery("お聞きします")).utterances[0].utterance_id == second.id
    editing.transcript.merge_with_next(first.id, expected_version=first.version)
    assert search.search(SearchQuery("お聞きします")).utterances[0].utterance_id == first.id
    preview: ReplacePreview = editing.transcript.preview_replace(meetings["new"], "防災費", "防災対策費")
    editing.transcript.apply_replace(meetings["new"], preview)
    assert search.search(SearchQuery("防災対策費")).utterance_total == 2
    # a new transcription replaces the old index entries (save_result deletes and inserts)
    again = seed_transcript(engine, title="再処理", lines=[("SPEAKER_00", "まったく新しい発言です。")])
    assert search.search(SearchQuery("新しい発言")).utterances[0].meeting_id == again


def test_common_short_words_walk_meetings_newest_first(engine, monkeypatch):
    monkeypatch.setattr("minutes.services.search.VOCAB_CAP", 3)
    for year in (2021, 2022, 2023, 2024):
        seed_transcript(
            engine,
            title=f"{year}年",
            held_at=dt.datetime(year, 6, 1),
            lines=[("SPEAKER_00", "町の予算"), ("SPEAKER_00", "町長")],
        )
    results = as_(engine).search.search(SearchQuery("町", limit=3))
    assert len(results.utterances) == 3 and results.total_is_lower_bound
    assert [h.held_at.year for h in results.utterances] == [2024, 2024, 2023]
    assert results.total_label.endswith("件以上")


def test_snippet_and_terms():
    assert terms_of("補正予算　防災  「河川」") == ("補正予算", "防災", "河川")
    snippet = make_snippet("あ" * 100 + "補正予算" + "い" * 100, ("予算",), width=40)
    assert snippet.text.startswith("…") and snippet.text.endswith("…")
    assert snippet.marked().count("【予算】") == 1 and len(snippet.marks()) == 1
    assert parse_date("2025/12/2") == dt.date(2025, 12, 2) and parse_date("20251202") == dt.date(2025, 12, 2)
    with pytest.raises(InputError):
        parse_date("昨日")


def test_locate_gives_the_position_of_an_utterance(engine, meetings, tmp_path):
    editing = as_(engine, tmp_path)
    line = editing.transcript.page(meetings["new"]).lines[2]
    assert as_(engine).search.locate(line.id) == (meetings["new"], 2, line.start)


def test_cli_search(engine, meetings, tmp_path, monkeypatch, capsys):
    data = tmp_path
    monkeypatch.setenv("MINUTES_DATA_DIR", str(data))
    monkeypatch.setenv("MINUTES_DATABASE_URL", str(engine.url))
    assert main(["search", "補正予算", "--json", "--type", "定例会"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["total"] == 2 and payload["results"][0]["type"] == "utterance"
    first = payload["results"][0]
    assert first["meeting_id"] == meetings["new"] and "補正予算" in first["snippet"]
    assert first["link"].startswith(f"editor?meeting={meetings['new']}&at=u")
    assert main(["search", "予算", "--from", "2025-01-01", "--speaker", "SPEAKER_01"]) == 0
    out = capsys.readouterr().out
    assert "【予算】" in out and "令和６年" not in out
    assert main(["search", "存在しない語句"]) == 0
    assert "見つかりませんでした" in capsys.readouterr().out
    assert main(["search", "予算", "--from", "きのう"]) == 2
    assert "エラー:" in capsys.readouterr().err


@pytest.fixture
def widths(engine: Engine) -> int:
    return seed_transcript(
        engine,
        title="文教常任委員会",
        lines=[
            ("SPEAKER_00", "3番、山田議員。"),
            ("SPEAKER_01", "ＧＩＧＡスクール構想とAIの活用について伺います。"),
            ("SPEAKER_02", "令和７年度の予算は12,000千円です。"),
        ],
    )


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("３番", "3番、山田議員。"),  # full-width typed, half-width stored; two characters: the vocabulary path
        ("3番", "3番、山田議員。"),
        ("ＡＩ", "AIの活用"),
        ("ai", "AIの活用"),
        ("GIGAスクール", "ＧＩＧＡスクール構想"),  # half-width typed, full-width stored; the trigram index
        ("ｇｉｇａ", "ＧＩＧＡスクール構想"),
        ("１２，０００千円", "12,000千円"),
        ("令和7年度", "令和７年度"),
        ("３番 山田", "3番、山田議員。"),  # two short words
        ("山田議員 ３番", "3番、山田議員。"),  # a long word with a short one
    ],
)
def test_letters_and_digits_match_in_either_width(engine, widths, query, found):
    results = as_(engine).search.search(SearchQuery(query, meeting_id=widths))
    assert [found in text for text in _texts(results)] == [True], _texts(results)
    assert results.utterances[0].snippet.marks()  # the match is marked whatever its width


def test_widths_in_the_meeting_by_meeting_scan_too(engine, widths, monkeypatch):
    monkeypatch.setattr(
        "minutes.services.search.VOCAB_CAP", 0
    )  # as if 番 were too common to list through the vocabulary
    results = as_(engine).search.search(SearchQuery("３番"))
    assert _texts(results) == ["3番、山田議員。"]


def test_variants():
    from minutes.services.search import variants

    assert variants("３番") == ("３番", "3番")
    assert variants("AI") == ("AI", "ＡＩ")
    assert variants("予算") == ("予算",)


def test_unnamed_speakers_show_as_the_editor_shows_them(engine, meetings):
    hit = as_(engine).search.search(SearchQuery("河川の改修")).utterances[0]
    assert hit.speaker == "話者２"  # not the diarization label SPEAKER_01
