"""Full-text search on PostgreSQL: the same searches as ``search`` (SQLite FTS5), with pg_trgm.

Migration 0003 (and 0009 for the 素起こし) made GIN trigram indexes (``gin_trgm_ops``) over ``utterance.text``,
``utterance.raw`` and ``materialtext.text``. Every word is an ``ILIKE '%word%'`` (each width variant an alternative):
for a word of three or more characters PostgreSQL takes its trigrams from the index and rechecks the rows it finds;
``ILIKE`` makes Latin letters case-insensitive, as FTS5's trigram tokenizer is. The database must use a UTF-8
encoding with a locale whose character classes know kanji and kana (``C.UTF-8``, ``ja_JP.UTF-8`` or an ICU locale):
pg_trgm keeps only "alphanumeric" characters, and under the plain ``C`` locale it drops every Japanese character
(``show_trgm('町営バス')`` is empty), so no Japanese word could use the index. See README, PostgreSQL.

A trigram index cannot answer a one- or two-character word (a pattern with fewer than three characters has no
trigram): such words are matched by a scan of the utterances that the long words and filters leave, and when a search
has only short words the service counts the matching utterances first (``count_vocab``, stopping at its cap) and walks
meetings newest first for a word too common to list, exactly as on SQLite. Results are ranked by the number of
occurrences (SQLite ranks long words by bm25), then newest meeting.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import text
from sqlmodel import Session

from minutes.store.search_sql import any_of, meeting_filters, speaker_clause

# the text and, where it differs, the 素起こし (as the SQLite index holds them)
_SHOWN = "(u.text || CASE WHEN u.raw IS NULL OR u.raw = u.text THEN '' ELSE chr(57344) || u.raw END)"
_DAY = "date(coalesce(m.held_at, m.created_at))"  # the connection's time zone is UTC (engine.make_engine)


def _contains(column: str, raw: str | None, name: str, group: Sequence[str], params: dict) -> str:
    """``column`` (or ``raw``) contains one of ``group``, as ILIKEs each index can answer (a BitmapOr of both)."""
    clause = any_of(column, name, group, params, like="ILIKE")
    if raw is None:
        return clause
    return f"({clause} OR {any_of(raw, name, group, params, like='ILIKE')})"


def _occurrences(column: str, terms: Sequence[str], params: dict) -> str:
    """How many times the terms occur in ``column`` (case-insensitive), as SQL."""
    parts = []
    for j, term in enumerate(dict.fromkeys(t.lower() for t in terms)):
        params[f"occ{j}"] = term
        parts.append(f"(length({column}) - length(replace(lower({column}), :occ{j}, ''))) / {len(term)}")
    return " + ".join(parts) if parts else "0"


def search_utterance_ids(
    session: Session,
    *,
    long_terms: Sequence[Sequence[str]],
    short_terms: Sequence[Sequence[str]],
    vocab_ranges: Sequence[tuple[str, str]],
    order: str,
    limit: int,
    offset: int,
    count_cap: int,
    date_from: date | None = None,
    date_to: date | None = None,
    kind: str | None = None,
    meeting_id: int | None = None,
    speaker: str | None = None,
    hidden: Sequence[int] = (),
    org_id: int | None = None,
) -> tuple[list[tuple[int, float]], int]:
    """As ``search.search_utterance_ids``; ``vocab_ranges`` name the short word by its lower bounds."""
    clauses, params = meeting_filters(
        date_from=date_from, date_to=date_to, kind=kind, meeting_id=meeting_id, hidden=hidden, org_id=org_id
    )
    groups = list(long_terms) + ([tuple(lo for lo, _ in vocab_ranges)] if vocab_ranges else []) + list(short_terms)
    for i, group in enumerate(groups):
        clauses.append(_contains("u.text", "u.raw", f"w{i}", group, params))
    if speaker:
        clauses.append(speaker_clause(speaker, params, "ILIKE"))
    score = _occurrences(_SHOWN, [t for group in groups for t in group], params)
    relevance = "score DESC, day DESC, meeting DESC, seq"
    ordering = {"newest": "day DESC, meeting DESC, seq", "oldest": "day, meeting, seq"}.get(order, relevance)
    body = f"FROM utterance u JOIN meeting m ON m.id = u.meeting_id WHERE {' AND '.join(clauses) or 'TRUE'}"
    found = f"SELECT u.id AS id, {score} AS score, {_DAY} AS day, m.id AS meeting, u.seq AS seq {body}"
    rows = session.exec(
        text(
            f"SELECT id, score, count(*) OVER () AS total FROM ({found}) AS found "
            f"ORDER BY {ordering} LIMIT :limit OFFSET :offset"
        ),
        params=params | {"limit": limit, "offset": offset},
    ).all()
    if rows:
        total = int(rows[0][2])
    else:
        count = text(f"SELECT count(*) FROM (SELECT 1 {body} LIMIT :cap) AS capped")
        total = int(session.exec(count, params=params | {"cap": count_cap}).one()[0])
    return [(int(i), float(s)) for i, s, _ in rows], total


def count_vocab(session: Session, *, ranges: Sequence[tuple[str, str]], cap: int) -> int:
    """How many utterances contain the short word (any of the lower bounds of ``ranges``), counting at most
    ``cap``."""
    params: dict = {"cap": cap}
    where = _contains("u.text", "u.raw", "w", [lo for lo, _ in ranges], params)
    statement = text(f"SELECT count(*) FROM (SELECT 1 FROM utterance u WHERE {where} LIMIT :cap) AS capped")
    return int(session.exec(statement, params=params).one()[0])


def material_page_ids(
    session: Session,
    *,
    long_terms: Sequence[Sequence[str]],
    short_terms: Sequence[Sequence[str]],
    order: str,
    limit: int,
    date_from: date | None = None,
    date_to: date | None = None,
    kind: str | None = None,
    meeting_id: int | None = None,
    hidden: Sequence[int] = (),
    org_id: int | None = None,
) -> list[int]:
    """Ids of the material pages containing every word, best first (as ``search.search_material_pages``)."""
    clauses, params = meeting_filters(
        date_from=date_from, date_to=date_to, kind=kind, meeting_id=meeting_id, hidden=hidden, org_id=org_id
    )
    groups = list(long_terms) + list(short_terms)
    for i, group in enumerate(groups):
        clauses.append(_contains("t.text", None, f"w{i}", group, params))
    score = _occurrences("t.text", [t for group in groups for t in group], params)
    orderings = {
        "newest": f"{_DAY} DESC, m.id DESC, t.material_id, t.page",
        "oldest": f"{_DAY}, m.id, t.material_id, t.page",
    }
    ordering = orderings.get(order) or f"{score} DESC, t.id"
    statement = text(
        "SELECT t.id FROM materialtext t JOIN material a ON a.id = t.material_id JOIN meeting m ON m.id = a.meeting_id "
        f"WHERE {' AND '.join(clauses) or 'TRUE'} ORDER BY {ordering} LIMIT :limit"
    )
    return [int(row[0]) for row in session.exec(statement, params=params | {"limit": limit})]
