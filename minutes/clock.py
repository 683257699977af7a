"""Times shown to people and typed by them: stored moments are aware UTC; clerks read them in Japan time and type
days in the ways of a Japanese office (西暦 or 和暦, with or without separators)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Tokyo")


def local(moment: dt.datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """``moment`` (aware, or naive meaning UTC) formatted in Japan time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(LOCAL).strftime(fmt)


# 和暦 eras with the Gregorian year before each era's first year (令和元年 = 2019).
_ERAS = {"令和": 2018, "R": 2018, "平成": 1988, "H": 1988, "昭和": 1925, "S": 1925}
_ERA_DATE = re.compile(r"^(令和|平成|昭和|R|H|S)\s*(\d+|元)\s*[年.\-/]\s*(\d+)\s*[月.\-/]\s*(\d+)\s*日?$")
_DATE = re.compile(r"^(\d{4})\s*[年.\-/]\s*(\d{1,2})\s*[月.\-/]\s*(\d{1,2})\s*日?$")


def parse_day(text: str) -> dt.date:
    """A day as a clerk types it: 「2024/09/10」「2024-9-10」「20240910」「2024年9月10日」「令和6年9月10日」「R6.9.10」
    (full-width digits too). Raises ValueError with a Japanese message for anything else."""
    raw = unicodedata.normalize("NFKC", text).strip().upper().replace(" ", "")
    try:
        if raw.isdigit() and len(raw) == 8:
            return dt.date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
        if match := _DATE.match(raw):
            return dt.date(*(int(part) for part in match.groups()))
        if match := _ERA_DATE.match(raw):
            era, year, month, day = match.groups()
            return dt.date(_ERAS[era] + (1 if year == "元" else int(year)), int(month), int(day))
    except ValueError:
        pass
    raise ValueError(f"日付「{text}」を読み取れません。2024/09/10、20240910、令和6年9月10日 のように入力してください。")
