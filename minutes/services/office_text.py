"""The text of Office Open XML files (Word .docx, PowerPoint .pptx; Excel .xlsx in
:mod:`minutes.services.office_sheets`), read by streaming their XML.

The office libraries (python-docx, openpyxl, python-pptx) build a part's whole XML tree in memory: a 1.2 MB .docx whose
``word/document.xml`` unpacks to 400 MB took the shared app process to 6.5 GB. Here each XML part is fed to expat in
1 MB pieces straight from the zip and only the text is kept, so memory stays small whatever a part's size:

- the XML parts read may unpack to at most ``MAX_XML_BYTES`` in all (checked against each part's declared size before
  it is read, and counted while reading); beyond that the file is refused as too large, with the limit;
- text stops being collected once ``max_chars`` characters are kept (the rest would not be stored anyway); what is
  counted (slides, sheets, relationships, Excel's strings and styles) is capped too;
- a part with a document type declaration (entity expansion) is refused: Office never writes one.

Errors other than :class:`~minutes.errors.InputError` (a missing part, malformed XML) are the caller's to word.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Callable
from pyexpat import ParserCreate

from minutes.errors import InputError

MAX_XML_BYTES = 64 << 20  # the XML parts read from one Office file may unpack to at most this much
MAX_PARTS = 3_000  # slides or sheets in one file
MAX_RELATIONSHIPS = 100_000
_CHUNK = 1 << 20
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_STRICT_REL = "http://purl.oclc.org/ooxml/officeDocument/relationships}id"
_BLOCK_TAGS = frozenset({"Fallback", "p", "t", "r", "tab", "ptab", "br", "cr", "noBreakHyphen", "tbl", "tr", "tc"})
_Start = Callable[[str, dict], None]
_End = Callable[[str], None] | None


class Enough(Exception):
    """Raised inside a handler once the text budget is spent: the rest of the part is not read."""


NAMES: dict[str, str] = {}  # namespaced tag → local name, for the handlers' fast path


def local_name(tag: str) -> str:
    """The local name of a namespaced tag (``…/main}p`` → ``p``): Office's prefixes and namespaces vary."""
    name = NAMES.get(tag)
    if name is None:
        name = tag.rpartition("}")[2]
        if len(NAMES) < 4096:  # a hostile file may invent any number of tags
            NAMES[tag] = name
    return name


def _refuse_dtd(*_args) -> None:
    raise ValueError("XML with a document type declaration")


class OfficeReader:
    """One Office file being read: the bytes of XML read so far and the characters of text still to keep."""

    def __init__(self, archive: zipfile.ZipFile, label: str, max_chars: int) -> None:
        self.archive, self.label = archive, label
        self.names = set(archive.namelist())
        self.read = 0
        self.chars_left = max_chars

    def spend(self, count: int) -> None:
        """Count ``count`` characters as kept; stops the part being read once the budget is spent."""
        self.chars_left -= count
        if self.chars_left <= 0:
            raise Enough

    def too_many(self, count: int, what: str) -> InputError:
        return InputError(
            f"{self.label}の{what}が多すぎます（{count:,} 以上、上限 {MAX_PARTS:,}）。ファイルを分けて保存し直してから"
            "アップロードしてください。",
            f"more than {MAX_PARTS} {what}",
        )

    def too_large(self, size: int) -> InputError:
        return InputError(
            f"{self.label}の中身が大きすぎます（本文などの XML を展開すると {size / (1 << 20):,.0f} MB、上限 "
            f"{MAX_XML_BYTES >> 20} MB）。内容を複数のファイルに分けて保存し直してからアップロードしてください。",
            f"XML parts unpack to {size} bytes, over {MAX_XML_BYTES}",
        )

    def parse(self, name: str, start: _Start, end: _End = None, text: _End = None, *, always: bool = False) -> None:
        """Stream part ``name`` through expat: ``start(tag, attributes)``, ``end(tag)``, ``text(data)``, the
        handlers called directly (tags namespaced: :func:`local_name`). Skipped once the text budget is spent, unless
        ``always`` (the small structural parts)."""
        if self.chars_left <= 0 and not always:
            return
        info = self.archive.getinfo(name)
        if self.read + info.file_size > MAX_XML_BYTES:
            raise self.too_large(self.read + info.file_size)
        parser = ParserCreate(namespace_separator="}")
        parser.buffer_text = True
        parser.StartDoctypeDeclHandler = _refuse_dtd
        parser.EntityDeclHandler = _refuse_dtd
        parser.StartElementHandler = start
        if end is not None:
            parser.EndElementHandler = end
        if text is not None:
            parser.CharacterDataHandler = text
        try:
            with self.archive.open(info) as stream:
                while chunk := stream.read(_CHUNK):
                    self.read += len(chunk)
                    if self.read > MAX_XML_BYTES:
                        raise self.too_large(self.read)
                    parser.Parse(chunk, False)
                parser.Parse(b"", True)
        except Enough:
            pass

    def relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """The relationships of ``part``: id → (type, part name of the target); external targets left out."""
        folder, base = posixpath.split(part)
        rels = posixpath.join(folder, "_rels", f"{base}.rels")
        found: dict[str, tuple[str, str]] = {}
        if rels not in self.names:
            return found

        def start(tag: str, attributes: dict) -> None:
            tag = NAMES.get(tag) or local_name(tag)
            if len(found) >= MAX_RELATIONSHIPS:
                raise Enough
            if tag == "Relationship" and attributes.get("TargetMode") != "External":
                target = attributes.get("Target", "")  # relative to the part's folder, or absolute
                path = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
                path = posixpath.normpath(path)
                found[attributes.get("Id", "")] = (attributes.get("Type", ""), path)

        self.parse(rels, start, always=True)
        return found

    def main_part(self, default: str) -> str:
        for kind, target in self.relationships("").values():
            if kind.endswith("/officeDocument") and target in self.names:
                return target
        return default


def relation_id(attributes: dict) -> str:
    return attributes.get(_REL) or attributes.get(_STRICT_REL) or ""


# ---------------------------------------------------------------- paragraphs and tables (Word, PowerPoint)


class _Blocks:
    """Paragraphs and table rows of a part, as lines: a table row is one line of its cells joined by tabs, a cell's
    paragraphs joined by line breaks. Text is taken from ``t`` elements (not deleted text, field codes or the
    fallback copy of alternate content); ``tab``, ``br`` and ``cr`` inside a run become a tab and line breaks."""

    def __init__(self, reader: OfficeReader, only: Callable[[], bool] = lambda: True) -> None:
        self.reader, self.only = reader, only
        self.lines: list[str] = []
        self.paragraphs: list[list[str]] = []
        self.tables: list[tuple[list[str], list[list[str]]]] = []  # (cells of the current row, paragraphs per cell)
        self.in_text = self.in_run = self.skip = 0

    def start(self, tag: str, attributes: dict) -> None:
        tag = NAMES.get(tag) or local_name(tag)
        if tag not in _BLOCK_TAGS:
            return
        if tag == "Fallback":
            self.skip += 1
        if self.skip:
            return
        if tag == "p":
            self.paragraphs.append([])
        elif tag == "t":
            self.in_text += 1
        elif tag == "r":
            self.in_run += 1
        elif tag in ("tab", "ptab", "br", "cr", "noBreakHyphen") and self.in_run and self.paragraphs:
            self.add({"br": "\n", "cr": "\n", "noBreakHyphen": "-"}.get(tag, "\t"))
        elif tag == "tbl":
            self.tables.append(([], []))
        elif tag == "tr" and self.tables:
            self.tables[-1][0].clear()
        elif tag == "tc" and self.tables:
            self.tables[-1][1].append([])

    def end(self, tag: str) -> None:
        tag = NAMES.get(tag) or local_name(tag)
        if tag not in _BLOCK_TAGS:
            return
        if tag == "Fallback":
            self.skip -= 1
            return
        if self.skip:
            return
        if tag == "t":
            self.in_text -= 1
        elif tag == "r":
            self.in_run -= 1
        elif tag == "p" and self.paragraphs:
            line = "".join(self.paragraphs.pop())
            if self.only():
                self._line(line)
            self.reader.spend(1)  # a line break, even for an empty paragraph: millions of them are no free ride
        elif tag == "tc" and self.tables and self.tables[-1][1]:
            cells, paragraphs = self.tables[-1]
            cells.append("\n".join(paragraphs.pop()))
        elif tag == "tr" and self.tables:
            row = "\t".join(self.tables[-1][0])
            table = self.tables.pop()
            self._line(row)
            self.tables.append(table)
            self.reader.spend(1)
        elif tag == "tbl" and self.tables:
            self.tables.pop()

    def _line(self, line: str) -> None:
        """A finished paragraph or row: into the enclosing table cell, else a line of its own (blank lines and
        empty rows in a row of their kind kept as one)."""
        if self.tables and self.tables[-1][1]:
            self.tables[-1][1][-1].append(line)
        elif line.strip("\t") or (self.lines and self.lines[-1]):  # runs of empty lines kept as one
            self.lines.append(line)

    def text(self, data: str) -> None:
        if self.in_text and self.paragraphs and not self.skip:
            self.add(data)

    def flush(self) -> list[str]:
        """The lines, with what was still open when reading stopped at the text budget."""
        while self.paragraphs:
            self.lines.append("".join(self.paragraphs.pop(0)))
        return self.lines

    def add(self, data: str) -> None:
        self.paragraphs[-1].append(data)
        self.reader.spend(len(data))


def docx_pages(archive: zipfile.ZipFile, label: str, max_chars: int) -> list[tuple[str, str]]:
    """The body of a Word document as one page: (label, text)."""
    reader = OfficeReader(archive, label, max_chars)
    blocks = _Blocks(reader)
    reader.parse(reader.main_part("word/document.xml"), blocks.start, blocks.end, blocks.text)
    return [("本文", "\n".join(blocks.flush()).strip())]


def pptx_pages(archive: zipfile.ZipFile, label: str, max_chars: int) -> list[tuple[str, str]]:
    """Every slide of a presentation, in order, with its notes: (label, text)."""
    reader = OfficeReader(archive, label, max_chars)
    main = reader.main_part("ppt/presentation.xml")
    targets = reader.relationships(main)
    order = _listed(reader, main, "sldId", "スライド")
    pages = []
    for index, relation in enumerate(order):
        kind, slide = targets.get(relation, ("", ""))
        lines: list[str] = []
        if kind.endswith("/slide") and slide in reader.names:
            blocks = _Blocks(reader)
            reader.parse(slide, blocks.start, blocks.end, blocks.text)
            lines = blocks.flush()
            notes = [t for k, t in reader.relationships(slide).values() if k.endswith("/notesSlide")]
            if notes and notes[0] in reader.names:
                text = _notes(reader, notes[0])
                if text:
                    lines.append(f"（ノート）{text}")
        pages.append((f"スライド{index + 1}", "\n".join(line for line in lines if line.strip())))
    return pages


def _notes(reader: OfficeReader, part: str) -> str:
    """The text of a notes slide's body placeholder (not the slide image or the slide number)."""
    body = [False]

    def start(tag: str, attributes: dict) -> None:
        tag = NAMES.get(tag) or local_name(tag)
        if tag == "sp":
            body[0] = False
        elif tag == "ph":
            body[0] = attributes.get("type") == "body"
        blocks.start(tag, attributes)

    blocks = _Blocks(reader, only=lambda: body[0])
    reader.parse(part, start, blocks.end, blocks.text)
    return "\n".join(blocks.lines).strip()


def _listed(reader: OfficeReader, part: str, tag: str, what: str) -> list[str]:
    """The relationship ids of the ``tag`` elements of ``part`` (slides of a presentation), at most ``MAX_PARTS``."""
    found: list[str] = []

    def start(name: str, attributes: dict) -> None:
        if (NAMES.get(name) or local_name(name)) == tag:
            if len(found) >= MAX_PARTS:
                raise reader.too_many(len(found) + 1, what)
            found.append(relation_id(attributes))

    reader.parse(part, start, always=True)
    return found
