"""Exports of a 会議録: Word, plain text, SRT / WebVTT captions, JSON and CSV open data.

Every export is pure: ``render(document, options) -> bytes`` with a ``MinutesDocument`` built by the caller and
optional ``ExportOptions``; no database or file access (except reading the bundled Word template). Word and text print
the 会議録 (digits of the body full-width by default, ``NotationOptions.full_width_digits``); captions and open data
keep the stored text as it is (see ``exports.layout``).

    from exports import FORMATS, MinutesDocument
    render, mime_type, extension = FORMATS["docx"]
    data = render(document, None)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from exports.captions import render_srt, render_vtt
from exports.document import (
    AgendaItem,
    MeetingKind,
    MinutesDocument,
    Person,
    SpeakerKind,
    Speech,
    StageNote,
    TimeMark,
    TimeMarkKind,
    WordTiming,
)
from exports.docx import STYLES, TemplateError, load_template, render_docx
from exports.notation import Calendar, NotationOptions, SpeakerOrder
from exports.opendata import render_csv, render_json
from exports.options import CaptionOptions, ExportOptions
from exports.text import render_text

Renderer = Callable[[MinutesDocument, ExportOptions | None], bytes]


class ExportFormat(NamedTuple):
    render: Renderer
    mime_type: str
    extension: str  # with the dot


FORMATS: dict[str, ExportFormat] = {
    "docx": ExportFormat(
        render_docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"
    ),
    "txt": ExportFormat(render_text, "text/plain; charset=utf-8", ".txt"),
    "srt": ExportFormat(render_srt, "application/x-subrip", ".srt"),
    "vtt": ExportFormat(render_vtt, "text/vtt; charset=utf-8", ".vtt"),
    "json": ExportFormat(render_json, "application/json", ".json"),
    "csv": ExportFormat(render_csv, "text/csv; charset=utf-8", ".csv"),
}

__all__ = [
    "FORMATS",
    "STYLES",
    "AgendaItem",
    "Calendar",
    "CaptionOptions",
    "ExportFormat",
    "ExportOptions",
    "MeetingKind",
    "MinutesDocument",
    "NotationOptions",
    "Person",
    "SpeakerKind",
    "SpeakerOrder",
    "Speech",
    "StageNote",
    "TemplateError",
    "TimeMark",
    "TimeMarkKind",
    "WordTiming",
    "load_template",
    "render_csv",
    "render_docx",
    "render_json",
    "render_srt",
    "render_text",
    "render_vtt",
]
