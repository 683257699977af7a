"""Options of the exports, one dataclass handed to every ``render_*`` function."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from exports.notation import NotationOptions


@dataclass(frozen=True)
class CaptionOptions:
    """How SRT / WebVTT captions are cut. The defaults suit Japanese subtitles on a 16:9 video."""

    max_line_chars: int = 24  # characters on one caption line (full-width counted as one)
    max_lines: int = 2  # lines in one cue
    min_duration: float = 1.0  # seconds; a shorter cue is lengthened when the next cue leaves room
    speaker_prefix: bool = True  # start the first cue of each speech with the speaker: （議長）
    stage_notes: bool = True  # timed stage notes (StageNote with start) become cues: 〔拍手〕


@dataclass(frozen=True)
class ExportOptions:
    """``notation``: how speakers, dates and times are written; ``captions``: how SRT/VTT cues are cut; ``template``:
    a Word template to use instead of the bundled ``exports/templates/kaigiroku.docx`` (it must have every style
    listed in ``exports.docx.STYLES``)."""

    notation: NotationOptions = field(default_factory=NotationOptions)
    captions: CaptionOptions = field(default_factory=CaptionOptions)
    template: Path | None = None
