"""SQL pieces shared by the SQLite and PostgreSQL searches (``search``, ``search_pg``): LIKE patterns, speaker and
meeting filters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def like_pattern(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def any_of(
    column: str, name: str, group: Sequence[str], params: dict, *, instr: bool = False, like: str = "LIKE"
) -> str:
    """A clause true when ``column`` contains any of the alternatives in ``group`` (case-insensitive for ASCII;
    ``like``: ``ILIKE`` on PostgreSQL, whose LIKE is case-sensitive)."""
    clauses = []
    for j, term in enumerate(group):
        key = f"{name}_{j}"
        if instr:  # SQLite's lower() folds ASCII only: so does the needle
            clauses.append(f"instr(lower({column}), :{key}) > 0")
            params[key] = term.translate(_ASCII_LOWER)
        else:
            clauses.append(f"{column} {like} :{key} ESCAPE '\\'")
            params[key] = like_pattern(term)
    return clauses[0] if len(clauses) == 1 else "(" + " OR ".join(clauses) + ")"


def speaker_clause(speaker: str, params: dict, like: str = "LIKE") -> str:
    """Utterances of a speaker whose name, role, label or role and name together contain ``speaker`` (spaces
    ignored: 「議長 山田」 finds 議長山田)."""
    params["speaker"] = like_pattern(speaker.replace(" ", "").replace("　", ""))
    fields = ("name", "role", "label", "coalesce(role, '') || coalesce(name, '')")
    either = " OR ".join(f"{field} {like} :speaker ESCAPE '\\'" for field in fields)
    return f"u.speaker_id IN (SELECT id FROM speaker WHERE {either})"


def meeting_filters(
    *,
    date_from: date | None,
    date_to: date | None,
    kind: str | None,
    meeting_id: int | None,
    hidden: Sequence[int] = (),
    org_id: int | None = None,
) -> tuple[list[str], dict]:
    clauses, params = [], {}
    if org_id is not None:  # one organisation's meetings only
        clauses.append("m.org_id = :org_id")
        params["org_id"] = org_id
    if hidden:  # closed meetings of others, drafts for readers (ids are integers: safe to inline)
        clauses.append(f"m.id NOT IN ({','.join(str(int(i)) for i in sorted(hidden))})")
    day = "date(coalesce(m.held_at, m.created_at))"
    if date_from is not None:
        clauses.append(f"{day} >= :date_from")
        params["date_from"] = date_from.isoformat()
    if date_to is not None:
        clauses.append(f"{day} <= :date_to")
        params["date_to"] = date_to.isoformat()
    if kind:
        clauses.append("m.kind = :kind")
        params["kind"] = kind
    if meeting_id is not None:
        clauses.append("m.id = :meeting_id")
        params["meeting_id"] = meeting_id
    return clauses, params
