"""The text of Excel workbooks (.xlsx), read by streaming their XML with :class:`office_text.OfficeReader` (its limits
apply): every worksheet in order, its rows as lines of tab-separated values the way openpyxl reads their values
(shared strings without their phonetic readings, numbers, dates in date-formatted cells, TRUE/FALSE).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from array import array

from minutes.services.office_text import MAX_PARTS, NAMES, Enough, OfficeReader, local_name, relation_id

MAX_SHARED_STRINGS = 5_000_000
MAX_COLUMNS = 16_384  # Excel's last column, XFD
MAX_STYLES = 100_000  # cell styles and number formats of a workbook (Excel allows 64,000)
# built-in number formats that show a date or a time (14–22, 45–47; the CJK ones 27–36 and 50–58)
_DATE_FORMATS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
_DATE_CODE = re.compile(r"[dmyhsge]", re.IGNORECASE)
_CODE_NOISE = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.')


def xlsx_pages(archive: zipfile.ZipFile, label: str, max_chars: int) -> list[tuple[str, str]]:
    """Every worksheet of a workbook, in order: (シート「name」, rows as lines of tab-separated values)."""
    reader = OfficeReader(archive, label, max_chars)
    main = reader.main_part("xl/workbook.xml")
    targets = reader.relationships(main)
    sheets: list[tuple[str, str]] = []
    date1904 = [False]

    def workbook(tag: str, attributes: dict) -> None:
        tag = NAMES.get(tag) or local_name(tag)
        if tag == "sheet":
            if len(sheets) >= MAX_PARTS:
                raise reader.too_many(len(sheets) + 1, "シート")
            sheets.append((attributes.get("name", ""), relation_id(attributes)))
        elif tag == "workbookPr":
            date1904[0] = attributes.get("date1904", "0").lower() in ("1", "true")

    reader.parse(main, workbook, always=True)
    parts = {kind.rpartition("/")[2]: target for kind, target in targets.values()}
    shared = _shared_strings(reader, parts.get("sharedStrings"))
    dates = _date_styles(reader, parts.get("styles"))
    pages = []
    for name, relation in sheets:
        kind, part = targets.get(relation, ("", ""))
        if not kind.endswith("/worksheet"):
            continue  # a chart sheet has no cells
        rows = _Rows(reader, shared, dates, date1904[0])
        if part in reader.names:
            reader.parse(part, rows.start, rows.end, rows.text)
        pages.append((f"シート「{name}」", "\n".join(rows.flush())))
    return pages


class _Strings:
    """A workbook's shared strings as one text and where each ends: a million small ``str`` objects would take
    hundreds of MB."""

    def __init__(self) -> None:
        self.buffer: io.StringIO | None = io.StringIO()
        self.ends = array("Q")
        self.text = ""

    def append(self, value: str) -> None:
        self.buffer.write(value)
        self.ends.append((self.ends[-1] if self.ends else 0) + len(value))

    def close(self) -> _Strings:
        self.text, self.buffer = self.buffer.getvalue(), None
        return self

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, index: int) -> str:
        return self.text[self.ends[index - 1] if index else 0 : self.ends[index]]


def _shared_strings(reader: OfficeReader, part: str | None) -> _Strings:
    """The workbook's shared strings (without their phonetic readings), at most ``MAX_SHARED_STRINGS`` and the text
    budget in all."""
    strings = _Strings()
    if part is None or part not in reader.names:
        return strings.close()
    state = {"text": 0, "phonetic": 0, "parts": [], "size": 0, "left": reader.chars_left}

    def start(tag: str, attributes: dict) -> None:
        tag = NAMES.get(tag) or local_name(tag)
        if tag == "si":
            state["parts"], state["size"] = [], 0
        elif tag == "t":
            state["text"] += 1
        elif tag == "rPh":
            state["phonetic"] += 1

    def end(tag: str) -> None:
        tag = NAMES.get(tag) or local_name(tag)
        if tag == "si":
            if len(strings) >= MAX_SHARED_STRINGS:
                raise Enough
            value = "".join(state["parts"]) if state["left"] > 0 else ""
            state["left"] -= len(value)
            strings.append(value)
        elif tag == "t":
            state["text"] -= 1
        elif tag == "rPh":
            state["phonetic"] -= 1

    def text(data: str) -> None:
        if state["text"] and not state["phonetic"] and state["size"] < state["left"]:
            state["parts"].append(data)
            state["size"] += len(data)

    reader.parse(part, start, end, text, always=True)
    return strings.close()


def _date_styles(reader: OfficeReader, part: str | None) -> list[bool]:
    """For each cell style (``s`` of a cell), whether its number format shows a date."""
    if part is None or part not in reader.names:
        return []
    custom: dict[int, str] = {}
    formats: list[int] = []
    inside = [False]

    def start(tag: str, attributes: dict) -> None:
        tag = NAMES.get(tag) or local_name(tag)
        if len(formats) >= MAX_STYLES or len(custom) >= MAX_STYLES:
            raise Enough
        if tag == "numFmt" and attributes.get("numFmtId", "").isdigit():
            custom[int(attributes["numFmtId"])] = attributes.get("formatCode", "")
        elif tag == "cellXfs":
            inside[0] = True
        elif tag == "xf" and inside[0]:
            value = attributes.get("numFmtId", "0")
            formats.append(int(value) if value.isdigit() else 0)

    def end(tag: str) -> None:
        tag = NAMES.get(tag) or local_name(tag)
        if tag == "cellXfs":
            inside[0] = False

    reader.parse(part, start, end, always=True)
    shows_date = {number: bool(_DATE_CODE.search(_CODE_NOISE.sub("", code))) for number, code in custom.items()}
    return [shows_date.get(number, number in _DATE_FORMATS) for number in formats]


def _column(reference: str) -> int:
    """1-based column of a cell reference (``AB12`` → 28); 0 when there is none."""
    number = 0
    for ch in reference:
        if not "A" <= ch <= "Z":
            break
        number = number * 26 + ord(ch) - 64
    return number


class _Rows:
    """The rows of one worksheet as lines of tab-separated values, the way openpyxl's values read."""

    def __init__(self, reader: OfficeReader, shared: _Strings, dates: list[bool], date1904: bool) -> None:
        self.reader, self.shared, self.dates = reader, shared, dates
        self.epoch = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
        self.lines: list[str] = []
        self.row: dict[int, str] = {}
        self.column, self.kind, self.style = 0, "n", 0
        self.parts: list[str] = []
        self.collect = self.phonetic = self.size = 0

    def start(self, tag: str, attributes: dict) -> None:
        tag = NAMES.get(tag) or local_name(tag)
        if tag == "row":
            self.row, self.column = {}, 0
        elif tag == "c":
            self.column = _column(attributes.get("r", "")) or self.column + 1
            self.kind = attributes.get("t", "n")
            style = attributes.get("s", "0")
            self.style = int(style) if style.isdigit() else 0
            self.parts, self.size = [], 0
        elif tag == "v" or (tag == "t" and self.kind == "inlineStr"):
            self.collect += 1
        elif tag == "rPh":
            self.phonetic += 1

    def end(self, tag: str) -> None:
        tag = NAMES.get(tag) or local_name(tag)
        if tag in ("v", "t"):
            self.collect = max(0, self.collect - 1)
        elif tag == "rPh":
            self.phonetic -= 1
        elif tag == "c" and 0 < self.column <= MAX_COLUMNS:
            if value := self._value("".join(self.parts)):
                self.row[self.column] = value
        elif tag == "row" and self.row:
            self.lines.append(self._line())
            self.reader.spend(len(self.lines[-1]) + 1)

    def _line(self) -> str:
        line = "\t".join(self.row.get(c, "") for c in range(1, max(self.row) + 1))
        self.row = {}
        return line

    def flush(self) -> list[str]:
        """The lines, with the row still open when reading stopped at the text budget."""
        if self.row:
            self.lines.append(self._line())
        return self.lines

    def text(self, data: str) -> None:
        if self.collect and not self.phonetic and self.size < self.reader.chars_left:
            self.parts.append(data)
            self.size += len(data)

    def _value(self, raw: str) -> str:
        if self.kind == "s":
            index = int(raw) if raw.strip().isdigit() else -1
            return self.shared[index] if 0 <= index < len(self.shared) else ""
        if self.kind == "b":
            return "TRUE" if raw.strip() == "1" else "FALSE" if raw.strip() == "0" else raw
        if self.kind not in ("n", "") or not raw:
            return raw  # str, inlineStr, e (an error such as #DIV/0!), d (an ISO date)
        try:
            number = float(raw) if any(ch in raw for ch in ".eE") else int(raw)
        except ValueError:
            return raw
        if 0 <= self.style < len(self.dates) and self.dates[self.style] and 0 <= number < 2_958_466:
            moment = self.epoch + dt.timedelta(days=number)
            return moment.date().isoformat() if moment.time() == dt.time() else moment.isoformat(" ", "seconds")
        return str(number)
