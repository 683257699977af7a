"""Plain-text 会議録 (UTF-8, LF line ends, no BOM): the same notation as the Word export, aligned with full-width
spaces so that it reads well in a fixed-width Japanese font."""

from __future__ import annotations

from exports.document import MinutesDocument
from exports.layout import ROLE_SPREAD_CHARS, Block, Style, blocks, draft_mark
from exports.notation import NotationOptions
from exports.options import ExportOptions

SPACE = "\u3000"
RULE = "―" * 36
INDENT = {Style.CONTENT: 2, Style.STAGE_NOTE: 4, Style.TIME_MARK: 8, Style.SIGNATURE_STATEMENT: 1}
SIGNATURE_INDENT = 6
SIGN_HERE = "＿" * 12  # the line to sign on where a name is not yet known
BLANK_BEFORE = {Style.HEADING: 1, Style.TIME_MARK: 1, Style.SIGNATURE: 1, Style.SIGNATURE_STATEMENT: 2}


def _pad(text: str, width: int, *, right: bool = False) -> str:
    fill = SPACE * max(0, width - len(text))
    return fill + text if right else text + fill


def _spread(text: str, width: int) -> str:
    """``text`` spread over ``width`` characters with full-width spaces (均等割り: 町　　　長, 副　町　長) where the
    spaces divide evenly; otherwise as it is (総務課長)."""
    gaps = len(text) - 1
    if not 0 < gaps < width - 1 or (width - len(text)) % gaps:
        return text
    return (SPACE * ((width - len(text)) // gaps)).join(text)


def _line(block: Block, notation: NotationOptions, widths: dict[Style, int]) -> str:
    style, parts = block.style, block.parts
    if style is Style.RULE:
        return RULE
    if style is Style.TITLE:
        return SPACE * 2 + parts[0]
    if style is Style.SPEECH:
        return block.speaker + notation.speaker_separator + parts[0]
    if style is Style.SPEECH_CONTINUED:
        return SPACE + parts[0]
    if style is Style.FIELD:
        return _pad(parts[0], widths[Style.FIELD] + 1) + SPACE.join(parts[1:])
    if style is Style.ROSTER:
        pairs = zip(parts[::2], parts[1::2], strict=True)
        cells = [_pad(seat, 4, right=True) + SPACE + _pad(name, 8) for seat, name in pairs]
        return "".join(cells).rstrip(SPACE)
    if style is Style.ROLE_ROSTER:
        cells = [
            SPACE * 2 + _pad(_spread(role, ROLE_SPREAD_CHARS), widths[Style.ROLE_ROSTER]) + SPACE + _pad(name, 8)
            for role, name in zip(parts[::2], parts[1::2], strict=True)
        ]
        return "".join(cells).rstrip(SPACE)
    if style is Style.SIGNATURE:
        label, name = parts
        return SPACE * SIGNATURE_INDENT + _pad(label, widths[Style.SIGNATURE]) + SPACE * 2 + (name or SIGN_HERE)
    if style is Style.AGENDA:
        order, bill, title = parts
        return SPACE * 2 + SPACE.join(part for part in (_pad(order, 5), bill, title) if part)
    return SPACE * INDENT.get(style, 0) + SPACE.join(parts)


def render_text(document: MinutesDocument, options: ExportOptions | None = None) -> bytes:
    """The 会議録 as plain text; a draft starts with a line 【案】."""
    options = options or ExportOptions()
    notation = options.notation
    layout = blocks(document, notation)
    # Column widths: the longest header label, the longest 職名 (at least the spread width), the longest signer label.
    widths = {
        style: max((len(b.parts[i]) for b in layout if b.style is style for i in (0, 2) if i < len(b.parts)), default=0)
        for style in (Style.FIELD, Style.ROLE_ROSTER, Style.SIGNATURE)
    }
    widths[Style.ROLE_ROSTER] = max(widths[Style.ROLE_ROSTER], ROLE_SPREAD_CHARS)
    lines = [] if document.finalized else [f"【{draft_mark(document, notation)}】", ""]
    for block in layout:
        blank = BLANK_BEFORE.get(block.style, 0)
        while blank and lines and lines[-1] != RULE and lines[-blank:] != [""] * blank:
            lines.append("")
        lines.append(_line(block, notation, widths))
        if block.style is Style.TIME_MARK:
            lines.append("")
    return ("\n".join(lines).rstrip("\n") + "\n").encode("utf-8")
