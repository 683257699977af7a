"""Plain-text 会議録 (UTF-8, LF line ends, no BOM): the same notation as the Word export, aligned with full-width
spaces so that it reads well in a fixed-width Japanese font."""

from __future__ import annotations

from exports.document import MinutesDocument
from exports.layout import Block, Style, blocks, draft_mark
from exports.notation import NotationOptions
from exports.options import ExportOptions

SPACE = "\u3000"
RULE = "―" * 36
INDENT = {Style.CONTENT: 2, Style.STAGE_NOTE: 4, Style.TIME_MARK: 8}


def _pad(text: str, width: int, *, right: bool = False) -> str:
    fill = SPACE * max(0, width - len(text))
    return fill + text if right else text + fill


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
            SPACE * 2 + _pad(role, widths[Style.ROLE_ROSTER]) + SPACE + _pad(name, 8)
            for role, name in zip(parts[::2], parts[1::2], strict=True)
        ]
        return "".join(cells).rstrip(SPACE)
    if style is Style.AGENDA:
        order, bill, title = parts
        return SPACE * 2 + SPACE.join(part for part in (_pad(order, 5), bill, title) if part)
    return SPACE * INDENT.get(style, 0) + SPACE.join(parts)


def render_text(document: MinutesDocument, options: ExportOptions | None = None) -> bytes:
    """The 会議録 as plain text; a draft starts with a line 【案】."""
    options = options or ExportOptions()
    notation = options.notation
    layout = blocks(document, notation)
    # Column widths: the longest header label, the longest 職名.
    widths = {
        style: max((len(b.parts[i]) for b in layout if b.style is style for i in (0, 2) if i < len(b.parts)), default=0)
        for style in (Style.FIELD, Style.ROLE_ROSTER)
    }
    lines = [] if document.finalized else [f"【{draft_mark(document, notation)}】", ""]
    for block in layout:
        if block.style in (Style.HEADING, Style.TIME_MARK) and lines and lines[-1] not in ("", RULE):
            lines.append("")
        lines.append(_line(block, notation, widths))
        if block.style is Style.TIME_MARK:
            lines.append("")
    return ("\n".join(lines).rstrip("\n") + "\n").encode("utf-8")
