"""The roster (名簿) as a CSV file a clerk keeps in a spreadsheet: reading it row by row with every problem named by
its row number, and writing it back in the same form. Pure functions; ``PeopleService.import_csv`` applies what is
read, all or nothing.

The header (the first row) names the columns, in any order; only 氏名 is required::

    氏名,よみ,区分,議席番号,会派,職名,就任日,退任日,状態
    高橋一郎,たかはしいちろう,議員,10,みらい会,議長,2023/05/01,,
    佐藤花子,さとうはなこ,議員,5,,,,,
    鈴木健二,すずきけんじ,説明員,,,町長,令和5年4月1日,,
    田中次郎,たなかじろう,説明員,,,総務課長,2023/04/01,2024/03/31,
    田中次郎,,,,,企画課長,2024/04/01,,

One row per person, or one row per title of a person: rows with the same 氏名 are the same person (their よみ, 区分,
議席番号, 会派, 状態 may be given on any one of them, and must not disagree). 区分 is 議員, 説明員, 職員 or その他
(empty: 議員 for a new person); 状態 is 在任 or 退任 (empty: 在任). 就任日・退任日 are a title's period (empty: since
ever / still held), typed as a clerk types a day (2024/04/01, 令和6年4月1日, R6.4.1). A column left out of the file
leaves that field of people already on the roster as it is; a column that is there but empty on every row of a
person clears the field (状態: 在任); 備考 is read and ignored; any other column is refused, so that a misspelt one is
not silently dropped. UTF-8 (with or without BOM, as Excel's 「CSV UTF-8」) or Shift_JIS
(Excel's 「CSV」 on Japanese Windows).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from exports.csv_safety import FORMULA_STARTS, safe_row
from minutes import clock
from minutes.services.rosters import clean_name
from minutes.services.views import SPEAKER_KINDS

HEADER = ("氏名", "よみ", "区分", "議席番号", "会派", "職名", "就任日", "退任日", "状態")
IGNORED = ("備考",)
IN_OFFICE, RETIRED = "在任", "退任"
_PERSON_COLUMNS = {"よみ": "yomi", "区分": "kind", "議席番号": "seat", "会派": "group", "状態": "retired"}
_FIELD_LABELS = {value: key for key, value in _PERSON_COLUMNS.items()}
MAX_BYTES = 2 * 1024 * 1024  # a roster is a few hundred rows at most


@dataclass(frozen=True)
class TitleRow:
    line: int  # the row number in the file (the header is row 1)
    title: str
    starts: dt.date | None
    ends: dt.date | None


@dataclass
class PersonRows:
    """One person as the file gives them: the fields of the columns present, and their titles."""

    name: str
    line: int  # the first row that names them
    fields: dict = field(default_factory=dict)  # yomi, kind, seat, group, retired: only the columns the file has
    titles: list[TitleRow] = field(default_factory=list)


def decode(data: bytes) -> str:
    """The file's text: UTF-8 (a BOM dropped), else Shift_JIS (CP932). ValueError (Japanese) for anything else."""
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError("CSV の文字コードを読み取れません。UTF-8 か Shift_JIS（Excel の「CSV」）で保存してください。")


def _text(cell: str | None) -> str:
    """A cell as typed; the quote this product puts before a formula-like cell when writing is taken off again."""
    text = (cell or "").strip()
    if text.startswith("'") and text[1:2] and text[1:].startswith(FORMULA_STARTS):
        text = text[1:]
    return text


def seat_number(text: str) -> int | None:
    """「5」「５」「5番」 → 5; "" → None; ValueError (Japanese) otherwise."""
    raw = unicodedata.normalize("NFKC", text).strip().removesuffix("番").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 999:
        raise ValueError(f"議席番号「{text}」は 1〜999 の整数で入力してください。")
    return int(raw)


def _person_fields(row: dict[str, str]) -> dict:
    """The person's fields given on this row (empty cells give nothing: another row of the person may give them)."""
    values: dict = {}
    for column, key in _PERSON_COLUMNS.items():
        text = _text(row.get(column))
        if not text:
            continue
        if key == "kind" and text not in SPEAKER_KINDS:
            raise ValueError(f"区分「{text}」は {'・'.join(SPEAKER_KINDS)} のどれかにしてください。")
        if key == "retired" and text not in (IN_OFFICE, RETIRED):
            raise ValueError(f"状態「{text}」は「{IN_OFFICE}」か「{RETIRED}」にしてください（空欄は在任）。")
        values[key] = seat_number(text) if key == "seat" else (text == RETIRED if key == "retired" else text[:100])
    return values


# what a column present in the file but empty on every row of a person means
_EMPTY = {"yomi": "", "seat": None, "group": "", "retired": False}


def _title(row: dict[str, str], line: int) -> TitleRow | None:
    title = _text(row.get("職名"))
    days = []
    for column in ("就任日", "退任日"):
        text = _text(row.get(column))
        try:
            days.append(clock.parse_day(text) if text else None)
        except ValueError as error:
            raise ValueError(f"{column}: {error}") from None
    starts, ends = days
    if not title:
        if starts or ends:
            raise ValueError("就任日・退任日があるのに職名がありません。")
        return None
    if len(title) > 100:
        raise ValueError("職名が長すぎます（100 文字まで）。")
    if starts and ends and ends < starts:
        raise ValueError(f"退任日（{ends:%Y/%m/%d}）が就任日（{starts:%Y/%m/%d}）より前です。")
    return TitleRow(line, title, starts, ends)


def _header(reader) -> list[str]:
    header = [unicodedata.normalize("NFKC", cell).strip() for cell in next(reader, [])]
    if "氏名" not in header:
        raise ValueError(f"1 行目（見出し）に「氏名」の列がありません。見出しは {','.join(HEADER)} です。")
    unknown = [cell for cell in header if cell and cell not in HEADER and cell not in IGNORED]
    if unknown:
        raise ValueError(
            f"1 行目（見出し）の「{'」「'.join(unknown)}」は名簿の列ではありません。使える列は {','.join(HEADER)}"
            f"（と {','.join(IGNORED)}）です。"
        )
    repeated = sorted({cell for cell in header if cell and header.count(cell) > 1})
    if repeated:
        raise ValueError(f"1 行目（見出し）に「{'」「'.join(repeated)}」が 2 回あります。")
    return header


def read_csv(data: bytes) -> tuple[list[PersonRows], list[str]]:
    """The people of a roster file in the order they first appear, and every problem found (「3 行目: …」); the
    people are to be used only when there is no problem."""
    if len(data) > MAX_BYTES:
        return [], [f"ファイルが大きすぎます（{MAX_BYTES // (1024 * 1024)} MB まで）。名簿の CSV か確かめてください。"]
    try:
        reader = csv.reader(io.StringIO(decode(data), newline=""))
        header = _header(reader)
    except (ValueError, csv.Error) as error:
        return [], [str(error)]
    people: dict[str, PersonRows] = {}
    problems: list[str] = []
    for line, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header) :]):
            problems.append(f'{line} 行目: 見出しより列が多くあります（値にカンマがあるときは " で囲んでください）。')
            continue
        row = {column: cells[i] if i < len(cells) else "" for i, column in enumerate(header) if column}
        name = clean_name(_text(row.get("氏名")))
        try:
            if not name:
                raise ValueError("氏名がありません。")
            if len(name) > 100:
                raise ValueError("氏名が長すぎます（100 文字まで）。")
            fields, title = _person_fields(row), _title(row, line)
        except ValueError as error:
            problems.append(f"{line} 行目: {error}")
            continue
        person = people.setdefault(name, PersonRows(name, line))
        for key, value in fields.items():
            if key in person.fields and person.fields[key] != value:
                problems.append(f"{line} 行目: 「{name}」の{_FIELD_LABELS[key]}が {person.line} 行目と違います。")
            person.fields.setdefault(key, value)
        if title is not None:
            person.titles.append(title)
    present = {_PERSON_COLUMNS[column] for column in header if column in _PERSON_COLUMNS}
    for person in people.values():
        for key in present & set(_EMPTY):
            person.fields.setdefault(key, _EMPTY[key])
    if not people and not problems:
        problems.append("名簿の行がありません（1 行目は見出し、2 行目から 1 行に 1 人か 1 つの職名です）。")
    return list(people.values()), problems


def write_csv(rows: Iterable[Sequence[object]]) -> bytes:
    """The roster file: :data:`HEADER` and ``rows`` (its cells in that order), UTF-8 with a BOM so that Excel reads
    the Japanese; cells a spreadsheet would take for a formula get a leading quote (read back by :func:`read_csv`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(safe_row(["" if value is None else value for value in row]))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
