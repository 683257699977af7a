"""Full-text search over utterances and materials (FTS5 trigram tables and their vocabulary; on PostgreSQL the same
functions hand over to ``search_pg``, pg_trgm)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import text
from sqlmodel import Session, col, select

from minutes.store import search_pg
from minutes.store.search_sql import any_of, meeting_filters, speaker_clause
from minutes.store.tables import (
    Material,
    MaterialText,
    Meeting,
    Speaker,
    Utterance,
)

_ORDER = {
    "newest": "date(coalesce(m.held_at, m.created_at)) DESC, m.id DESC, {seq}",
    "oldest": "date(coalesce(m.held_at, m.created_at)), m.id, {seq}",
}


def _postgres(session: Session) -> bool:
    """PostgreSQL has no FTS5: its searches (pg_trgm) are in ``search_pg``."""
    return session.get_bind().dialect.name == "postgresql"


def _fts_match(long_terms: Sequence[Sequence[str]]) -> str | None:
    """The FTS5 query: every word (as any of its alternatives) as a phrase; None without long words."""
    groups = []
    for group in long_terms:
        phrases = ['"' + term.replace('"', '""') + '"' for term in group]
        groups.append(phrases[0] if len(phrases) == 1 else "(" + " OR ".join(phrases) + ")")
    return " AND ".join(groups) or None


def _vocab_where(ranges: Sequence[tuple[str, str]], params: dict) -> str:
    clauses = []
    for j, (lo, hi) in enumerate(ranges):
        params[f"lo{j}"], params[f"hi{j}"] = lo, hi
        clauses.append(f"(term >= :lo{j} AND term < :hi{j})")
    return " OR ".join(clauses)


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
    """Utterance ids matching a search, best first, with a score; and how many match (at most ``count_cap``).

    ``long_terms``: words of three or more characters, each a group of alternatives (its widths), searched as an FTS5
    query over the trigram index, ranked by bm25. ``vocab_ranges``: when there are no long terms, the documents whose
    trigrams start with the (lower-cased) short word ``lo`` (``lo <= term < hi``) or one of its other widths, with
    the number of occurrences as the score. ``short_terms``: further words every hit must contain, each a group of
    alternatives (its widths). ``order``: relevance (bm25 or occurrences), newest or oldest.
    """
    if _postgres(session):
        return search_pg.search_utterance_ids(
            session, long_terms=long_terms, short_terms=short_terms, vocab_ranges=vocab_ranges, order=order,
            limit=limit, offset=offset, count_cap=count_cap, date_from=date_from, date_to=date_to, kind=kind,
            meeting_id=meeting_id, speaker=speaker, hidden=hidden, org_id=org_id,
        )  # fmt: skip
    match = _fts_match(long_terms)
    clauses, params = meeting_filters(
        date_from=date_from, date_to=date_to, kind=kind, meeting_id=meeting_id, hidden=hidden, org_id=org_id
    )
    for i, group in enumerate(short_terms):
        if match is not None:  # the index's own copy of the text is compact; the utterance row is not
            clauses.append(any_of("utterance_fts.text", f"short{i}", group, params, instr=True))
        else:
            clauses.append(any_of(_LAYERS, f"short{i}", group, params))
    if speaker:
        clauses.append(speaker_clause(speaker, params))
    if match is not None:
        source = "utterance_fts JOIN utterance u INDEXED BY ix_utterance_search ON u.id = utterance_fts.rowid"
        clauses.insert(0, "utterance_fts MATCH :match")
        params["match"] = match
        score = "bm25(utterance_fts)"
        relevance = "score, seq"
    else:
        assert vocab_ranges
        source = (
            f"(SELECT doc, count(*) AS n FROM utterance_fts_instance WHERE {_vocab_where(vocab_ranges, params)} "
            "GROUP BY doc) AS hits JOIN utterance u INDEXED BY ix_utterance_search ON u.id = hits.doc"
        )
        score = "hits.n"
        relevance = "score DESC, day DESC, meeting DESC, seq"
    ordering = {"newest": "day DESC, meeting DESC, seq", "oldest": "day, meeting, seq"}.get(order, relevance)
    body = f"FROM {source} JOIN meeting m ON m.id = u.meeting_id WHERE {' AND '.join(clauses) or '1=1'}"
    found = (
        f"SELECT u.id AS id, {score} AS score, date(coalesce(m.held_at, m.created_at)) AS day, m.id AS meeting, "
        f"u.seq AS seq {body}"
    )
    # One pass: the window count is taken over every match before LIMIT (no second query for the total). bm25() may
    # not share a query with a window function, hence the subquery (SQLite does not flatten it, for the window).
    rows = session.exec(
        text(
            f"SELECT id, score, count(*) OVER () AS total FROM ({found}) "
            f"ORDER BY {ordering} LIMIT :limit OFFSET :offset"
        ),
        params=params | {"limit": limit, "offset": offset},
    ).all()
    if rows:
        total = int(rows[0][2])
    else:
        count = text(f"SELECT count(*) FROM (SELECT 1 {body} LIMIT :cap)")
        total = int(session.exec(count, params=params | {"cap": count_cap}).one()[0])
    return [(int(i), float(s)) for i, s, _ in rows], total


def count_vocab(session: Session, *, ranges: Sequence[tuple[str, str]], cap: int) -> int:
    """How many trigram occurrences start with the short word (``lo <= term < hi`` for any of ``ranges``), counting
    at most ``cap``. PostgreSQL: how many utterances contain it, at most ``cap``."""
    if _postgres(session):
        return search_pg.count_vocab(session, ranges=ranges, cap=cap)
    params: dict = {"cap": cap}
    where = _vocab_where(ranges, params)
    statement = text(f"SELECT count(*) FROM (SELECT 1 FROM utterance_fts_instance WHERE {where} LIMIT :cap)")
    return int(session.exec(statement, params=params).one()[0])


def search_meetings_in_order(
    session: Session,
    *,
    order: str,
    date_from: date | None = None,
    date_to: date | None = None,
    kind: str | None = None,
    meeting_id: int | None = None,
    hidden: Sequence[int] = (),
    org_id: int | None = None,
) -> list[int]:
    """Ids of the meetings passing the filters, newest (or oldest) first."""
    clauses, params = meeting_filters(
        date_from=date_from, date_to=date_to, kind=kind, meeting_id=meeting_id, hidden=hidden, org_id=org_id
    )
    ordering = _ORDER["oldest" if order == "oldest" else "newest"].format(seq="1")
    statement = text(f"SELECT m.id FROM meeting m WHERE {' AND '.join(clauses) or '1=1'} ORDER BY {ordering}")
    return [int(row[0]) for row in session.exec(statement, params=params)]


# the 整文 text and, where it differs, the 素起こし (two U+E000 between them, so no word spans both; as in the index)
_LAYERS = "(u.text || char(57344, 57344) || coalesce(u.raw, ''))"
_LAYERS_PG = "(u.text || chr(57344) || chr(57344) || coalesce(u.raw, ''))"


def scan_utterance_ids(
    session: Session, *, meeting_ids: Sequence[int], terms: Sequence[Sequence[str]], speaker: str | None = None
) -> list[int]:
    """Utterances of the given meetings containing every term, each a group of alternatives (LIKE; by meeting in the
    given order, then seq)."""
    if not meeting_ids:
        return []
    params: dict = {}
    like, layers = ("ILIKE", _LAYERS_PG) if _postgres(session) else ("LIKE", _LAYERS)
    clauses = [any_of(layers, f"t{i}", group, params, like=like) for i, group in enumerate(terms)]
    if speaker:
        clauses.append(speaker_clause(speaker, params, like))
    ids = ", ".join(str(int(i)) for i in meeting_ids)
    rank = " ".join(f"WHEN {int(i)} THEN {n}" for n, i in enumerate(meeting_ids))
    statement = text(
        f"SELECT u.id FROM utterance u WHERE u.meeting_id IN ({ids}) AND {' AND '.join(clauses)} "
        f"ORDER BY CASE u.meeting_id {rank} END, u.seq"
    )
    return [int(row[0]) for row in session.exec(statement, params=params)]


def utterance_hits(session: Session, *, utterance_ids: Sequence[int]) -> dict[int, tuple]:
    """id -> (utterance, speaker, meeting) for search results, in one query."""
    if not utterance_ids:
        return {}
    statement = (
        select(Utterance, Speaker, Meeting)
        .join(Speaker, col(Speaker.id) == col(Utterance.speaker_id))
        .join(Meeting, col(Meeting.id) == col(Utterance.meeting_id))
        .where(col(Utterance.id).in_(list(utterance_ids)))
    )
    return {u.id: (u, s, m) for u, s, m in session.exec(statement)}


def search_material_pages(
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
) -> list[tuple[MaterialText, Material, Meeting]]:
    """Pages of materials containing every word (FTS5 for long words, LIKE for short ones), best first."""
    if _postgres(session):
        ids = search_pg.material_page_ids(
            session, long_terms=long_terms, short_terms=short_terms, order=order, limit=limit, date_from=date_from,
            date_to=date_to, kind=kind, meeting_id=meeting_id, hidden=hidden, org_id=org_id,
        )  # fmt: skip
        return _material_pages(session, ids)
    match = _fts_match(long_terms)
    clauses, params = meeting_filters(
        date_from=date_from, date_to=date_to, kind=kind, meeting_id=meeting_id, hidden=hidden, org_id=org_id
    )
    for i, group in enumerate(short_terms):
        clauses.append(any_of("t.text", f"short{i}", group, params))
    if match is not None:
        source = "materialtext_fts JOIN materialtext t ON t.id = materialtext_fts.rowid"
        clauses.insert(0, "materialtext_fts MATCH :match")
        params["match"] = match
        relevance = "bm25(materialtext_fts), t.id"
    else:
        source = "materialtext t"
        relevance = "date(coalesce(m.held_at, m.created_at)) DESC, t.id"
    ordering = (_ORDER.get(order) or relevance).format(seq="t.material_id, t.page")
    statement = text(
        f"SELECT t.id FROM {source} JOIN material a ON a.id = t.material_id JOIN meeting m ON m.id = a.meeting_id "
        f"WHERE {' AND '.join(clauses) or '1=1'} ORDER BY {ordering} LIMIT :limit"
    )
    return _material_pages(session, [int(row[0]) for row in session.exec(statement, params=params | {"limit": limit})])


def _material_pages(session: Session, ids: list[int]) -> list[tuple[MaterialText, Material, Meeting]]:
    """The pages ``ids`` with their material and meeting, in the order of ``ids``."""
    if not ids:
        return []
    rows = session.exec(
        select(MaterialText, Material, Meeting)
        .join(Material, col(Material.id) == col(MaterialText.material_id))
        .join(Meeting, col(Meeting.id) == col(Material.meeting_id))
        .where(col(MaterialText.id).in_(ids))
    )
    found = {t.id: (t, a, m) for t, a, m in rows}
    return [found[i] for i in ids if i in found]
