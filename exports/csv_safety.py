"""Cells of a CSV the product writes, made safe to open in Excel or LibreOffice (CSV / formula injection).

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by spreadsheets as a
formula (``=HYPERLINK(...)`` in a speaker's name, a user name typed at a failed sign-in). As OWASP recommends, such a
cell gets a leading single quote, so that it is shown as the text it is. Numbers stay numbers: ``-1.5`` in a numeric
column is written as it is. Used by every CSV writer (``exports.opendata``, ``minutes.services.audit``).
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """``value`` with a leading ``'`` when it is text a spreadsheet would take for a formula; anything else as is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values) -> list:
    """:func:`safe_cell` of every value of a row."""
    return [safe_cell(value) for value in values]
