"""From the database to the 会議録: the export record, every format, the CLI, the event log."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys

import docx
import pytest
from sqlmodel import Session

from minutes.records import Utterance, Word
from minutes.services.documents import build_document, safe_filename
from minutes.services.views import MeetingDetails, Person
from tests.seeding import set_details, store_meeting


@pytest.fixture
def meeting(runtime):
    """A transcribed meeting as the pipeline stores it (no models needed)."""
    lines = [
        ("SPEAKER_00", 0.5, 3.0, "ただいまから本日の会議を開きます。"),
        ("SPEAKER_01", 4.0, 9.0, "防災対策について質問いたします。"),
        ("SPEAKER_02", 10.0, 14.0, "お答えいたします。"),
    ]
    utterances = [
        Utterance(
            s, a, b, t, (Word(a, (a + b) / 2, t[: len(t) // 2], 0.9), Word((a + b) / 2, b, t[len(t) // 2 :], 0.9))
        )
        for s, a, b, t in lines
    ]
    meeting_id = store_meeting(
        runtime.engine,
        title="定例会 第２日",
        utterances=utterances,
        duration=15.0,
        held_at=dt.datetime(2025, 12, 2, 10),
        place="大磯町議会議場",
        recording_path="recordings/a.wav",
    )
    editing = runtime.operator("書記")
    chair, member, mayor = editing.speakers.speakers(meeting_id)
    editing.speakers.update_speaker(chair.id, name="山田太郎", role="議長", kind="議員")
    editing.speakers.update_speaker(member.id, name="佐藤花子", seat=3, kind="議員")
    editing.speakers.update_speaker(mayor.id, name="鈴木一郎", role="町長", kind="説明員")
    details = MeetingDetails(
        assembly="大磯町議会",
        session=4,
        issue=2,
        convened=dt.date(2025, 12, 1),
        opened=dt.time(10, 0),
        closed=dt.time(11, 48),
        attendees=(Person("山田太郎", 1), Person("佐藤花子", 3)),
        explainers=(Person("鈴木一郎", None, "町長"),),
    )
    set_details(runtime.engine, runtime.settings.data_dir, meeting_id, details, editor="書記")
    return meeting_id


def test_document_from_the_database(runtime, meeting):
    with Session(runtime.engine) as session:
        document = build_document(session, meeting_id=meeting)
    assert document.assembly == "大磯町議会" and document.session == 4 and document.issue == 2
    assert document.convened == dt.date(2025, 12, 1) and document.meeting_date == dt.date(2025, 12, 2)
    assert document.opened == dt.datetime(2025, 12, 2, 10, 0) and not document.finalized
    speeches = document.speeches
    assert [(s.role, s.name, s.seat) for s in speeches] == [
        ("議長", "山田太郎", None),
        ("", "佐藤花子", 3),
        ("町長", "鈴木一郎", None),
    ]
    assert speeches[0].words and document.duration == 15.0


def test_word_export_has_the_assembly_notation_and_is_marked_draft(runtime, meeting):
    result = runtime.operator("書記").exports.export(meeting, "docx")
    assert result.filename == "定例会 第２日（案）.docx"
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(result.data)).paragraphs)
    assert "令和７年第４回大磯町議会定例会会議録（第２号）" in text and "案" in text
    assert "○議長（山田太郎君）" in text and "○３番（佐藤花子君）" in text and "○町長（鈴木一郎君）" in text
    assert "午前１０時００分開議" in text and "午前１１時４８分散会" in text


def test_stored_half_width_digits_are_printed_full_width_in_word_and_text_only(runtime, meeting):
    editing = runtime.operator("書記")
    line = editing.transcript.page(meeting).lines[1]
    stored = "3番、佐藤です。補正予算1,234万円について2点質問します。"
    editing.transcript.edit_text(line.id, text=stored, expected_version=line.version)
    printed = "３番、佐藤です。補正予算１，２３４万円について２点質問します。"
    word = docx.Document(io.BytesIO(runtime.operator("書記").exports.export(meeting, "docx").data))
    assert [p.text for p in word.paragraphs if p.style.name == "発言本文"][1] == f"○３番（佐藤花子君）\u3000{printed}"
    text = runtime.operator("書記").exports.export(meeting, "txt").data.decode("utf-8")
    assert f"○３番（佐藤花子君）\u3000{printed}" in text.splitlines()
    data = json.loads(runtime.operator("書記").exports.export(meeting, "json").data)
    assert data["meetingRecord"]["speechRecord"][1]["speech"].endswith(stored)
    assert editing.transcript.line(line.id).text == stored  # printing changes nothing stored


def test_every_format_renders_and_is_logged(runtime, meeting):
    for fmt in ("docx", "txt", "srt", "vtt", "json", "csv"):
        assert runtime.operator("書記").exports.export(meeting, fmt).data
    data = json.loads(runtime.operator("書記").exports.export(meeting, "json").data)
    record = data["meetingRecord"]
    assert record["nameOfMeeting"] and [s["speaker"] for s in record["speechRecord"]] == [
        "山田太郎",
        "佐藤花子",
        "鈴木一郎",
    ]
    events = [e for e in runtime.operator("書記").details.events(meeting) if e.action == "export"]
    assert [e.detail["format"] for e in events] == ["docx", "txt", "srt", "vtt", "json", "csv", "json"]


def test_finalized_export_is_not_marked_draft(runtime, meeting):
    editing = runtime.operator("書記")
    editing.details.finalize(meeting, expected_version=editing.details.meeting(meeting).edit_version)
    result = runtime.operator("書記").exports.export(meeting, "docx")
    assert result.filename == "定例会 第２日.docx"
    assert "（案）" not in "\n".join(p.text for p in docx.Document(io.BytesIO(result.data)).paragraphs)


def test_cli_export(runtime, meeting, settings, tmp_path):
    target = tmp_path / "out.srt"
    result = subprocess.run(
        [sys.executable, "-m", "minutes.cli", "export", str(meeting), "--format", "srt", "-o", str(target)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "MINUTES_DATA_DIR": str(settings.data_dir), "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert "議長" in target.read_text() and "-->" in target.read_text()
    missing = subprocess.run(
        [sys.executable, "-m", "minutes.cli", "export", "999", "--format", "docx"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "MINUTES_DATA_DIR": str(settings.data_dir)},
    )
    assert missing.returncode == 5 and "見つかりません" in missing.stderr


def test_safe_filename():
    assert safe_filename("../../etc/passwd") == "etc_passwd"
    assert safe_filename('a:b*c?"d"') == "a_b_c_d"
    assert safe_filename("") == "会議録"
