"""Exports on records built here (no database): notation, Word (reopened, and printed to PDF by LibreOffice),
captions read back by real SRT / WebVTT parsers, JSON against its schema, CSV round trip."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import random
import shutil
import subprocess
from pathlib import Path

import docx
import jsonschema
import pytest
import srt
import webvtt

from exports import (
    FORMATS,
    STYLES,
    AgendaItem,
    Calendar,
    CaptionOptions,
    ExportOptions,
    MeetingKind,
    MinutesDocument,
    NotationOptions,
    Person,
    SpeakerKind,
    SpeakerOrder,
    Speech,
    StageNote,
    TemplateError,
    TimeMark,
    TimeMarkKind,
    WordTiming,
    load_template,
    render_csv,
    render_docx,
    render_json,
    render_srt,
    render_text,
    render_vtt,
)
from exports.captions import split_text, wrap
from exports.docx import TEMPLATE
from exports.notation import body_text, date_text, meeting_title, speaker_text, time_text, wareki, year_text
from exports.opendata import CSV_FIELDS

SCHEMA = Path(__file__).resolve().parent.parent / "exports" / "schema" / "minutes.schema.json"
TITLE = "令和７年第４回大磯町議会定例会会議録（第２号）"

MEMBERS = [
    "佐藤花子", "鈴木一郎", "高橋健二", "田中美咲", "伊藤誠", "渡辺久美子", "山本浩",
    "中村由紀", "小林大輔", "加藤恵子", "吉田修", "山口正樹", "松本千尋", "山田太郎",
]  # fmt: skip
OFFICIALS = [
    ("町長", "池田康弘"), ("副町長", "森下典子"), ("教育長", "石川雅人"), ("政策総務部長", "岡田聡"),
    ("町民福祉部長", "長谷川明美"), ("都市建設部長", "村上茂"), ("教育部長", "藤井理恵"), ("総務課長", "近藤大樹"),
    ("財政課長", "坂本亜紀"), ("政策課長", "遠藤隆"),
]  # fmt: skip
MAYOR_TEXT = (
    "ただいま上程されました議案第５５号、大磯町職員の給与に関する条例の一部を改正する条例につきまして、"
    "提案理由を御説明申し上げます。\n"
    "本案は、本年８月の人事院勧告及び神奈川県人事委員会の勧告に準じ、職員の給料月額及び期末手当、"
    "勤勉手当の支給割合を改定するため、所要の改正を行うものでございます。"
    "よろしく御審議のほど、お願い申し上げます。"
)


def chair(text: str, start: float, end: float, **kwargs) -> Speech:
    return Speech(name="山田太郎", role="議長", seat=14, text=text, start=start, end=end, label="SPEAKER_00", **kwargs)


def words_of(text: str, start: float, end: float, size: int = 3) -> tuple[WordTiming, ...]:
    """Word timings of ``text`` in pieces of ``size`` characters, evenly over [start, end]."""
    pieces = [text[i : i + size] for i in range(0, len(text), size)]
    step = (end - start) / len(pieces)
    return tuple(WordTiming(start + i * step, start + (i + 1) * step, piece) for i, piece in enumerate(pieces))


def sample_items() -> tuple[Speech | StageNote | TimeMark, ...]:
    """The proceedings of the sample meeting: time marks, the chair, a question and its answer, stage notes."""
    question = "３番、佐藤花子です。給料月額の改定による本年度の影響額は幾らになるのか、お伺いいたします。"
    answer = (
        "お答えいたします。本年度の影響額につきましては、一般会計で約３，２００万円を見込んでおります。"
        "財源につきましては、財政調整基金からの繰入金で対応してまいります。"
    )
    return (
        TimeMark(TimeMarkKind.SITTING, dt.time(10, 0)),
        chair(
            "おはようございます。ただいまの出席議員は１３名であります。定足数に達しておりますので、"
            "これより本日の会議を開きます。本日の議事日程は、お手元に配付のとおりです。",
            2.0,
            14.0,
        ),
        chair(
            "日程第１、議案第５５号「大磯町職員の給与に関する条例の一部を改正する条例」を議題といたします。", 15.0, 22.0
        ),
        chair("提案理由の説明を求めます。町長。", 22.5, 25.0),
        Speech(
            name="池田康弘",
            role="町長",
            text=MAYOR_TEXT,
            start=26.0,
            end=62.0,
            kind=SpeakerKind.OFFICIAL,
            label="SPEAKER_01",
            yomi="イケダヤスヒロ",
        ),
        chair("説明が終わりました。これより質疑を行います。質疑はありませんか。３番、佐藤花子議員。", 63.0, 70.0),
        Speech(
            name="佐藤花子",
            seat=3,
            text=question,
            start=71.0,
            end=80.0,
            label="SPEAKER_02",
            yomi="サトウハナコ",
            group="おおいそ未来",
            words=words_of(question, 71.0, 80.0),
        ),
        chair("総務課長。", 80.5, 81.2),
        Speech(
            name="近藤大樹",
            role="総務課長",
            text=answer,
            start=82.0,
            end=95.0,
            kind=SpeakerKind.OFFICIAL,
            label="SPEAKER_03",
        ),
        chair("ほかに質疑はありませんか。", 96.0, 98.0),
        StageNote("「なし」と呼ぶ者あり", start=98.2, end=99.0),
        chair(
            "質疑なしと認め、これをもって質疑を終了いたします。お諮りいたします。本案は原案のとおり決することに"
            "御異議ありませんか。",
            99.5,
            107.0,
        ),
        StageNote("「異議なし」と呼ぶ者あり"),
        chair(
            "異議なしと認めます。よって、議案第５５号は原案のとおり可決されました。暫時休憩いたします。", 108.0, 114.0
        ),
        TimeMark(TimeMarkKind.RECESS, dt.time(10, 52)),
        TimeMark(TimeMarkKind.RESUMPTION, dt.time(11, 5)),
        chair(
            "休憩前に引き続き会議を開きます。以上で本日の日程は全て終了いたしました。本日はこれにて散会いたします。",
            115.0,
            122.0,
        ),
        TimeMark(TimeMarkKind.ADJOURNMENT, dt.time(11, 48)),
    )


def sample_document(*, finalized: bool = False) -> MinutesDocument:
    return MinutesDocument(
        assembly="大磯町議会",
        convened=dt.date(2025, 11, 27),
        meeting_date=dt.date(2025, 12, 2),
        kind=MeetingKind.REGULAR,
        session=4,
        issue=2,
        opened=dt.datetime(2025, 12, 2, 10, 0),
        closed=dt.datetime(2025, 12, 2, 11, 48),
        place="大磯町議会議場",
        attendees=tuple(Person(name, seat=seat) for seat, name in enumerate(MEMBERS, start=1) if seat != 7),
        absentees=(Person(MEMBERS[6], seat=7),),
        explainers=tuple(Person(name, role=role) for role, name in OFFICIALS),
        staff=(Person("大野秀樹", role="議会事務局長"), Person("清水香織", role="書記")),
        agenda=(
            AgendaItem("大磯町職員の給与に関する条例の一部を改正する条例", order=1, bill="議案第５５号"),
            AgendaItem("令和７年度大磯町一般会計補正予算（第５号）", order=2, bill="議案第５６号"),
            AgendaItem("一般質問", order=3),
        ),
        items=sample_items(),
        finalized=finalized,
        version=2 if finalized else 1,
        finalized_by="議会事務局長　大野秀樹" if finalized else "",
        finalized_at=dt.datetime(2025, 12, 20, 15, 30) if finalized else None,
        duration=123.0,
        extras=(("会議録署名議員", "１番　佐藤花子君　　２番　鈴木一郎君"),),
    )


# ---------------------------------------------------------------- notation


@pytest.mark.parametrize(
    ("date", "era", "year"),
    [
        (dt.date(2019, 4, 30), "平成", 31),
        (dt.date(2019, 5, 1), "令和", 1),
        (dt.date(2025, 12, 2), "令和", 7),
        (dt.date(1989, 1, 7), "昭和", 64),
        (dt.date(1989, 1, 8), "平成", 1),
        (dt.date(1926, 12, 24), "大正", 15),
        (dt.date(1912, 7, 29), "明治", 45),
    ],
)
def test_wareki(date, era, year):
    assert wareki(date) == (era, year)


def test_wareki_before_the_gregorian_calendar_is_refused():
    with pytest.raises(ValueError, match="1873"):
        wareki(dt.date(1872, 12, 31))


def test_year_and_date_text():
    default = NotationOptions()
    assert year_text(dt.date(2019, 4, 30), default) == "平成３１年"
    assert year_text(dt.date(2019, 5, 1), default) == "令和元年"
    assert year_text(dt.date(2019, 5, 1), NotationOptions(gannen=False)) == "令和１年"
    assert date_text(dt.date(2025, 12, 2), default) == "令和７年１２月２日（火曜日）"
    assert date_text(dt.date(2025, 12, 2), default, weekday=False) == "令和７年１２月２日"
    western = NotationOptions(calendar=Calendar.SEIREKI, full_width_digits=False)
    assert date_text(dt.date(2025, 12, 2), western) == "2025年12月2日（火曜日）"
    assert (
        date_text(dt.date(2025, 12, 2), NotationOptions(calendar=Calendar.SEIREKI)) == "２０２５年１２月２日（火曜日）"
    )


@pytest.mark.parametrize(
    ("time", "text"),
    [
        (dt.time(10, 0), "午前１０時００分"),
        (dt.time(9, 5), "午前９時０５分"),
        (dt.time(0, 30), "午前０時３０分"),
        (dt.time(12, 0), "午後０時００分"),
        (dt.time(13, 45), "午後１時４５分"),
    ],
)
def test_time_text(time, text):
    assert time_text(time, NotationOptions()) == text


def test_speaker_notation():
    default = NotationOptions()
    mayor = Speech(name="池田康弘", role="町長", text="", kind=SpeakerKind.OFFICIAL)
    member = Speech(name="佐藤花子", seat=3, text="")
    clerk = Speech(name="大野秀樹", role="議会事務局長", text="", kind=SpeakerKind.STAFF)
    assert speaker_text(chair("", 0, 1), default) == "○議長（山田太郎君）"
    assert speaker_text(mayor, default) == "○町長（池田康弘君）"
    assert speaker_text(member, default) == "○３番（佐藤花子君）"
    assert speaker_text(clerk, default) == "○議会事務局長（大野秀樹君）"
    assert speaker_text(clerk, NotationOptions(staff_honorific="")) == "○議会事務局長（大野秀樹）"
    name_first = NotationOptions(order=SpeakerOrder.NAME_FIRST)
    assert speaker_text(chair("", 0, 1), name_first) == "○山田太郎議長"
    assert speaker_text(member, name_first) == "○佐藤花子君"
    assert speaker_text(member, NotationOptions(member_seat=False)) == "○佐藤花子君"
    assert speaker_text(member, NotationOptions(full_width_digits=False, speaker_mark="◯")) == "◯3番（佐藤花子君）"
    assert speaker_text(Speech(name="", text="", label="SPEAKER_05"), default) == "○SPEAKER_05"


@pytest.mark.parametrize(
    ("stored", "printed"),
    [
        ("3番、佐藤です。", "３番、佐藤です。"),
        ("一般会計で約1,234万円、前年度比3.5%の増です。", "一般会計で約１，２３４万円、前年度比３．５%の増です。"),
        ("令和7年度第12号、10:30から", "令和７年度第１２号、１０:３０から"),
        ("1、2、3。以上3点です。", "１、２、３。以上３点です。"),
        ("３番は全角のまま", "３番は全角のまま"),
        (
            "COVID-19対策、5G基地局、A4判、https://example.jp/p/2",
            "COVID-19対策、5G基地局、A4判、https://example.jp/p/2",
        ),
        ("終わり. 1,000 と 1.", "終わり. １，０００ と １."),
    ],
)
def test_body_text_makes_numbers_full_width(stored, printed):
    assert body_text(stored, NotationOptions()) == printed
    assert body_text(stored, NotationOptions(full_width_digits=False)) == stored


def test_meeting_title():
    assert meeting_title(sample_document(), NotationOptions()) == TITLE
    committee = dataclasses.replace(sample_document(), kind=MeetingKind.COMMITTEE, title="総務常任委員会会議録")
    assert meeting_title(committee, NotationOptions()) == "総務常任委員会会議録"
    first_year = dataclasses.replace(sample_document(), convened=dt.date(2019, 6, 4), session=2, issue=None)
    assert meeting_title(first_year, NotationOptions()) == "令和元年第２回大磯町議会定例会会議録"


# ---------------------------------------------------------------- Word


def reopen(data: bytes):
    return docx.Document(io.BytesIO(data))


def test_template_has_every_style():
    assert {style.name for style in load_template().styles} >= STYLES


def test_template_missing_a_style_is_refused(tmp_path):
    template = docx.Document(str(TEMPLATE))
    for name in ("ト書き", "発言者"):
        template.styles[name].delete()
    broken = tmp_path / "broken.docx"
    template.save(broken)
    with pytest.raises(TemplateError) as caught:
        render_docx(sample_document(), ExportOptions(template=broken))
    assert "ト書き" in caught.value.message and "発言者" in caught.value.message
    with pytest.raises(TemplateError, match="開けません"):
        load_template(tmp_path / "absent.docx")


def test_docx_structure_and_styles():
    word = reopen(render_docx(sample_document()))
    paragraphs = word.paragraphs
    assert paragraphs[0].style.name == "会議録タイトル"
    assert paragraphs[0].text == f"{TITLE}（案）"
    fields = {p.text.split("\t")[0]: p.text.split("\t")[1] for p in paragraphs if p.style.name == "項目"}
    assert fields["招集年月日"] == "令和７年１１月２７日（木曜日）"
    assert fields["会議年月日"] == "令和７年１２月２日（火曜日）"
    assert fields["場\u3000\u3000所"] == "大磯町議会議場"
    assert fields["開\u3000\u3000会"] == "令和７年１２月２日\u3000午前１０時００分"
    headings = [p.text for p in paragraphs if p.style.name == "見出し項目"]
    assert headings == [  # the 議事日程 near the top, as printed 会議録 have it
        "議事日程（第２号）",
        "本日の会議に付した事件",
        "出席議員（１３名）",
        "欠席議員（１名）",
        "説明のため出席した者",
        "職務のため出席した者",
    ]
    roster = [p.text for p in paragraphs if p.style.name == "名簿"]
    assert roster[0] == "\t１番\t佐藤花子君\t２番\t鈴木一郎君"
    assert roster[-1] == "\t７番\t山本浩君"  # the absentee
    assert next(p.text for p in paragraphs if p.style.name == "役職名簿") == "町長\t池田康弘君\t副町長\t森下典子君"
    assert next(p.text for p in paragraphs if p.style.name == "日程") == (
        "日程第１\t議案第５５号\t大磯町職員の給与に関する条例の一部を改正する条例"
    )

    speeches = [p for p in paragraphs if p.style.name == "発言本文"]
    assert len(speeches) == len(sample_document().speeches)
    first = speeches[0]
    assert first.runs[0].style.name == "発言者" and first.runs[0].text == "○議長（山田太郎君）"
    assert first.text.startswith("○議長（山田太郎君）\u3000おはようございます。")
    assert [p.runs[0].text for p in speeches if p.runs[0].text != "○議長（山田太郎君）"] == [
        "○町長（池田康弘君）",
        "○３番（佐藤花子君）",
        "○総務課長（近藤大樹君）",
    ]
    continued = [p.text for p in paragraphs if p.style.name == "発言続き"]
    assert continued == [MAYOR_TEXT.splitlines()[1]]
    assert [p.text for p in paragraphs if p.style.name == "ト書き"] == [
        "〔「なし」と呼ぶ者あり〕",
        "〔「異議なし」と呼ぶ者あり〕",
    ]
    assert [p.text for p in paragraphs if p.style.name == "時刻"] == [
        "午前１０時００分開議",
        "午前１０時５２分休憩",
        "午前１１時０５分再開",
        "午前１１時４８分散会",
    ]
    # the 署名欄 closes the document; names not yet known leave lines to sign on
    assert [(p.style.name, p.text) for p in paragraphs[-4:]] == [
        ("署名文", "地方自治法第１２３条第２項の規定によりここに署名する。"),
        ("署名欄", "大磯町議会議長\t\t"),
        ("署名欄", "会議録署名議員\t\t"),
        ("署名欄", "会議録署名議員\t\t"),
    ]
    header = word.sections[0].header.paragraphs[0]
    assert (header.style.name, header.text) == ("案表示", "案")
    assert word.core_properties.title == f"{TITLE}（案）"


def test_docx_final_and_notation_options():
    notation = NotationOptions(order=SpeakerOrder.NAME_FIRST, calendar=Calendar.SEIREKI)
    word = reopen(render_docx(sample_document(finalized=True), ExportOptions(notation=notation)))
    assert word.paragraphs[0].text == "２０２５年第４回大磯町議会定例会会議録（第２号）"
    assert all(p.text == "" for p in word.sections[0].header.paragraphs)
    speakers = {p.runs[0].text for p in word.paragraphs if p.style.name == "発言本文"}
    assert speakers == {"○山田太郎議長", "○池田康弘町長", "○佐藤花子君", "○近藤大樹総務課長"}
    assert word.core_properties.revision == 2


DIGITS_SPEECH = "3番、佐藤花子です。影響額は約1,234万円、3.5%の増です。COVID-19対策も伺います。"
DIGITS_PRINTED = "３番、佐藤花子です。影響額は約１，２３４万円、３．５%の増です。COVID-19対策も伺います。"


def digits_document() -> MinutesDocument:
    """Speech text as the recogniser writes it: half-width digits."""
    return dataclasses.replace(
        sample_document(),
        items=(
            chair("3番、佐藤花子議員。", 1.0, 3.0),
            Speech(name="佐藤花子", seat=3, text=DIGITS_SPEECH + "\n2点目は1件です。", start=4.0, end=20.0),
            StageNote("賛成者12名起立", start=20.5, end=21.0),
        ),
    )


def test_docx_and_text_print_the_body_with_full_width_digits():
    word = reopen(render_docx(digits_document()))
    body = [p.text for p in word.paragraphs if p.style.name in ("発言本文", "発言続き", "ト書き")]
    assert body == [
        "○議長（山田太郎君）\u3000３番、佐藤花子議員。",
        "○３番（佐藤花子君）\u3000" + DIGITS_PRINTED,
        "２点目は１件です。",
        "〔賛成者１２名起立〕",
    ]
    text = render_text(digits_document()).decode("utf-8").splitlines()
    assert "○３番（佐藤花子君）\u3000" + DIGITS_PRINTED in text
    assert "\u3000２点目は１件です。" in text and "\u3000" * 4 + "〔賛成者１２名起立〕" in text
    # The option off: the body is printed as stored, like the header numbers.
    plain = ExportOptions(notation=NotationOptions(full_width_digits=False))
    body = [p.text for p in reopen(render_docx(digits_document(), plain)).paragraphs if p.style.name == "発言本文"]
    assert body[1] == "○3番（佐藤花子君）\u3000" + DIGITS_SPEECH


def test_captions_and_open_data_keep_the_stored_digits():
    document = digits_document()
    # (lines joined: a cue may break a line inside 1,234)
    captions = (render_srt(document) + render_vtt(document)).decode("utf-8").replace("\n", "")
    assert "1,234万円" in captions and "１，２３４" not in captions and "賛成者12名起立" in captions
    speech = json.loads(render_json(document))["meetingRecord"]["speechRecord"][1]["speech"]
    assert speech == "○３番（佐藤花子君）\u3000" + DIGITS_SPEECH + "\n\u3000" + "2点目は1件です。"
    rows = list(csv.DictReader(io.StringIO(render_csv(document).decode("utf-8-sig"), newline="")))
    assert rows[1]["speech"] == speech


def test_docx_is_reproducible():
    assert render_docx(sample_document()) == render_docx(sample_document())


# ---------------------------------------------------------------- Word printed by LibreOffice


@pytest.fixture(scope="module")
def printed(tmp_path_factory) -> dict[str, list[str]]:
    """The draft and the final 会議録 printed to PDF by LibreOffice: pages of ``pdftotext -layout`` text, and the
    fonts (``pdffonts``) under the key "fonts"."""
    tools = {name: shutil.which(name) for name in ("soffice", "pdftotext", "pdffonts")}
    missing = [name for name, path in tools.items() if path is None]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not found: install LibreOffice Writer and Poppler "
            "(apt-get install libreoffice-writer poppler-utils fonts-noto-cjk)"
        )
    folder = tmp_path_factory.mktemp("print")
    sources = []
    for name, finalized in (("draft", False), ("final", True)):
        source = folder / f"{name}.docx"
        source.write_bytes(render_docx(sample_document(finalized=finalized)))
        sources.append(str(source))
    subprocess.run(
        [
            tools["soffice"],
            f"-env:UserInstallation=file://{folder}/profile",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            *sources,
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    result = {}
    for name in ("draft", "final"):
        pdf = folder / f"{name}.pdf"
        assert pdf.exists(), f"LibreOffice did not write {pdf.name}"
        text = subprocess.run([tools["pdftotext"], "-layout", str(pdf), "-"], check=True, capture_output=True).stdout
        result[name] = text.decode("utf-8").split("\f")[:-1]
        fonts = subprocess.run([tools["pdffonts"], str(pdf)], check=True, capture_output=True).stdout
        result[f"{name} fonts"] = fonts.decode("utf-8").splitlines()
    return result


def _flat(pages: list[str]) -> str:
    return "".join("".join(page.split()) for page in pages)


def test_printed_draft(printed):
    pages = printed["draft"]
    assert len(pages) >= 2
    text = _flat(pages)
    for expected in (
        f"{TITLE}（案）",
        "招集年月日令和７年１１月２７日（木曜日）",
        "出席議員（１３名）",
        "１番佐藤花子君２番鈴木一郎君",
        "町長池田康弘君副町長森下典子君",
        "日程第１議案第５５号大磯町職員の給与に関する条例の一部を改正する条例",
        "○議長（山田太郎君）おはようございます。",
        "○３番（佐藤花子君）３番、佐藤花子です。",
        "〔「異議なし」と呼ぶ者あり〕",
        "午前１０時００分開議",
        "午前１１時４８分散会",
        "地方自治法第１２３条第２項の規定によりここに署名する。",
    ):
        assert expected in text
    for number, page in enumerate(pages, start=1):
        lines = [line.strip() for line in page.splitlines() if line.strip()]
        assert lines[0] == "案", f"page {number} has no draft mark in its header"
        assert lines[-1].replace(" ", "") == f"－{number}－", f"page {number} has no page number"


def test_printed_final_and_fonts(printed):
    pages = printed["final"]
    text = _flat(pages)
    assert TITLE in text and f"{TITLE}（案）" not in text
    assert all(page.strip().splitlines()[0].strip() != "案" for page in pages)
    assert pages[-1].strip().splitlines()[-1].replace(" ", "") == f"－{len(pages)}－"
    fonts = " ".join(printed["final fonts"] + printed["draft fonts"])
    # The Japanese fonts named in the template, not a fallback (which would print Gothic, or boxes).
    assert "NotoSerifCJKjp" in fonts and "NotoSansCJKjp" in fonts
    assert "DejaVu" not in fonts


# ---------------------------------------------------------------- plain text


def test_text():
    text = render_text(sample_document()).decode("utf-8")
    lines = text.splitlines()
    assert lines[0] == "【案】"
    assert f"{TITLE}（案）" in text
    assert any(line.startswith("○議長（山田太郎君）\u3000おはようございます。") for line in lines)
    assert "\u3000" + MAYOR_TEXT.splitlines()[1] in lines
    assert any(line.strip("\u3000") == "〔「異議なし」と呼ぶ者あり〕" for line in lines)
    assert any(line.strip("\u3000") == "午前１０時００分開議" for line in lines)
    final = render_text(sample_document(finalized=True)).decode("utf-8")
    assert "【案】" not in final and "（案）" not in final


# ---------------------------------------------------------------- captions


def test_wrap_and_split():
    assert wrap("あいうえお、かきくけこ", 8) == ["あいうえお、", "かきくけこ"]
    assert wrap("あいうえおかきく。けこ", 8) == ["あいうえおかきく。", "けこ"]  # 。 stays on its line
    options = CaptionOptions(max_line_chars=10, max_lines=2)
    pieces = split_text("はい。" + "あ" * 30 + "。いいえ。", options)
    assert all(len(piece.split("\n")) <= 2 for piece in pieces)
    assert "".join(piece.replace("\n", "") for piece in pieces) == "はい。" + "あ" * 30 + "。いいえ。"


def check_cues(cues: list[tuple[float, float, str]], duration: float) -> None:
    assert cues
    previous_end = 0.0
    for start, end, text in cues:
        assert 0 <= start < end <= duration
        assert start >= previous_end, "cues overlap or are out of order"
        previous_end = end
        lines = text.split("\n")
        assert len(lines) <= 2 and all(len(line) <= 25 for line in lines), text


def test_srt():
    document = sample_document()
    data = render_srt(document)
    subtitles = list(srt.parse(data.decode("utf-8")))
    cues = [(s.start.total_seconds(), s.end.total_seconds(), s.content) for s in subtitles]
    check_cues(cues, document.duration)
    assert [s.index for s in subtitles] == list(range(1, len(subtitles) + 1))
    assert cues[0][2].startswith("（議長）おはようございます。")
    assert any(text == "〔「なし」と呼ぶ者あり〕" for _, _, text in cues)
    spoken = "".join(text.replace("\n", "") for _, _, text in cues)
    assert "ただいま上程されました議案第５５号" in spoken and "お願い申し上げます。" in spoken
    # The member's question has word timings: its cues start and end on word boundaries.
    question = next(item for item in document.speeches if item.words)
    boundaries = {round(w.start, 3) for w in question.words} | {round(w.end, 3) for w in question.words}
    timed = [(start, end) for start, end, text in cues if 71.0 <= start < 80.0]
    assert len(timed) >= 2 and all(start in boundaries for start, _ in timed)


def test_srt_short_and_overlapping_speech():
    document = dataclasses.replace(
        sample_document(),
        items=(
            chair("はい。", 1.0, 1.2),  # shorter than a second: lengthened up to the next speech
            Speech(name="佐藤花子", seat=3, text="質問します。" * 10, start=1.5, end=12.0),
            chair("そこまで。", 10.0, 11.0),  # overlaps the speech before
            chair("散会します。", 19.8, 25.0),  # runs past the end of the recording
        ),
        duration=20.0,
    )
    cues = [
        (s.start.total_seconds(), s.end.total_seconds(), s.content) for s in srt.parse(render_srt(document).decode())
    ]
    check_cues(cues, 20.0)
    assert cues[0][:2] == (1.0, 1.5)
    assert cues[-1][1] == 20.0


def test_cue_invariants_on_random_meetings():
    """Overlapping, out-of-order, too short and too long speeches, some past the end of the recording."""
    rng = random.Random(7)
    sentences = ["はい。", "ただいまから会議を開きます。", "本案は原案のとおり可決されました。", "異議なしと認めます。"]
    for _ in range(200):
        duration = rng.uniform(5, 120)
        items = []
        for _ in range(rng.randint(1, 12)):
            start = rng.uniform(0, duration * 1.1)
            text = "".join(rng.choice(sentences) for _ in range(rng.randint(1, 8)))
            items.append(Speech(name="山田太郎", role="議長", text=text, start=start, end=start + rng.uniform(0, 30)))
        document = dataclasses.replace(sample_document(), items=tuple(items), duration=duration)
        subtitles = list(srt.parse(render_srt(document).decode("utf-8")))
        previous_end = 0.0
        for subtitle in subtitles:
            start, end = subtitle.start.total_seconds(), subtitle.end.total_seconds()
            assert previous_end <= start < end <= duration
            previous_end = end


def test_vtt():
    document = sample_document()
    captions = webvtt.from_buffer(io.StringIO(render_vtt(document).decode("utf-8")))
    cues = [(_seconds(c.start), _seconds(c.end), c.text) for c in captions]
    check_cues(cues, document.duration)
    assert cues[0][2].startswith("（議長）")
    srt_cues = list(srt.parse(render_srt(document).decode("utf-8")))
    assert [text for _, _, text in cues] == [s.content for s in srt_cues]


def _seconds(timestamp: str) -> float:
    hours, minutes, seconds = timestamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


# ---------------------------------------------------------------- JSON and CSV


def test_json_matches_schema():
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    for finalized in (False, True):
        data = json.loads(render_json(sample_document(finalized=finalized)))
        validator.validate(data)
    record = data["meetingRecord"]
    assert (record["nameOfMeeting"], record["session"], record["issue"], record["date"]) == (
        "定例会",
        4,
        "第２号",
        "2025-12-02",
    )
    assert record["assembly"] == "大磯町議会" and record["title"] == TITLE
    speeches = record["speechRecord"]
    assert [s["speechOrder"] for s in speeches] == list(range(1, len(speeches) + 1))
    question = speeches[5]
    assert question["speaker"] == "佐藤花子" and question["speakerYomi"] == "サトウハナコ"
    assert (question["speakerPosition"], question["speakerRole"], question["speakerGroup"]) == (
        "３番",
        "議員",
        "おおいそ未来",
    )
    assert question["speech"].startswith("○３番（佐藤花子君）\u3000３番、佐藤花子です。")
    assert (question["startTime"], question["endTime"]) == (71.0, 80.0)
    assert speeches[3]["speakerRole"] == "説明員" and speeches[3]["speakerYomi"] == "イケダヤスヒロ"
    assert record["notes"][0] == {
        "afterSpeechOrder": 0, "type": "timeMark", "text": "午前１０時００分開議", "time": "10:00",
        "startTime": None, "endTime": None,
    }  # fmt: skip
    invalid = dict(data, meetingRecord=dict(record, speechRecord=[dict(question, speechOrder=0)]))
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(invalid)


def test_csv_round_trip():
    document = sample_document()
    data = render_csv(document)
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert tuple(rows[0]) == CSV_FIELDS
    assert len(rows) == len(document.speeches)
    json_speeches = json.loads(render_json(document))["meetingRecord"]["speechRecord"]
    for row, speech in zip(rows, json_speeches, strict=True):
        assert row["speech"] == speech["speech"]
        assert row["speaker"] == speech["speaker"]
        assert row["speechOrder"] == str(speech["speechOrder"])
    mayor = rows[3]
    assert "\n" in mayor["speech"]  # the two paragraphs stay in one cell
    assert (mayor["assembly"], mayor["issue"], mayor["date"], mayor["seatNumber"]) == (
        "大磯町議会",
        "第２号",
        "2025-12-02",
        "",
    )


# ---------------------------------------------------------------- registry


def test_formats_registry():
    assert list(FORMATS) == ["docx", "txt", "srt", "vtt", "json", "csv"]  # the order the page lists them
    document = sample_document()
    for key, fmt in FORMATS.items():
        assert fmt.key == key and fmt.extension == f".{key}" and "/" in fmt.mime_type
        assert fmt.label.strip() and fmt.label != key
        data = fmt.render(document, None)
        assert isinstance(data, bytes) and data
    assert len({fmt.label for fmt in FORMATS.values()}) == len(FORMATS)
