"""Times shown to people: stored moments are aware UTC; clerks read them in Japan time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Tokyo")


def local(moment: dt.datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """``moment`` (aware, or naive meaning UTC) formatted in Japan time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(LOCAL).strftime(fmt)
