"""The 会議録 as a list of styled blocks, shared by the Word and the plain-text export.

A block names the template style it is printed in (``Block.style``) and carries its text in parts (the cells of a
roster line, the label and value of a header field); each renderer lays the parts out its own way: tabs and styles in
Word, full-width spaces in text.

The body follows the print convention of the header: with ``NotationOptions.full_width_digits`` the digits of speeches
and stage notes are made full-width here (``notation.body_text``), so Word and text agree; so are the digits a clerk
typed in the header (place, 職名, names, 議案番号) and in speaker headings (「5番」 → ○５番). Captions (SRT/VTT)
and open data (JSON/CSV) do not use these blocks and keep the stored text as it is: they are data, read by programs
and subtitle players, where 「3番」 and 「３番」 would be different strings.

Printing order, as in published 町村議会 会議録: title, 招集年月日 … 閉会, 議事日程 and 本日の会議に付した事件, the
rosters (a roster nobody is listed in is left out, never 「（なし）」), the proceedings, and the 署名欄.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from exports.document import (
    AgendaItem,
    MeetingKind,
    MinutesDocument,
    Person,
    SpeakerKind,
    Speech,
    StageNote,
    TimeMark,
)
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
ROLE_SPREAD_CHARS = 5  # shorter 職名 are spread over this many characters (均等割り): 町　　　長, 副　町　長
SIGNERS = 2  # 会議録署名議員 lines printed for a plenary session even before the names are known


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
    SIGNATURE_STATEMENT = "署名文"  # 地方自治法第１２３条第２項の規定によりここに署名する。
    SIGNATURE = "署名欄"  # 大磯町議会議長<tab>山田太郎 (or a line to sign on)
    DRAFT = "案表示"  # header paragraph of a draft
    PAGE_NUMBER = "ページ番号"  # footer paragraph (its PAGE field lives in the template)


@dataclass(frozen=True)
class Block:
    style: Style
    parts: tuple[str, ...] = ()
    speaker: str = ""  # SPEECH blocks: ○議長（山田太郎君）, printed before parts[0] with the speaker separator


def title_text(document: MinutesDocument, notation: NotationOptions) -> str:
    """The title as printed, with （案） for a draft."""
    title = body_text(meeting_title(document, notation), notation)
    return title if document.finalized else f"{title}{DRAFT_SUFFIX}"


def draft_mark(document: MinutesDocument, notation: NotationOptions) -> str:
    """The page-header mark of a draft (案, or 案（第２版）), "" for a finalized document."""
    if document.finalized:
        return ""
    return DRAFT_MARK if document.version <= 1 else f"{DRAFT_MARK}（第{digits(document.version, notation)}版）"


def _when(moment: dt.datetime, notation: NotationOptions) -> str:
    return f"{date_text(moment.date(), notation, weekday=False)}\u3000{time_text(moment, notation)}"


def _count(people: tuple[Person, ...], notation: NotationOptions) -> str:
    return f"（{digits(len(people), notation)}名）"


def _pairs(cells: list[tuple[str, str]]) -> list[tuple[str, ...]]:
    return [cells[i] + (cells[i + 1] if i + 1 < len(cells) else ()) for i in range(0, len(cells), 2)]


def _members(people: tuple[Person, ...], notation: NotationOptions) -> list[Block]:
    cells = [
        (seat_text(p.seat, notation) if p.seat is not None else "", person_name(p, SpeakerKind.MEMBER, notation))
        for p in people
    ]
    return [Block(Style.ROSTER, row) for row in _pairs(cells)]


def _officials(people: tuple[Person, ...], kind: SpeakerKind, notation: NotationOptions) -> list[Block]:
    """職名 and 氏名, two to a line when every 職名 fits its column. The 職名 is given as typed; the renderers spread
    one shorter than ``ROLE_SPREAD_CHARS`` over that width."""
    cells = [(body_text(p.role, notation), person_name(p, kind, notation)) for p in people]
    if any(len(role) > ROLE_COLUMN_CHARS for role, _ in cells):
        return [Block(Style.ROLE_ROSTER, cell) for cell in cells]
    return [Block(Style.ROLE_ROSTER, row) for row in _pairs(cells)]


def _agenda(items: tuple[AgendaItem, ...], notation: NotationOptions) -> list[Block]:
    return [
        Block(
            Style.AGENDA,
            (
                f"日程第{digits(i.order, notation)}" if i.order is not None else "",
                body_text(i.bill, notation),
                body_text(i.title, notation),
            ),
        )
        for i in items
    ]


def _rosters(document: MinutesDocument, notation: NotationOptions) -> list[Block]:
    """出席議員, 欠席議員, 説明のため出席した者, 職務のため出席した者: each only when someone is listed."""
    blocks: list[Block] = []
    for heading, people in (("出席議員", document.attendees), ("欠席議員", document.absentees)):
        if people:
            blocks.append(Block(Style.HEADING, (f"{heading}{_count(people, notation)}",)))
            blocks += _members(people, notation)
    for heading, people, kind in (
        ("説明のため出席した者", document.explainers, SpeakerKind.OFFICIAL),
        ("職務のため出席した者", document.staff, SpeakerKind.STAFF),
    ):
        if people:
            blocks.append(Block(Style.HEADING, (heading,)))
            blocks += _officials(people, kind, notation)
    return blocks


def header_blocks(document: MinutesDocument, notation: NotationOptions) -> list[Block]:
    """Title, 招集年月日・場所・開会・閉会, 議事日程 and 本日の会議に付した事件, then the rosters. Nothing is printed
    for what is empty (no 「（なし）」 headings)."""
    blocks = [Block(Style.TITLE, (title_text(document, notation),)), Block(Style.RULE)]
    fields = [("招集年月日", date_text(document.convened, notation))]
    if document.date != document.convened:
        fields.append(("会議年月日", date_text(document.date, notation)))
    if document.place:
        fields.append(("場\u3000\u3000所", body_text(document.place, notation)))
    if document.opened:
        fields.append(("開\u3000\u3000会", _when(document.opened, notation)))
    if document.closed:
        fields.append(("閉\u3000\u3000会", _when(document.closed, notation)))
    fields += [(label, body_text(value, notation)) for label, value in document.extras]
    blocks += [Block(Style.FIELD, field) for field in fields]
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
    rosters = _rosters(document, notation)
    if rosters and (document.agenda or document.business):
        blocks.append(Block(Style.RULE))
    blocks += rosters
    if document.agenda or document.business or rosters:
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


def signature_statement(notation: NotationOptions) -> str:
    return f"地方自治法第{digits(123, notation)}条第{digits(2, notation)}項の規定によりここに署名する。"


def signature_blocks(document: MinutesDocument, notation: NotationOptions) -> list[Block]:
    """The 署名欄 that closes a 会議録: for a plenary session the statement of 地方自治法第123条第2項, the 議長 and the
    会議録署名議員 (at least ``SIGNERS`` lines); for other meetings only the names given, under 委員長 or 議長.
    A name not yet known prints as an empty line to sign on (``parts[1] == ""``)."""
    signers = [body_text(name, notation) for name in document.signers if name.strip()]
    if not document.plenary and not (document.chair.strip() or signers):
        return []
    if document.plenary:
        chair = f"{body_text(document.assembly, notation)}議長"
        signers += [""] * max(0, SIGNERS - len(signers))
    else:
        chair = "委員長" if document.kind is MeetingKind.COMMITTEE else "議長"
    blocks = [Block(Style.SIGNATURE_STATEMENT, (signature_statement(notation),))] if document.plenary else []
    blocks.append(Block(Style.SIGNATURE, (chair, body_text(document.chair.strip(), notation))))
    blocks += [Block(Style.SIGNATURE, ("会議録署名議員", name)) for name in signers]
    return blocks


def blocks(document: MinutesDocument, notation: NotationOptions) -> list[Block]:
    """The whole 会議録, in printing order."""
    return (
        header_blocks(document, notation) + proceeding_blocks(document, notation) + signature_blocks(document, notation)
    )
