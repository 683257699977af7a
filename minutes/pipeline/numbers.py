"""Numbers and units of the 整文 in the assembly's notation (the setting ``MINUTES_NUMBER_STYLE``). Pure functions.

Whisper writes numbers in ASCII digits, with or without thousands separators (「令和6年」「8500万円」「8,500万円」
「30%」). A 会議録 writes them one way throughout; the styles:

- ``full``: full-width digits, amounts and counts grouped by thousands: 「令和６年」「８，５００万円」「３０％」
  (the common practice of 町村議会, and the digits the printed 会議録 uses, ``exports.notation``);
- ``full_plain``: full-width digits, no grouping: 「８５００万円」;
- ``half``: ASCII digits, grouped: 「令和6年」「8,500万円」「30%」;
- ``half_plain``: ASCII digits, no grouping: 「8500万円」;
- ``asis``: as recognized.

Grouping applies only to a number of four or more digits followed by a unit of amount or count (円, 万, 億, 人,
件, 世帯 …, :data:`GROUPED_UNITS`): years (2024年), 議案番号 (第1052号) and times stay as they are. A number that
touches a Latin letter is a name or a code (「5G」「A4」「COVID-19」) and is left alone, as are numbers written in
kanji (「三十人」: converting them is not safe, 「一般」「一部」 are words), and times and dates written with
「:」 or 「/」 (「10:30」「2024/3/1」).
"""

from __future__ import annotations

import re

from minutes.settings import DEFAULT_NUMBER_STYLE as DEFAULT_STYLE
from minutes.settings import NUMBER_STYLES as STYLES

GROUPED_UNITS = (
    "円",
    "万",
    "億",
    "兆",
    "人",
    "名",
    "件",
    "世帯",
    "戸",
    "台",
    "個",
    "本",
    "枚",
    "冊",
    "棟",
    "頭",
    "株",
    "トン",
    "キロ",
    "メートル",
    "平方メートル",
    "ヘクタール",
    "リットル",
)
_TO_HALF = str.maketrans("０１２３４５６７８９，．％", "0123456789,.%")
_TO_FULL = str.maketrans("0123456789,.%", "０１２３４５６７８９，．％")
_LATIN = "A-Za-zＡ-Ｚａ-ｚ"
# A number: digits with optional thousands groups and an optional decimal part, not touching Latin letters or other
# digits; then an optional percent sign and whatever unit follows.
_NUMBER = re.compile(
    rf"(?<![0-9０-９{_LATIN}.．,，\-－:：/／])"
    r"([0-9０-９]+(?:[,，][0-9０-９]{3})*)([.．][0-9０-９]+)?([%％])?"
    rf"(?![0-9０-９{_LATIN}\-－:：/／])"
)
_UNIT = re.compile("|".join(sorted(GROUPED_UNITS, key=len, reverse=True)))


def check_style(style: str) -> str:
    """``style`` when it is one of :data:`STYLES`, else ValueError."""
    if style not in STYLES:
        raise ValueError(f"unknown number style {style!r} (one of {', '.join(STYLES)})")
    return style


def _grouped(digits: str) -> str:
    head = len(digits) % 3 or 3
    return ",".join([digits[:head], *(digits[i : i + 3] for i in range(head, len(digits), 3))])


def number_notation(text: str, style: str = DEFAULT_STYLE) -> str:
    """``text`` with its numbers written in ``style`` (see the module's description)."""
    check_style(style)
    if style == "asis":
        return text
    full, group = style.startswith("full"), not style.endswith("_plain")

    def rewrite(match: re.Match[str]) -> str:
        whole, fraction, percent = match.group(1), match.group(2) or "", match.group(3) or ""
        written = whole.translate(_TO_HALF)
        digits = written.replace(",", "")
        unit_follows = not percent and _UNIT.match(text, match.end()) is not None
        if group and not fraction and len(digits) >= 4 and (unit_follows or "," in written):
            digits = _grouped(digits)  # an amount or count, or a number the recognizer grouped itself
        number = digits + fraction.translate(_TO_HALF) + percent.translate(_TO_HALF)
        return number.translate(_TO_FULL) if full else number

    return _NUMBER.sub(rewrite, text)
