"""The 会議録 as a list of styled blocks, shared by the Word and the plain-text export.

A block names the template style it is printed in (``Block.style``) and carries its text in parts (the cells of a
roster line, the label and value of a header field); each renderer lays the parts out its own way: tabs and styles in
Word, full-width spaces in text.

The body follows the print convention of the header: with ``NotationOptions.full_width_digits`` the digits of speeches
and stage notes are made full-width here (``notation.body_text``), so Word and text agree. Captions (SRT/VTT) and open
data (JSON/CSV) do not use these blocks and keep the stored text as it is: they are data, read by programs and
subtitle players, where 「3番」 and 「３番」 would be different strings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from exports.document import AgendaItem, MinutesDocument, Person, SpeakerKind, Speech, StageNote, TimeMark
from exports.notation import (
    NotationOptions,
    body_text,
    date_text,
    digits,
    issue_text,
    meeting_title,
    person_name,
    seat_text,
    speaker_text,
    speech_paragraphs,
    stage_note_text,
    time_mark_text,
    time_text,
)

DRAFT_SUFFIX = "（案）"
DRAFT_MARK = "案"
ROLE_COLUMN_CHARS = 8  # officials with a longer 職名 are listed one to a line


class Style(StrEnum):
    """Names of the paragraph and character styles of the Word template."""

    TITLE = "会議録タイトル"
    RULE = "区切り線"
    HEADING = "見出し項目"
    FIELD = "項目"
    CONTENT = "項目内容"
    ROSTER = "名簿"
    ROLE_ROSTER = "役職名簿"
    AGENDA = "日程"
    SPEECH = "発言本文"
    SPEECH_CONTINUED = "発言続き"
    SPEAKER = "発言者"  # character style of the speaker at the start of a 発言本文 paragraph
    STAGE_NOTE = "ト書き"
    TIME_MARK = "時刻"
    DRAFT = "案表示"  # header paragraph of a draft
    PAGE_NUMBER = "ページ番号"  # footer paragraph (its PAGE field lives in the template)


@dataclass(frozen=True)
class Block:
    style: Style
    parts: tuple[str, ...] = ()
    speaker: str = ""  # SPEECH blocks: ○議長（山田太郎君）, printed before parts[0] with the speaker separator


def title_text(document: MinutesDocument, notation: NotationOptions) -> str:
    """The title as printed, with （案） for a draft."""
    title = meeting_title(document, notation)
    return title if document.finalized else f"{title}{DRAFT_SUFFIX}"


def draft_mark(document: MinutesDocument, notation: NotationOptions) -> str:
    """The page-header mark of a draft (案, or 案（第２版）), "" for a finalized document."""
    if document.finalized:
        return ""
    return DRAFT_MARK if document.version <= 1 else f"{DRAFT_MARK}（第{digits(document.version, notation)}版）"


def _when(moment: dt.datetime, notation: NotationOptions) -> str:
    return f"{date_text(moment.date(), notation, weekday=False)}\u3000{time_text(moment, notation)}"


def _count(people: tuple[Person, ...], notation: NotationOptions) -> str:
    return f"（{digits(len(people), notation)}名）" if people else "（なし）"


def _pairs(cells: list[tuple[str, str]]) -> list[tuple[str, ...]]:
    return [cells[i] + (cells[i + 1] if i + 1 < len(cells) else ()) for i in range(0, len(cells), 2)]


def _members(people: tuple[Person, ...], notation: NotationOptions) -> list[Block]:
    cells = [
        (seat_text(p.seat, notation) if p.seat is not None else "", person_name(p, SpeakerKind.MEMBER, notation))
        for p in people
    ]
    return [Block(Style.ROSTER, row) for row in _pairs(cells)]


def _officials(people: tuple[Person, ...], kind: SpeakerKind, notation: NotationOptions) -> list[Block]:
    cells = [(p.role, person_name(p, kind, notation)) for p in people]
    if any(len(role) > ROLE_COLUMN_CHARS for role, _ in cells):
        return [Block(Style.ROLE_ROSTER, cell) for cell in cells]
    return [Block(Style.ROLE_ROSTER, row) for row in _pairs(cells)]


def _agenda(items: tuple[AgendaItem, ...], notation: NotationOptions) -> list[Block]:
    return [
        Block(Style.AGENDA, (f"日程第{digits(i.order, notation)}" if i.order is not None else "", i.bill, i.title))
        for i in items
    ]


def header_blocks(document: MinutesDocument, notation: NotationOptions) -> list[Block]:
    """Title, 招集年月日・場所・開会・閉会, the rosters, 議事日程 and 本日の会議に付した事件."""
    blocks = [Block(Style.TITLE, (title_text(document, notation),)), Block(Style.RULE)]
    fields = [("招集年月日", date_text(document.convened, notation))]
    if document.date != document.convened:
        fields.append(("会議年月日", date_text(document.date, notation)))
    if document.place:
        fields.append(("場\u3000\u3000所", document.place))
    if document.opened:
        fields.append(("開\u3000\u3000会", _when(document.opened, notation)))
    if document.closed:
        fields.append(("閉\u3000\u3000会", _when(document.closed, notation)))
    fields += list(document.extras)
    blocks += [Block(Style.FIELD, field) for field in fields]
    blocks.append(Block(Style.RULE))

    blocks.append(Block(Style.HEADING, (f"出席議員{_count(document.attendees, notation)}",)))
    blocks += _members(document.attendees, notation)
    blocks.append(Block(Style.HEADING, (f"欠席議員{_count(document.absentees, notation)}",)))
    blocks += _members(document.absentees, notation)
    if document.explainers:
        blocks.append(Block(Style.HEADING, ("説明のため出席した者",)))
        blocks += _officials(document.explainers, SpeakerKind.OFFICIAL, notation)
    if document.staff:
        blocks.append(Block(Style.HEADING, ("職務のため出席した者",)))
        blocks += _officials(document.staff, SpeakerKind.STAFF, notation)

    if document.agenda or document.business:
        blocks.append(Block(Style.RULE))
    if document.agenda:
        issue = issue_text(document, notation)
        blocks.append(Block(Style.HEADING, (f"議事日程（{issue}）" if issue else "議事日程",)))
        blocks += _agenda(document.agenda, notation)
    if document.business is None and document.agenda:
        blocks += [Block(Style.HEADING, ("本日の会議に付した事件",)), Block(Style.CONTENT, ("議事日程に同じ",))]
    elif document.business:
        blocks.append(Block(Style.HEADING, ("本日の会議に付した事件",)))
        blocks += _agenda(document.business, notation)
    blocks.append(Block(Style.RULE))
    return blocks


def proceeding_blocks(document: MinutesDocument, notation: NotationOptions) -> list[Block]:
    """The proceedings: speeches, stage notes and time marks, in order."""
    blocks: list[Block] = []
    for item in document.items:
        if isinstance(item, Speech):
            first, *rest = (body_text(line, notation) for line in speech_paragraphs(item))
            blocks.append(Block(Style.SPEECH, (first,), speaker=speaker_text(item, notation)))
            blocks += [Block(Style.SPEECH_CONTINUED, (line,)) for line in rest]
        elif isinstance(item, StageNote):
            blocks.append(Block(Style.STAGE_NOTE, (body_text(stage_note_text(item, notation), notation),)))
        elif isinstance(item, TimeMark):
            blocks.append(Block(Style.TIME_MARK, (time_mark_text(item, notation),)))
        else:
            raise TypeError(f"not a proceedings item: {item!r}")
    return blocks


def blocks(document: MinutesDocument, notation: NotationOptions) -> list[Block]:
    """The whole 会議録, in printing order."""
    return header_blocks(document, notation) + proceeding_blocks(document, notation)
