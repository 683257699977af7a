"""SRT and WebVTT captions for publishing the meeting video with subtitles.

Each speech is cut into cues of at most ``max_lines`` lines of ``max_line_chars`` characters, preferably after 。
(between cues) and after 、 (between lines); no line starts with closing punctuation. A cue is timed from the
speech's word timings when the words spell the speech text (it may have been edited since), else in proportion to
its characters. Then, over the whole meeting: cues are ordered, never overlap, last at least ``min_duration`` when
the next cue leaves room, and stay inside the recording (``MinutesDocument.duration``). Times are whole milliseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from exports.document import MinutesDocument, Speech, StageNote, word_fields
from exports.notation import speaker_short, stage_note_text
from exports.options import CaptionOptions, ExportOptions

SENTENCE_END = "。！？!?"
CLAUSE_END = "、，,）」』"
NO_LINE_START = "、。，．,.！？!?）」』〕ー…"


@dataclass(frozen=True)
class Cue:
    start: int  # milliseconds
    end: int
    text: str  # lines joined by "\n"


def _sentences(text: str) -> list[str]:
    """The text cut after each sentence end (and after a closing bracket right behind it)."""
    return [part for part in re.split(rf"(?<=[{SENTENCE_END}])(?![」』）{SENTENCE_END}])", text) if part]


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` characters (one more when that keeps punctuation off a line start), broken
    preferably after 、 or 。 in the second half of a line."""
    lines: list[str] = []
    while len(text) > width:
        cut = width
        for position in range(width, width // 2, -1):
            if text[position - 1] in CLAUSE_END + SENTENCE_END:
                cut = position
                break
        if text[cut] in NO_LINE_START and cut == width:
            cut += 1  # 追い込み: keep 、。 at the end of the line
        if cut >= len(text):
            break
        lines.append(text[:cut])
        text = text[cut:]
    if text:
        lines.append(text)
    return lines


def split_text(text: str, options: CaptionOptions) -> list[str]:
    """The text as cue texts (lines joined with "\n"), whole sentences together where they fit."""
    cues: list[list[str]] = []
    buffer = ""
    for sentence in _sentences(text.replace("\n", "")):
        candidate = buffer + sentence
        if len(wrap(candidate, options.max_line_chars)) <= options.max_lines:
            buffer = candidate
            continue
        if buffer:
            cues.append(wrap(buffer, options.max_line_chars))
        lines = wrap(sentence, options.max_line_chars)
        while len(lines) > options.max_lines:
            cues.append(lines[: options.max_lines])
            lines = wrap("".join(lines[options.max_lines :]), options.max_line_chars)
        buffer = "".join(lines)
    if buffer:
        cues.append(wrap(buffer, options.max_line_chars))
    return ["\n".join(lines) for lines in cues]


def _char_times(speech: Speech, text: str) -> list[tuple[float, float]] | None:
    """(start, end) of every character of ``text`` from the word timings, or None when the words do not spell it."""
    timings: list[tuple[float, float]] = []
    spelled = []
    for word in speech.words:
        start, end, word_text = word_fields(word)
        word_text = "".join(word_text.split())
        spelled.append(word_text)
        timings += [(start, end)] * len(word_text)
    return timings if "".join(spelled) == text else None


def _speech_cues(speech: Speech, options: CaptionOptions) -> list[tuple[float, float, str]]:
    if speech.start is None or speech.end is None:
        return []
    text = "".join(speech.text.split())
    if not text:
        return []
    prefix = f"（{speaker_short(speech)}）" if options.speaker_prefix and speaker_short(speech) else ""
    char_times = _char_times(speech, text) if speech.words else None
    span = max(0.0, speech.end - speech.start)
    cues = []
    position = 0  # in prefix + text
    for piece in split_text(prefix + text, options):
        length = len(piece.replace("\n", ""))
        first = max(0, position - len(prefix))
        last = max(first, position + length - len(prefix)) - 1  # index in text of the cue's last character
        position += length
        if last < first:  # only the prefix (a very long speaker name)
            continue
        if char_times:
            start, end = char_times[first][0], char_times[last][1]
        else:
            start = speech.start + span * first / len(text)
            end = speech.start + span * (last + 1) / len(text)
        cues.append((start, end, piece))
    return cues


def build_cues(document: MinutesDocument, options: ExportOptions) -> list[Cue]:
    """The cues of the whole meeting, ordered, not overlapping and inside the recording."""
    captions = options.captions
    raw: list[tuple[float, float, str]] = []
    for item in document.items:
        if isinstance(item, Speech):
            raw += _speech_cues(item, captions)
        elif isinstance(item, StageNote) and captions.stage_notes and item.start is not None:
            end = item.end if item.end is not None else item.start + captions.min_duration
            raw.append((item.start, end, stage_note_text(item, options.notation)))
    limit = document.duration if document.duration is not None else max((end for _, end, _ in raw), default=0.0)
    limit_ms = int(limit * 1000)
    timed = sorted(
        ((round(start * 1000), round(end * 1000), text) for start, end, text in raw), key=lambda cue: (cue[0], cue[1])
    )
    minimum = round(captions.min_duration * 1000)
    cues: list[Cue] = []
    for index, (start, end, text) in enumerate(timed):
        start = max(0, start, cues[-1].end if cues else 0)
        end = min(max(end, start + minimum), limit_ms)
        next_start = timed[index + 1][0] if index + 1 < len(timed) else limit_ms
        if next_start > start:  # overlapping speech: this cue gives way rather than delaying the next one
            end = min(end, next_start)
        if end <= start:  # no room left (a speech overlapping the previous one, or past the end of the recording)
            if cues:
                last = cues[-1]
                cues[-1] = Cue(last.start, last.end, f"{last.text}\n{text}")
            continue
        cues.append(Cue(start, end, text))
    return cues


def _timestamp(milliseconds: int, separator: str) -> str:
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def render_srt(document: MinutesDocument, options: ExportOptions | None = None) -> bytes:
    """SubRip (.srt), UTF-8."""
    options = options or ExportOptions()
    blocks = [
        f"{number}\n{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}\n{cue.text}\n"
        for number, cue in enumerate(build_cues(document, options), start=1)
    ]
    return "\n".join(blocks).encode("utf-8")


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_vtt(document: MinutesDocument, options: ExportOptions | None = None) -> bytes:
    """WebVTT (.vtt), UTF-8."""
    options = options or ExportOptions()
    blocks = ["WEBVTT\n"] + [
        f"{_timestamp(cue.start, '.')} --> {_timestamp(cue.end, '.')}\n{_vtt_escape(cue.text)}\n"
        for cue in build_cues(document, options)
    ]
    return "\n".join(blocks).encode("utf-8")
