"""Word 会議録 (.docx). All formatting comes from the named styles of a template (``exports/templates/kaigiroku.docx``,
made by ``make_template.py`` next to it); this module only picks styles and writes text.

python-docx silently falls back to the default style when a style is missing, so the template is checked when it is
loaded and ``TemplateError`` lists what is missing.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

from exports.document import MinutesDocument
from exports.layout import ROLE_SPREAD_CHARS, Block, Style, blocks, draft_mark, title_text
from exports.notation import NotationOptions
from exports.options import ExportOptions
from minutes.errors import MinutesError

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

TEMPLATE = Path(__file__).resolve().parent / "templates" / "kaigiroku.docx"
STYLES: frozenset[str] = frozenset(style.value for style in Style)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class TemplateError(MinutesError):
    """The Word template cannot be used (missing, not a .docx, or without the styles the export needs)."""


def load_template(path: Path | None = None):
    """The template as a python-docx ``Document``, after checking it has every style in ``STYLES``."""
    import docx  # a heavy import, only needed for this format

    path = Path(path) if path else TEMPLATE
    try:
        document = docx.Document(str(path))
    except Exception as error:  # python-docx raises several types for a missing or broken package
        raise TemplateError(
            f"会議録のWordテンプレート {path} を開けません。テンプレートを作り直してください"
            "（.venv/bin/python exports/templates/make_template.py）。",
            detail=f"{type(error).__name__}: {error}",
        ) from error
    present = {style.name for style in document.styles}
    missing = sorted(STYLES - present)
    if missing:
        raise TemplateError(
            f"会議録のWordテンプレート {path.name} に次のスタイルがありません: {'、'.join(missing)}。"
            "Wordでこの名前のスタイルを追加するか、テンプレートを作り直してください。",
            detail=f"missing styles: {', '.join(missing)}",
        )
    return document


def _clear_body(document) -> None:
    body = document.element.body
    for child in list(body):
        if child.tag.rsplit("}", 1)[-1] != "sectPr":
            body.remove(child)


def _font_size(document, style_name: str) -> float:
    """The font size (points) a paragraph style prints in: its own, its base style's, or the document default."""
    style = document.styles[style_name]
    while style is not None:
        if style.font.size is not None:
            return style.font.size.pt
        style = style.base_style
    size = document.styles.element.find(f"{_W}docDefaults/{_W}rPrDefault/{_W}rPr/{_W}sz")
    return int(size.get(f"{_W}val")) / 2 if size is not None else 10.5


def _spread(paragraph, text: str, width: int, char_points: float) -> None:
    """``text`` spread evenly over ``width`` characters (Word's 均等割り付け), by character spacing after every
    character but the last. Word's own ``w:fitText`` would do it, but LibreOffice ignores it; spacing prints the same
    in both. The spacing depends on the length of the text, so no template style can hold it."""
    if not 1 < len(text) < width:
        paragraph.add_run(text)
        return
    properties = paragraph.add_run(text[:-1])._r.get_or_add_rPr()  # empty: the new element is its only child
    spacing = properties.makeelement(f"{_W}spacing", {})
    spacing.set(f"{_W}val", str(round((width - len(text)) * char_points * 20 / (len(text) - 1))))  # 1/20 pt
    properties.append(spacing)
    paragraph.add_run(text[-1])


def _write(document, block: Block, notation: NotationOptions) -> None:
    style = block.style
    if style is Style.SPEECH:
        paragraph = document.add_paragraph(style=style.value)
        paragraph.add_run(block.speaker, style=Style.SPEAKER.value)
        paragraph.add_run(notation.speaker_separator + block.parts[0])
    elif style is Style.ROSTER:
        document.add_paragraph("\t" + "\t".join(block.parts), style=style.value)
    elif style is Style.ROLE_ROSTER:
        paragraph = document.add_paragraph(style=style.value)
        char_points = _font_size(document, style.value)
        for index, part in enumerate(block.parts):
            if index:
                paragraph.add_run("\t")
            if index % 2 == 0:  # a 職名
                _spread(paragraph, part, ROLE_SPREAD_CHARS, char_points)
            else:
                paragraph.add_run(part)
    elif style is Style.SIGNATURE:
        # label<tab>name, or label<tab><tab> where the second tab's leader (in the template) is the line to sign on
        label, name = block.parts
        document.add_paragraph(f"{label}\t{name}" if name else f"{label}\t\t", style=style.value)
    else:
        document.add_paragraph("\t".join(block.parts), style=style.value)


def _mark_draft(document, mark: str) -> None:
    """The mark in the header of every page (also the first-page and even-page headers when a template has them)."""
    for section in document.sections:
        headers = [section.header]
        if section.different_first_page_header_footer:
            headers.append(section.first_page_header)
        if document.settings.odd_and_even_pages_header_footer:
            headers.append(section.even_page_header)
        for header in headers:
            header.is_linked_to_previous = False
            paragraph = header.paragraphs[0] if header.paragraphs else header.add_paragraph()
            paragraph.style = document.styles[Style.DRAFT.value]
            paragraph.text = mark


def _properties(document, record: MinutesDocument, title: str) -> None:
    properties = document.core_properties
    properties.title = title
    properties.subject = record.assembly
    properties.keywords = "会議録"
    properties.author = "minutes"
    properties.last_modified_by = record.finalized_by or "minutes"
    properties.revision = max(1, record.version)
    properties.category = "確定" if record.finalized else "案"
    moment = record.finalized_at or dt.datetime.combine(record.date, dt.time())
    properties.created = properties.modified = moment.replace(tzinfo=None)


def _stable_zip(data: bytes) -> bytes:
    """The same package with fixed member timestamps, so the same record gives the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            member = zipfile.ZipInfo(info.filename, _ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(member, source.read(info.filename))
    return out.getvalue()


def render_docx(document: MinutesDocument, options: ExportOptions | None = None) -> bytes:
    """The 会議録 as a Word document."""
    options = options or ExportOptions()
    notation = options.notation
    word = load_template(options.template)
    _clear_body(word)
    for block in blocks(document, notation):
        _write(word, block, notation)
    if not document.finalized:
        _mark_draft(word, draft_mark(document, notation))
    _properties(word, document, title_text(document, notation))
    buffer = io.BytesIO()
    word.save(buffer)
    return _stable_zip(buffer.getvalue())
