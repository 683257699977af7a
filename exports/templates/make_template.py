"""Generates ``kaigiroku.docx``, the Word template that holds ALL the formatting of the 会議録 export.

Run it again after changing a style here, and commit both files:

    .venv/bin/python exports/templates/make_template.py            # writes exports/templates/kaigiroku.docx

The code in ``exports/docx.py`` only picks styles by name (``STYLES`` there lists them). An assembly with its own
house layout can edit the generated file in Word instead (keep the style names) and pass it as the template.

Fonts. The styles name "Noto Serif CJK JP" (明朝) and "Noto Sans CJK JP" (ゴシック), which LibreOffice finds on Linux
(Debian: fonts-noto-cjk). LibreOffice does not read ``w:altName`` and does not map ＭＳ 明朝 to Noto, so naming
ＭＳ 明朝 would print in a fallback Gothic there. For Word on Windows, where Noto is usually not installed, the font
table gives each font an alternative name (ＭＳ 明朝 / ＭＳ ゴシック), the Shift-JIS character set and the PANOSE of
the MS fonts, which is what Word uses to substitute a missing font. ``--mincho``/``--gothic`` name other fonts
(e.g. "ＭＳ 明朝" for an all-Windows office).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from lxml import etree

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "kaigiroku.docx"

MINCHO = "Noto Serif CJK JP"
GOTHIC = "Noto Sans CJK JP"
# (alternative name for Word, PANOSE of that alternative, font family) of the 明朝 and the ゴシック font
MINCHO_ALTERNATIVE = ("ＭＳ 明朝", "02020609040205080304", "roman")
GOTHIC_ALTERNATIVE = ("ＭＳ ゴシック", "020B0609070205080204", "modern")

SIZE = 12  # pt; one full-width character is SIZE points wide
CHAR = Pt(SIZE)
LINE = Pt(21)  # exact line pitch: 32 lines on a page


def _fonts(rpr, name: str) -> None:
    """Explicit fonts for every script (theme fonts would override them, so those attributes go)."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attribute in list(fonts.attrib):
        del fonts.attrib[attribute]
    for script in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(script), name)


def _lang(rpr) -> None:
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "ja-JP")
    lang.set(qn("w:bidi"), "ar-SA")


def _defaults(document, mincho: str) -> None:
    """Document defaults: 明朝 12 pt, Japanese, no space after paragraphs, exact line pitch."""
    styles = document.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _fonts(rpr, mincho)
    for tag in ("w:sz", "w:szCs"):
        rpr.find(qn(tag)).set(qn("w:val"), str(SIZE * 2))
    _lang(rpr)
    spacing = defaults.find(qn("w:pPrDefault")).find(qn("w:pPr")).find(qn("w:spacing"))
    spacing.set(qn("w:after"), "0")
    spacing.set(qn("w:line"), str(int(LINE.pt * 20)))
    spacing.set(qn("w:lineRule"), "exact")


def _font_table(document, table: dict[str, tuple[str, str, str]]) -> None:
    part = next(rel.target_part for rel in document.part.rels.values() if rel.reltype.endswith("/fontTable"))

    root = etree.fromstring(part.blob)
    for name, (alternative, panose, family) in table.items():
        for old in root.findall(qn("w:font")):
            if old.get(qn("w:name")) in (name, alternative):
                root.remove(old)
        font = etree.SubElement(root, qn("w:font"))
        font.set(qn("w:name"), name)
        for tag, value in (
            ("w:altName", alternative),
            ("w:panose1", panose),
            ("w:charset", "80"),  # SHIFTJIS_CHARSET
            ("w:family", family),
            ("w:pitch", "variable"),
        ):
            element = etree.SubElement(font, qn(tag))
            element.set(qn("w:val"), value)
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _paragraph_style(document, name: str, style_id: str, *, base: str = "Normal", font: str | None = None):
    style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.style_id = style_id
    style.base_style = document.styles[base]
    style.quick_style = True
    if font:
        _fonts(style.element.get_or_add_rPr(), font)
    return style


def _border(style, side: str, size: int = 6, space: int = 1, color: str = "000000") -> None:
    ppr = style.element.get_or_add_pPr()
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        ppr.append(borders)
    edge = OxmlElement(f"w:{side}")
    for key, value in (("w:val", "single"), ("w:sz", str(size)), ("w:space", str(space)), ("w:color", color)):
        edge.set(qn(key), value)
    borders.append(edge)


def _styles(document, gothic: str) -> None:
    styles = document.styles
    normal = styles["Normal"]
    normal.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    normal.paragraph_format.line_spacing = LINE
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY

    title = _paragraph_style(document, "会議録タイトル", "KaigirokuTitle")
    title.font.size = Pt(15)
    title.font.bold = True
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.line_spacing = Pt(28)
    title.paragraph_format.space_after = Pt(10)
    title.paragraph_format.keep_with_next = True

    rule = _paragraph_style(document, "区切り線", "Separator")
    rule.font.size = Pt(4)
    rule.paragraph_format.line_spacing = Pt(4)
    rule.paragraph_format.space_after = Pt(10)
    _border(rule, "bottom")

    heading = _paragraph_style(document, "見出し項目", "SectionHeading", font=gothic)
    heading.paragraph_format.space_before = Pt(6)
    heading.paragraph_format.keep_with_next = True

    # 招集年月日<tab>令和７年…: label, then the value at 8 characters (会議録署名議員 fits).
    field = _paragraph_style(document, "項目", "HeaderField")
    field.paragraph_format.left_indent = CHAR * 8
    field.paragraph_format.first_line_indent = -CHAR * 8
    field.paragraph_format.tab_stops.add_tab_stop(CHAR * 8)

    content = _paragraph_style(document, "項目内容", "HeaderContent")
    content.paragraph_format.left_indent = CHAR * 2

    # Members, two to a line: <tab>１番<tab>佐藤花子君<tab>２番<tab>鈴木一郎君 (seat numbers right-aligned).
    members = _paragraph_style(document, "名簿", "Roster")
    for position, alignment in ((4, WD_TAB_ALIGNMENT.RIGHT), (5, WD_TAB_ALIGNMENT.LEFT)):
        for column in (0, 16):
            members.paragraph_format.tab_stops.add_tab_stop(CHAR * (position + column), alignment)

    # Officials and staff, two to a line: 町長<tab>中崎久雄君<tab>副町長<tab>田中一郎君.
    officials = _paragraph_style(document, "役職名簿", "RoleRoster")
    officials.paragraph_format.left_indent = CHAR * 2
    for position in (11, 19, 28):
        officials.paragraph_format.tab_stops.add_tab_stop(CHAR * position)

    # 日程第１<tab>議案第５号<tab>title, the title wrapping under itself.
    agenda = _paragraph_style(document, "日程", "AgendaItem")
    agenda.paragraph_format.left_indent = CHAR * 14
    agenda.paragraph_format.first_line_indent = -CHAR * 12
    for position in (7, 14):
        agenda.paragraph_format.tab_stops.add_tab_stop(CHAR * position)

    # ○議長（山田太郎君）　text …, continuation lines one character in.
    speech = _paragraph_style(document, "発言本文", "Speech")
    speech.paragraph_format.left_indent = CHAR
    speech.paragraph_format.first_line_indent = -CHAR

    continued = _paragraph_style(document, "発言続き", "SpeechContinued")
    continued.paragraph_format.left_indent = CHAR
    continued.paragraph_format.first_line_indent = CHAR

    speaker = styles.add_style("発言者", WD_STYLE_TYPE.CHARACTER)
    speaker.style_id = "Speaker"
    speaker.quick_style = True
    _fonts(speaker.element.get_or_add_rPr(), gothic)

    note = _paragraph_style(document, "ト書き", "StageNote")
    note.paragraph_format.left_indent = CHAR * 4

    time_mark = _paragraph_style(document, "時刻", "TimeMark")
    time_mark.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    time_mark.paragraph_format.space_before = Pt(4)
    time_mark.paragraph_format.space_after = Pt(4)

    # 地方自治法第１２３条第２項の規定によりここに署名する。 Two blank lines above, kept with the names under it.
    statement = _paragraph_style(document, "署名文", "SignatureStatement")
    statement.paragraph_format.first_line_indent = CHAR
    statement.paragraph_format.space_before = LINE * 2
    statement.paragraph_format.keep_with_next = True

    # 大磯町議会議長<tab>山田太郎 — a blank line above each for the signature and seal; a name not yet known is
    # printed as label<tab><tab>, the second tab's leader being the line to sign on.
    signature = _paragraph_style(document, "署名欄", "Signature")
    signature.paragraph_format.left_indent = CHAR * 8
    signature.paragraph_format.space_before = LINE
    signature.paragraph_format.keep_with_next = True
    signature.paragraph_format.tab_stops.add_tab_stop(CHAR * 17, WD_TAB_ALIGNMENT.LEFT)  # the name
    signature.paragraph_format.tab_stops.add_tab_stop(CHAR * 36, WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.LINES)

    draft = _paragraph_style(document, "案表示", "DraftMark", base="Header", font=gothic)
    draft.font.size = Pt(16)
    draft.font.bold = True
    draft.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
    draft.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    draft.paragraph_format.line_spacing = Pt(24)

    page = _paragraph_style(document, "ページ番号", "PageNumber", base="Footer")
    page.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    page.font.size = Pt(10.5)


def _page(document) -> None:
    """A4 portrait, margins of a printed 会議録, a header paragraph for the draft mark, page numbers in the footer."""
    section = document.sections[0]
    section.start_type = WD_SECTION.NEW_PAGE
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(30), Mm(25)
    section.left_margin, section.right_margin = Mm(25), Mm(25)
    section.header_distance, section.footer_distance = Mm(12), Mm(12)

    header = section.header
    header.is_linked_to_previous = False
    header.paragraphs[0].style = document.styles["案表示"]

    footer = section.footer
    footer.is_linked_to_previous = False
    paragraph = footer.paragraphs[0]
    paragraph.style = document.styles["ページ番号"]
    paragraph.add_run("－ ")
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), " PAGE ")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)
    paragraph.add_run(" －")


def build(output: Path = OUTPUT, *, mincho: str = MINCHO, gothic: str = GOTHIC) -> Path:
    document = Document()
    body = document.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):
            body.remove(child)
    _defaults(document, mincho)
    _font_table(document, {mincho: MINCHO_ALTERNATIVE, gothic: GOTHIC_ALTERNATIVE})
    _styles(document, gothic)
    _page(document)
    properties = document.core_properties
    properties.title = "会議録"
    properties.author = properties.last_modified_by = "minutes"
    properties.comments = "Generated by exports/templates/make_template.py"
    properties.created = properties.modified = dt.datetime(2025, 1, 1)
    properties.revision = 1
    document.save(output)
    return output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    parser.add_argument("--mincho", default=MINCHO, help="font of the text (明朝)")
    parser.add_argument("--gothic", default=GOTHIC, help="font of headings and speakers (ゴシック)")
    arguments = parser.parse_args()
    print(build(arguments.output, mincho=arguments.mincho, gothic=arguments.gothic))


if __name__ == "__main__":
    main()
