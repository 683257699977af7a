"""``minutes search QUERY``: the archive's full-text search from the command line, as text or ``--json`` (one object
with the query, the counts and every hit), through ``services.search`` like the 検索 page."""

from __future__ import annotations

import json

from minutes.services import Services
from minutes.services.search import SearchQuery, SearchResults, parse_date


def timestamp(seconds: float) -> str:
    """HH:MM:SS.s of ``seconds``."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours):02d}:{int(minutes):02d}:{secs:04.1f}"


def run_search(args, services: Services) -> int:
    query = SearchQuery(
        args.query,
        date_from=parse_date(args.date_from) if args.date_from else None,
        date_to=parse_date(args.date_to) if args.date_to else None,
        kind=args.kind,
        speaker=args.speaker,
        meeting_id=args.meeting,
        scope=args.scope,
        order=args.sort,
        limit=args.limit,
    )
    results = services.search.search(query)
    if args.json:
        print(json.dumps(_search_payload(args.query, results), ensure_ascii=False))
        return 0
    if not results.utterances and not results.materials:
        print(f"「{args.query}」は見つかりませんでした。")
        return 0
    if query.scope != "materials":
        print(f"発言 {results.total_label}（{results.elapsed_ms:.0f} ms）")
    for h in results.utterances:
        day = f"{h.held_at:%Y-%m-%d}" if h.held_at else "日付なし"
        print(f"[{day} {h.meeting_title}] {timestamp(h.start)} {h.speaker}: {h.snippet.marked()}")
        print(f"    会議 {h.meeting_id}・発言 {h.utterance_id}  → {h.link}")
    if results.materials:
        print(f"資料 {len(results.materials)} 件")
    for h in results.materials:
        day = f"{h.held_at:%Y-%m-%d}" if h.held_at else "日付なし"
        print(f"[{day} {h.meeting_title}] 資料「{h.title}」{h.label}: {h.snippet.marked()}")
    return 0


def _search_payload(text: str, results: SearchResults) -> dict:
    """``search --json``: the query, the counts and every hit (utterances, then materials)."""
    return {
        "query": text,
        "terms": list(results.terms),
        "total": results.utterance_total,
        "total_is_lower_bound": results.total_is_lower_bound,
        "elapsed_ms": round(results.elapsed_ms, 1),
        "results": [
            {
                "type": "utterance",
                "meeting_id": h.meeting_id,
                "meeting_title": h.meeting_title,
                "meeting_kind": h.meeting_kind,
                "held_at": h.held_at.isoformat() if h.held_at else None,
                "utterance_id": h.utterance_id,
                "seq": h.seq,
                "start": h.start,
                "end": h.end,
                "speaker": h.speaker,
                "agenda_order": h.agenda_order,
                "snippet": h.snippet.text,
                "marks": h.snippet.marks(),
                "matches": h.matches,
                "link": h.link,
            }
            for h in results.utterances
        ]
        + [
            {
                "type": "material",
                "meeting_id": h.meeting_id,
                "meeting_title": h.meeting_title,
                "held_at": h.held_at.isoformat() if h.held_at else None,
                "material_id": h.material_id,
                "title": h.title,
                "page": h.page,
                "label": h.label,
                "snippet": h.snippet.text,
                "marks": h.snippet.marks(),
                "link": h.link,
            }
            for h in results.materials
        ],
    }
