"""Exports of a 会議録: Word, plain text, SRT / WebVTT captions, JSON and CSV open data.

Every export is pure: ``render(document, options) -> bytes`` with a ``MinutesDocument`` built by the caller and
optional ``ExportOptions``; no database or file access (except reading the bundled Word template). Word and text print
the 会議録 (digits of the body full-width by default, ``NotationOptions.full_width_digits``); captions and open data
keep the stored text as it is (see ``exports.layout``).

    from exports import FORMATS, MinutesDocument
    fmt = FORMATS["docx"]  # an ExportFormat: key, label, render, mime_type, extension (exports.formats)
    data = fmt.render(document, None)
"""

from __future__ import annotations

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
from exports.formats import FORMATS, ExportFormat, Renderer
from exports.notation import Calendar, NotationOptions, SpeakerOrder
from exports.opendata import render_csv, render_json
from exports.options import CaptionOptions, ExportOptions
from exports.text import render_text

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
    "Renderer",
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
