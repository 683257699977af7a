"""A complete 会議録 (issue 16): what a clerk checks on the printed Word and text exports, and the header data and
services behind it (time marks of the body, the 署名欄, rosters pasted as lines).

Exports are checked by reopening the .docx with python-docx (text, order, styles) and reading the text export;
the services on a real temp SQLite (the ``runtime`` fixture)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json

import docx
import pytest
from docx.enum.text import WD_TAB_ALIGNMENT, WD_TAB_LEADER
from sqlmodel import Session

from exports import (
    FORMATS,
    ExportOptions,
    MeetingKind,
    MinutesDocument,
    NotationOptions,
    Person,
    SpeakerKind,
    Speech,
    render_docx,
    render_text,
)
from exports.docx import TEMPLATE
from minutes import store
from minutes.errors import EditConflict, FinalizedError, InputError, PermissionDenied
from minutes.records import Utterance, Word
from minutes.services import Principal, Role
from minutes.services.documents import build_document
from minutes.services.rosters import parse_people, people_lines
from minutes.services.views import MeetingDetails, TimeMarkEntry
from tests import test_ui_pages
from tests.seeding import store_meeting
from tests.test_exports import sample_document

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def word(document: MinutesDocument, options: ExportOptions | None = None):
    return docx.Document(io.BytesIO(render_docx(document, options)))


def styled(paragraphs, style: str) -> list[str]:
    return [p.text for p in paragraphs if p.style.name == style]


def text_lines(document: MinutesDocument, options: ExportOptions | None = None) -> list[str]:
    return render_text(document, options).decode("utf-8").splitlines()


def bare(**fields) -> MinutesDocument:
    """A plenary 会議録 with one speech and nothing else filled in."""
    values = dict(
        assembly="大磯町議会",
        convened=dt.date(2025, 12, 2),
        session=4,
        issue=2,
        items=(Speech(name="山田太郎", role="議長", text="ただいまから会議を開きます。"),),
    )
    return MinutesDocument(**(values | fields))


# ---------------------------------------------------------------- the printed document


def test_empty_rosters_print_nothing():
    paragraphs = word(bare()).paragraphs
    text = "\n".join(p.text for p in paragraphs)
    for absent in ("（なし）", "出席議員", "欠席議員", "説明のため出席した者", "職務のため出席した者", "議事日程"):
        assert absent not in text
    assert styled(paragraphs, "見出し項目") == []
    plain = "\n".join(text_lines(bare()))
    assert "（なし）" not in plain and "出席議員" not in plain
    # one list filled: only its section
    one = word(bare(absentees=(Person("山本浩", seat=7),))).paragraphs
    assert styled(one, "見出し項目") == ["欠席議員（１名）"]


def test_agenda_comes_before_the_rosters():
    paragraphs = word(sample_document()).paragraphs
    order = [p.style.name for p in paragraphs]
    assert order.index("日程") < order.index("名簿") < order.index("役職名簿") < order.index("発言本文")
    assert styled(paragraphs, "日程")[2] == "日程第３\t\t一般質問"
    lines = text_lines(sample_document())
    assert lines.index("議事日程（第２号）") < lines.index("出席議員（１３名）")


def _role_runs(paragraph) -> list[tuple[str, str | None]]:
    """(text, character spacing in 1/20 pt) of the runs of a roster line."""
    runs = []
    for run in paragraph.runs:
        spacing = run._r.find(f"{W}rPr/{W}spacing")
        runs.append((run.text, None if spacing is None else spacing.get(f"{W}val")))
    return runs


def test_officials_are_aligned_with_short_roles_spread():
    """職名 shorter than five characters are spread over five (均等割り: 町　　　長, 副　町　長, 総 務 課 長), so the
    names stand in one column; longer ones are printed as they are."""
    paragraphs = word(sample_document()).paragraphs
    rows = [p for p in paragraphs if p.style.name == "役職名簿"]
    # 12 pt characters: 町長 gets 3 characters (720) after 町, 副町長 1 (240) after each, 総務課長 1/3 (80)
    assert _role_runs(rows[0]) == [
        ("町", "720"), ("長", None), ("\t", None), ("池田康弘君", None),
        ("\t", None), ("副町", "240"), ("長", None), ("\t", None), ("森下典子君", None),
    ]  # fmt: skip
    assert ("総務課", "80") in _role_runs(rows[3])
    assert ("政策総務部長", None) in _role_runs(rows[1])  # six characters: as it is
    assert rows[0].text == "町長\t池田康弘君\t副町長\t森下典子君"
    # the template puts the names at fixed tab stops
    stops = [stop.position.pt for stop in rows[0].style.paragraph_format.tab_stops]
    assert stops == [11 * 12, 19 * 12, 28 * 12]
    # text: the same columns with full-width spaces
    lines = text_lines(sample_document())
    roster = lines[lines.index("説明のため出席した者") + 1 : lines.index("職務のため出席した者") - 1]
    assert roster[0].startswith("\u3000\u3000町\u3000\u3000\u3000長\u3000\u3000池田康弘君")
    assert "副\u3000町\u3000長" in roster[0] and "教\u3000育\u3000長" in roster[1]
    columns = {line.find(name) for line, name in zip(roster, ["池田", "石川", "長谷川", "藤井", "坂本"], strict=True)}
    assert columns == {2 + 6 + 1}  # indent, the longest 職名 (政策総務部長), a space: every name in one column
    seconds = {line.find(name) for line, name in zip(roster, ["森下", "岡田", "村上", "近藤", "遠藤"], strict=True)}
    assert len(seconds) == 1


def test_long_roles_are_listed_one_to_a_line():
    document = bare(explainers=(Person("齋藤浩", role="教育次長兼学校教育課長"), Person("池田康弘", role="町長")))
    rows = styled(word(document).paragraphs, "役職名簿")
    assert rows == ["教育次長兼学校教育課長\t齋藤浩君", "町長\t池田康弘君"]


def test_speaker_headings_and_header_follow_the_digit_width_of_the_body():
    """A role, name, bill or place typed with ASCII digits prints full-width like the body (and half-width when the
    option is off), so a heading never reads ○5番 above a body that says ５番."""
    document = bare(
        place="第2委員会室",
        agenda=(dataclasses.replace(sample_document().agenda[0], bill="議案第5号"),),
        attendees=(Person("佐藤花子", seat=5),),
        items=(
            Speech(name="佐藤花子", role="5番", text="5番、佐藤です。"),
            Speech(name="話者1", text="2点伺います。", kind=SpeakerKind.OTHER),
        ),
    )
    paragraphs = word(document).paragraphs
    assert styled(paragraphs, "発言本文") == [
        "○５番（佐藤花子君）\u3000５番、佐藤です。",
        "○話者１君\u3000２点伺います。",
    ]
    assert [p.runs[0].text for p in paragraphs if p.style.name == "発言本文"] == ["○５番（佐藤花子君）", "○話者１君"]
    assert "場\u3000\u3000所\t第２委員会室" in styled(paragraphs, "項目")
    assert styled(paragraphs, "日程")[0].startswith("日程第１\t議案第５号\t")
    lines = text_lines(document)
    assert "○５番（佐藤花子君）\u3000５番、佐藤です。" in lines
    half = ExportOptions(notation=NotationOptions(full_width_digits=False))
    assert styled(word(document, half).paragraphs, "発言本文")[0] == "○5番（佐藤花子君）\u30005番、佐藤です。"


def test_signature_block_with_names():
    document = bare(chair="山田太郎", signers=("佐藤花子", "鈴木一郎"))
    paragraphs = word(document).paragraphs
    assert [(p.style.name, p.text) for p in paragraphs[-4:]] == [
        ("署名文", "地方自治法第１２３条第２項の規定によりここに署名する。"),
        ("署名欄", "大磯町議会議長\t山田太郎"),
        ("署名欄", "会議録署名議員\t佐藤花子"),
        ("署名欄", "会議録署名議員\t鈴木一郎"),
    ]
    lines = text_lines(document)
    assert lines[-7:] == [
        "\u3000地方自治法第１２３条第２項の規定によりここに署名する。",
        "",
        "\u3000" * 6 + "大磯町議会議長\u3000\u3000山田太郎",
        "",
        "\u3000" * 6 + "会議録署名議員\u3000\u3000佐藤花子",
        "",
        "\u3000" * 6 + "会議録署名議員\u3000\u3000鈴木一郎",
    ]


def test_signature_block_leaves_lines_to_sign_on():
    document = bare(signers=("佐藤花子",))
    paragraphs = word(document).paragraphs
    assert styled(paragraphs, "署名欄") == ["大磯町議会議長\t\t", "会議録署名議員\t佐藤花子", "会議録署名議員\t\t"]
    # the second tab stop of the style draws the line (an underscore leader up to the right margin)
    stops = list(word(document).styles["署名欄"].paragraph_format.tab_stops)
    assert (stops[-1].alignment, stops[-1].leader) == (WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.LINES)
    lines = text_lines(document)
    assert lines[-5] == "\u3000" * 6 + "大磯町議会議長\u3000\u3000" + "＿" * 12
    assert lines[-1] == "\u3000" * 6 + "会議録署名議員\u3000\u3000" + "＿" * 12


def test_signature_only_where_a_meeting_is_signed():
    committee = bare(kind=MeetingKind.COMMITTEE, title="総務常任委員会会議録")
    assert styled(word(committee).paragraphs, "署名欄") == []
    assert "署名" not in render_text(committee).decode("utf-8")
    signed = dataclasses.replace(committee, chair="高橋健二")
    paragraphs = word(signed).paragraphs
    assert styled(paragraphs, "署名文") == []  # 地方自治法第123条 is for the plenary 会議録
    assert styled(paragraphs, "署名欄") == ["委員長\t高橋健二"]


def test_signature_is_the_last_thing_after_the_adjournment():
    paragraphs = word(dataclasses.replace(sample_document(), chair="山田太郎")).paragraphs
    names = [p.style.name for p in paragraphs]
    assert names.index("署名文") > max(i for i, name in enumerate(names) if name in ("時刻", "発言本文"))
    assert paragraphs[names.index("署名文") - 1].text == "午前１１時４８分散会"


def test_template_has_the_signature_styles():
    template = docx.Document(str(TEMPLATE))
    assert {"署名文", "署名欄"} <= {style.name for style in template.styles}
    assert template.styles["署名文"].paragraph_format.keep_with_next


# ---------------------------------------------------------------- rosters pasted as lines


def test_parse_pasted_rosters():
    members = parse_people(
        "１番　山田太郎\n山田 花子\n\n 3番 佐藤 花子君\n12\t鈴木一郎\n９番吉村裕之（議長）", members=True
    )
    assert [(p.seat, p.name, p.role) for p in members] == [
        (1, "山田太郎", ""),
        (None, "山田花子", ""),
        (3, "佐藤花子", ""),
        (12, "鈴木一郎", ""),
        (9, "吉村裕之", "議長"),
    ]
    officials = parse_people("総務課長　佐藤一郎\n町長 池田 康弘\n池田康弘", members=False)
    assert [(p.seat, p.name, p.role) for p in officials] == [
        (None, "佐藤一郎", "総務課長"),
        (None, "池田康弘", "町長"),
        (None, "池田康弘", ""),
    ]
    for people, are_members in ((members, True), (officials, False)):
        assert parse_people(people_lines(people), members=are_members) == people


# ---------------------------------------------------------------- the header and its time marks in the database


def test_old_stored_headers_still_load():
    old = {"assembly": "大磯町議会", "session": 4, "opened": "10:00", "attendees": [{"name": "山田太郎", "seat": 1}]}
    details = MeetingDetails.from_dict(old)
    assert details.assembly == "大磯町議会" and details.opened == dt.time(10)
    assert (details.chair, details.signers, details.time_marks) == ("", (), ())
    broken = dict(old, time_marks=[{"kind": "昼食", "time": "12:00"}, {"kind": "休憩", "time": "x"}, "junk"])
    assert MeetingDetails.from_dict(broken).time_marks == ()
    full = dataclasses.replace(
        details,
        chair="山田太郎",
        signers=("佐藤花子", "鈴木一郎"),
        time_marks=(TimeMarkEntry("休憩", dt.time(11, 5), 3), TimeMarkEntry("開議", dt.time(10, 2))),
    )
    assert MeetingDetails.from_dict(json.loads(json.dumps(full.to_dict()))) == full


LINES = [
    ("SPEAKER_00", "ただいまから本日の会議を開きます。"),
    ("SPEAKER_01", "３番、佐藤です。質問いたします。"),
    ("SPEAKER_00", "暫時休憩いたします。"),
    ("SPEAKER_00", "休憩前に引き続き会議を開きます。"),
    ("SPEAKER_00", "本日はこれにて散会いたします。"),
]


@pytest.fixture
def meeting(runtime):
    """A transcribed plenary meeting of five utterances (seq 0–4) held at 10:00, its header barely filled in."""
    utterances = [Utterance(label, 10.0 * i, 10.0 * i + 8, text, (Word(10.0 * i, 10.0 * i + 8, text, 0.9),))
                  for i, (label, text) in enumerate(LINES)]  # fmt: skip
    meeting_id = store_meeting(
        runtime.engine, title="第４回定例会", utterances=utterances, duration=50.0, held_at=dt.datetime(2025, 12, 2, 10)
    )
    clerk = runtime.operator("書記")
    chair, member = clerk.speakers.speakers(meeting_id)
    clerk.speakers.update_speaker(chair.id, name="山田太郎", role="議長", kind="議員")
    clerk.speakers.update_speaker(member.id, name="佐藤花子", seat=3, kind="議員")
    info = clerk.details.meeting(meeting_id)
    clerk.details.update_meeting(
        meeting_id,
        expected_version=info.edit_version,
        title=info.title,
        kind=info.kind,
        held_at=info.held_at,
        details=MeetingDetails(assembly="大磯町議会", session=4, issue=2, closed=dt.time(12, 3)),
    )
    return meeting_id


def body(runtime, meeting_id: int, fmt: str = "docx") -> list[str]:
    """The proceedings as printed: time marks and the first characters of each speech."""
    data = runtime.operator("書記").exports.export(meeting_id, fmt).data
    if fmt == "txt":
        lines = [line.strip("\u3000") for line in data.decode("utf-8").splitlines()]
        return [line for line in lines if line.startswith(("○", "午前", "午後"))]
    paragraphs = docx.Document(io.BytesIO(data)).paragraphs
    return [
        p.text if p.style.name == "時刻" else p.text[:13] for p in paragraphs if p.style.name in ("時刻", "発言本文")
    ]


def test_opening_defaults_from_the_meeting_time_and_closing_from_the_header(runtime, meeting):
    printed = body(runtime, meeting)
    assert printed[0] == "午前１０時００分開議" and printed[-1] == "午後０時０３分散会"
    assert printed[1].startswith("○議長（山田太郎君）")
    with Session(runtime.engine) as session:
        document = build_document(session, meeting_id=meeting)
    assert document.opened == dt.datetime(2025, 12, 2, 10, 0)  # the header's 開会 line too
    assert runtime.operator("書記").details.meeting(meeting).details.opened is None  # nothing stored


def test_recess_and_resumption_are_printed_where_the_clerk_put_them(runtime, meeting):
    details = runtime.operator("書記").details
    version = details.meeting(meeting).edit_version
    info = details.add_time_mark(meeting, expected_version=version, kind="再開", time=dt.time(11, 15), after_seq=2)
    info = details.add_time_mark(
        meeting, expected_version=info.edit_version, kind="休憩", time=dt.time(11, 5), after_seq=2
    )
    assert info.details.time_marks == (
        TimeMarkEntry("再開", dt.time(11, 15), 2),
        TimeMarkEntry("休憩", dt.time(11, 5), 2),
    )
    expected = [
        "午前１０時００分開議",
        "○議長（山田太郎君）\u3000ただ",
        "○３番（佐藤花子君）\u3000３番",
        "○議長（山田太郎君）\u3000暫時",
        "午前１１時０５分休憩",
        "午前１１時１５分再開",
        "○議長（山田太郎君）\u3000休憩",
        "○議長（山田太郎君）\u3000本日",
        "午後０時０３分散会",
    ]
    assert body(runtime, meeting) == expected
    text = body(runtime, meeting, "txt")
    assert text.index("午前１１時０５分休憩") == text.index("午前１１時１５分再開") - 1
    assert text[text.index("午前１１時０５分休憩") - 1].startswith("○議長（山田太郎君）\u3000暫時休憩")
    events = [e for e in details.events(meeting) if e.action.startswith("time_mark")]
    assert [(e.action, e.detail["kind"], e.detail["time"], e.actor) for e in events] == [
        ("time_mark_add", "再開", "11:15", "書記"),
        ("time_mark_add", "休憩", "11:05", "書記"),
    ]
    assert events[0].action_label == "時刻の記録の追加"
    # removed again
    info = details.remove_time_mark(meeting, info.details.time_marks[0], expected_version=info.edit_version)
    assert info.details.time_marks == (TimeMarkEntry("休憩", dt.time(11, 5), 2),)
    assert "午前１１時１５分再開" not in body(runtime, meeting)
    assert details.events(meeting)[-2].action == "time_mark_remove"  # (the export comes after it)


def test_recorded_opening_and_adjournment_replace_the_header_times(runtime, meeting):
    details = runtime.operator("書記").details
    info = details.add_time_mark(
        meeting,
        expected_version=details.meeting(meeting).edit_version,
        kind="開議",
        time=dt.time(10, 2),
        after_seq=None,
    )
    info = details.add_time_mark(
        meeting, expected_version=info.edit_version, kind="延会", time=dt.time(12, 10), after_seq=4
    )
    printed = body(runtime, meeting)
    assert [line for line in printed if not line.startswith("○")] == ["午前１０時０２分開議", "午後０時１０分延会"]
    assert printed[0] == "午前１０時０２分開議" and printed[-1] == "午後０時１０分延会"


def test_a_mark_after_an_utterance_merged_away_stays_after_the_one_before(runtime, meeting):
    details = runtime.operator("書記").details
    details.add_time_mark(
        meeting, expected_version=details.meeting(meeting).edit_version, kind="休憩", time=dt.time(11), after_seq=3
    )
    transcript = runtime.operator("書記").transcript
    third = transcript.page(meeting).lines[2]
    transcript.merge_with_next(third.id, expected_version=third.version)  # seq 3 joins seq 2 and is gone
    printed = body(runtime, meeting)
    assert printed[printed.index("午前１１時００分休憩") - 1].startswith("○議長（山田太郎君）\u3000暫時")
    # the header still saves with the mark whose utterance was merged away
    info = details.meeting(meeting)
    details.update_meeting(
        meeting, expected_version=info.edit_version, title=info.title, kind=info.kind, details=info.details
    )


def test_time_marks_are_refused_where_they_cannot_go(runtime, meeting):
    details = runtime.operator("書記").details
    version = details.meeting(meeting).edit_version
    with pytest.raises(InputError, match="発言 6 はありません（この会議の発言は 1〜5 です）"):
        details.add_time_mark(meeting, expected_version=version, kind="休憩", time=dt.time(11), after_seq=5)
    with pytest.raises(InputError, match="種類「昼食」は使えません"):
        details.add_time_mark(meeting, expected_version=version, kind="昼食", time=dt.time(12), after_seq=1)
    info = details.add_time_mark(meeting, expected_version=version, kind="休憩", time=dt.time(11), after_seq=1)
    with pytest.raises(InputError, match="すでに記録されています"):
        details.add_time_mark(meeting, expected_version=info.edit_version, kind="休憩", time=dt.time(11), after_seq=1)
    with pytest.raises(EditConflict):  # made against the version before the last change
        details.add_time_mark(meeting, expected_version=version, kind="再開", time=dt.time(11, 30), after_seq=1)
    with pytest.raises(InputError, match="発言 9 はありません"):  # the header form checks new marks the same way
        details.update_meeting(
            meeting,
            expected_version=info.edit_version,
            title=info.title,
            details=dataclasses.replace(info.details, time_marks=(TimeMarkEntry("再開", dt.time(12), 8),)),
        )
    assert details.meeting(meeting).details.time_marks == (TimeMarkEntry("休憩", dt.time(11), 1),)


def test_time_marks_need_the_edit_permission_and_a_draft(runtime, meeting):
    viewer = runtime.services(Principal(id=90, name="田中", role=Role.VIEWER))
    version = runtime.operator("書記").details.meeting(meeting).edit_version
    with pytest.raises(PermissionDenied):
        viewer.details.add_time_mark(meeting, expected_version=version, kind="休憩", time=dt.time(11), after_seq=1)
    clerk = runtime.operator("書記").details
    info = clerk.add_time_mark(meeting, expected_version=version, kind="休憩", time=dt.time(11), after_seq=1)
    info = clerk.finalize(meeting, expected_version=info.edit_version)
    with pytest.raises(FinalizedError):
        clerk.add_time_mark(meeting, expected_version=info.edit_version, kind="再開", time=dt.time(11, 9), after_seq=1)
    with pytest.raises(FinalizedError):
        clerk.remove_time_mark(meeting, info.details.time_marks[0], expected_version=info.edit_version)


def test_signers_from_the_header_are_printed(runtime, meeting):
    clerk = runtime.operator("書記").details
    info = clerk.meeting(meeting)
    clerk.update_meeting(
        meeting,
        expected_version=info.edit_version,
        title=info.title,
        kind=info.kind,
        held_at=info.held_at,
        details=dataclasses.replace(info.details, chair="山田太郎", signers=("佐藤花子",)),
    )
    paragraphs = docx.Document(io.BytesIO(runtime.operator("書記").exports.export(meeting, "docx").data)).paragraphs
    assert styled(paragraphs, "署名欄") == [
        "大磯町議会議長\t山田太郎",
        "会議録署名議員\t佐藤花子",
        "会議録署名議員\t\t",
    ]


def test_a_prepared_export_is_recorded_only_when_rendered(runtime, meeting):
    exporting = runtime.operator("書記").exports
    prepared = exporting.prepare(meeting, "docx")
    assert prepared.filename == "第４回定例会（案）.docx" and prepared.mime_type.endswith("document")
    details = runtime.operator("書記").details

    def exported() -> list[str]:
        return [e.detail["format"] for e in details.events(meeting) if e.action == "export"]

    assert exported() == []
    data = prepared.render()
    assert docx.Document(io.BytesIO(data)).paragraphs[0].text.startswith("令和７年第４回大磯町議会定例会会議録")
    assert exported() == ["docx"]
    with pytest.raises(InputError, match="形式「pdf」"):
        exporting.prepare(meeting, "pdf")
    viewer = runtime.services(Principal(id=90, name="田中", role=Role.VIEWER))
    with pytest.raises(PermissionDenied):
        viewer.exports.prepare(meeting, "docx")
    with Session(runtime.engine) as session:
        assert store.get_meeting(session, meeting_id=meeting).finalized_at is None


# ---------------------------------------------------------------- the meeting page (AppTest on the real services)

app_env = test_ui_pages.app_env  # the fixture: fresh data folder, cached services, fake pipeline


def _in_order(node) -> list:
    """The elements under ``node`` in the order the page shows them."""
    children = getattr(node, "children", None)
    if not children:
        return [node]
    return [element for child in children.values() for element in _in_order(child)]


def _text_area(at, label: str):
    return next(t for t in at.text_area if t.label.startswith(label))


def test_meeting_page_takes_pasted_rosters_and_signers(app_env):
    meeting_id = test_ui_pages._seeded(app_env)
    at = test_ui_pages._app("ui/pages/meeting.py", meeting_id)
    assert next(t for t in at.time_input if t.label == "開会（開議）時刻").value == dt.time(10, 0)  # from held_at
    _text_area(at, "出席議員").input("１番　山田太郎\n2番 佐藤 花子君\n")
    _text_area(at, "説明のため出席した者").input("町長　池田康弘\n総務課長 近藤大樹")
    next(t for t in at.text_input if t.label == "議長").input("山田太郎")
    next(t for t in at.text_input if t.label == "会議録署名議員 1").input("佐藤花子")
    next(b for b in at.button if b.label == "見出しを保存").click().run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    engine = test_ui_pages._engine(app_env)
    details = test_ui_pages._as(engine, app_env).details.meeting(meeting_id).details
    engine.dispose()
    assert [(p.seat, p.name) for p in details.attendees] == [(1, "山田太郎"), (2, "佐藤花子")]
    assert [(p.role, p.name) for p in details.explainers] == [("町長", "池田康弘"), ("総務課長", "近藤大樹")]
    assert (details.chair, details.signers, details.opened) == ("山田太郎", ("佐藤花子",), dt.time(10, 0))
    # the saved roster is shown back as lines, its label counting the people
    assert _text_area(at, "出席議員（2 名）").value == "１番\u3000山田太郎\n２番\u3000佐藤花子"


def test_meeting_page_shows_form_errors_above_the_form(app_env):
    meeting_id = test_ui_pages._seeded(app_env)
    at = test_ui_pages._app("ui/pages/meeting.py", meeting_id)
    next(t for t in at.text_input if t.label == "会議名 *").input("")
    next(b for b in at.button if b.label == "見出しを保存").click().run()
    assert [e.value for e in at.error] == ["会議名を入力してください。"]
    assert [t.value for t in at.toast] == ["見出しを保存できませんでした。会議名を入力してください。"]  # seen anywhere
    shown = _in_order(at.main)
    error = next(i for i, e in enumerate(shown) if e.type == "alert" or getattr(e, "value", None) == at.error[0].value)
    first_input = next(i for i, e in enumerate(shown) if getattr(e, "label", None) == "会議名 *")
    assert error < first_input


def test_meeting_page_exports_in_one_click_and_shows_no_server_paths(app_env):
    meeting_id = test_ui_pages._seeded(app_env)
    at = test_ui_pages._app("ui/pages/meeting.py", meeting_id)
    buttons = {b.key: b for b in at.download_button}
    assert sorted(key for key in buttons if key.startswith("export-")) == sorted(f"export-{key}" for key in FORMATS)
    assert not [b for b in at.button if "書き出し" in b.label or b.key == "export_make"]
    at.checkbox(key="confirm_finalize").check().run()
    at.button(key="finalize").click().run()
    assert not at.exception, at.exception
    archive_lines = [m.value for m in at.markdown if "第1版" in m.value]
    assert archive_lines and all(str(app_env) not in m and "/" not in m for m in archive_lines)
    assert "ファイル" in archive_lines[0]
    assert "zip-1" in [b.key for b in at.download_button]


def test_marks_move_with_a_split_before_them(runtime, meeting):
    clerk = runtime.operator("書記")
    version = clerk.details.meeting(meeting).edit_version
    clerk.details.add_time_mark(meeting, expected_version=version, kind="休憩", time=dt.time(11, 5), after_seq=2)
    first = clerk.transcript.page(meeting).lines[0]
    clerk.transcript.split(first.id, at=3, expected_version=first.version)
    assert [m.after_seq for m in clerk.details.meeting(meeting).details.time_marks] == [3]
    printed = body(runtime, meeting)
    assert printed.index("午前１１時０５分休憩") == printed.index("○議長（山田太郎君）\u3000暫時") + 1
