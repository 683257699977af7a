"""The one registry of export formats: key, Japanese label, renderer, MIME type and file extension.

The CLI's ``--format`` choices (``list(FORMATS)``) and the page's format labels (``FORMATS[key].label``) are derived
from it. Adding a format is one renderer module plus one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from exports.captions import render_srt, render_vtt
from exports.document import MinutesDocument
from exports.docx import render_docx
from exports.opendata import render_csv, render_json
from exports.options import ExportOptions
from exports.text import render_text

Renderer = Callable[[MinutesDocument, ExportOptions | None], bytes]


@dataclass(frozen=True)
class ExportFormat:
    """One export format. ``render(document, options)`` returns the file's bytes."""

    key: str  # the CLI's --format value and the name stored with an export
    label: str  # shown to the clerk
    render: Renderer
    mime_type: str
    extension: str  # with the dot


_ALL = (
    ExportFormat(
        "docx",
        "会議録（Word .docx）",
        render_docx,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ".docx",
    ),
    ExportFormat("txt", "テキスト（.txt）", render_text, "text/plain; charset=utf-8", ".txt"),
    ExportFormat("srt", "字幕 SRT（動画公開用）", render_srt, "application/x-subrip", ".srt"),
    ExportFormat("vtt", "字幕 WebVTT（動画公開用）", render_vtt, "text/vtt; charset=utf-8", ".vtt"),
    ExportFormat("json", "オープンデータ JSON", render_json, "application/json", ".json"),
    ExportFormat("csv", "オープンデータ CSV（Excel 対応）", render_csv, "text/csv; charset=utf-8", ".csv"),
)

# In the order the page lists them.
FORMATS: dict[str, ExportFormat] = {fmt.key: fmt for fmt in _ALL}
