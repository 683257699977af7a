"""Full-text search across the utterances of all meetings and the text of their materials.

SQLite FTS5 with the trigram tokenizer indexes every utterance and material page (``utterance_fts``,
``materialtext_fts``; triggers keep them in step with every insert, edit and delete). Words of three or more characters
are FTS5 phrases ranked by bm25. Trigrams cannot match one- or two-character words such as 予算, so those are found
through the index's vocabulary instead: every indexed text ends in two padding characters, hence every occurrence of a
short word starts a trigram, and ``term >= 予算 AND term < 予箘`` over ``utterance_fts_instance`` lists exactly the
occurrences (ranked by their number). A short word so common that listing it would be slow is looked up meeting by
meeting, newest first, until the page is full (the total is then shown as "N 件以上").

Letters, digits and symbols match in either width: 「３番」 finds 「3番」 and 「ＡＩ」 finds 「AI」 (each word is
searched as itself, all half-width and all full-width; Whisper writes half-width, a clerk's input method often
full-width).

Several words separated by spaces must all occur. Filters: date range (開催日), meeting kind (種別), speaker (name,
role or label, partial), meeting, and what to search (utterances, materials or both).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field

from sqlmodel import Session

from minutes import clock, store
from minutes.errors import InputError
from minutes.services.base import Service
from minutes.services.permissions import Permission, check, hidden_meetings, require
from minutes.services.views import unnamed_speaker

VOCAB_CAP = 20_000  # occurrences of a short word listed through the vocabulary before walking meetings instead
COUNT_CAP = 10_000  # matches counted at most ("10,000 件以上")
ORDERS = {"relevance": "関連度順", "newest": "新しい順", "oldest": "古い順"}
SCOPES = {"all": "発言と資料", "utterances": "発言", "materials": "資料"}
_SPACES = re.compile(r"[\s\u3000]+")


@dataclass(frozen=True)
class SearchQuery:
    text: str
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    kind: str | None = None  # 会議の種別 (Meeting.kind)
    speaker: str | None = None  # part of a speaker's name, role or label
    meeting_id: int | None = None
    scope: str = "all"  # a key of SCOPES
    order: str = "relevance"  # a key of ORDERS
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True)
class Snippet:
    """A piece of text around the matches: parts marked True are matches."""

    parts: tuple[tuple[str, bool], ...]

    @property
    def text(self) -> str:
        return "".join(text for text, _ in self.parts)

    def marked(self, before: str = "【", after: str = "】") -> str:
        return "".join(f"{before}{text}{after}" if hit else text for text, hit in self.parts)

    def marks(self) -> list[tuple[int, int]]:
        """(start, end) character offsets of the matches in ``text``."""
        result, position = [], 0
        for text, hit in self.parts:
            if hit:
                result.append((position, position + len(text)))
            position += len(text)
        return result


@dataclass(frozen=True)
class UtteranceHit:
    utterance_id: int
    meeting_id: int
    meeting_title: str
    meeting_kind: str
    held_at: dt.datetime | None
    seq: int
    start: float
    end: float
    speaker: str  # 議長 山田太郎, or the diarization label when nobody named them (as in the editor)
    agenda_order: int | None
    snippet: Snippet
    matches: int  # occurrences of the words in the utterance
    score: float

    @property
    def link(self) -> str:
        """The editor opened at this utterance (relative URL of the app)."""
        return f"editor?meeting={self.meeting_id}&at=u{self.utterance_id}"


@dataclass(frozen=True)
class MaterialHit:
    material_id: int
    meeting_id: int
    meeting_title: str
    held_at: dt.datetime | None
    title: str
    kind: str
    page: int
    label: str  # ３ページ, シート「歳入」 …
    snippet: Snippet

    @property
    def link(self) -> str:
        return f"materials?meeting={self.meeting_id}&material={self.material_id}&page={self.page}"


@dataclass(frozen=True)
class SearchResults:
    query: SearchQuery
    terms: tuple[str, ...]
    utterances: tuple[UtteranceHit, ...] = ()
    utterance_total: int = 0
    total_is_lower_bound: bool = False  # "N 件以上"
    materials: tuple[MaterialHit, ...] = field(default_factory=tuple)
    elapsed_ms: float = 0.0

    @property
    def total_label(self) -> str:
        return f"{self.utterance_total:,} 件{'以上' if self.total_is_lower_bound else ''}"


def terms_of(text: str) -> tuple[str, ...]:
    """The words of a query: split at spaces (half- or full-width), quotes removed, each once."""
    words = [w.strip("\"'「」“”") for w in _SPACES.split(text.strip())]
    return tuple(dict.fromkeys(w for w in words if w))


_TO_HALF = {0xFF01 + i: 0x21 + i for i in range(94)}  # ！..～ → !..~
_TO_FULL = {v: k for k, v in _TO_HALF.items()}


def variants(term: str) -> tuple[str, ...]:
    """``term`` as typed, all half-width and all full-width (ASCII letters, digits and symbols), each once."""
    return tuple(dict.fromkeys((term, term.translate(_TO_HALF), term.translate(_TO_FULL))))


def _layer_snippet(u, terms: tuple[str, ...]) -> tuple[Snippet, int]:
    """The snippet and count of a hit from its text, or from its 素起こし when only that layer matched."""
    count = count_matches(u.text, terms)
    if count or not u.raw:
        return make_snippet(u.text, terms), count
    return make_snippet(f"（素起こし）{u.raw}", terms), count_matches(u.raw, terms)


def make_snippet(text: str, terms: tuple[str, ...], width: int = 80) -> Snippet:
    """About ``width`` characters of ``text`` around the first match, every match marked."""
    folded = text.lower()
    if len(folded) != len(text):
        folded = text
    spans: list[tuple[int, int]] = []
    for term in terms:
        needle = term.lower() if folded is not text else term
        start = folded.find(needle)
        while start >= 0 and needle:
            spans.append((start, start + len(needle)))
            start = folded.find(needle, start + len(needle))
    spans.sort()
    first = spans[0][0] if spans else 0
    left = max(0, min(first - width // 3, len(text) - width))
    right = min(len(text), left + width)
    parts: list[tuple[str, bool]] = [("…", False)] if left > 0 else []
    position = left
    for start, end in spans:
        if end <= position or start >= right:
            continue
        start = max(start, position)
        if start > position:
            parts.append((text[position:start], False))
        parts.append((text[start : min(end, right)], True))
        position = min(end, right)
    if position < right:
        parts.append((text[position:right], False))
    if right < len(text):
        parts.append(("…", False))
    return Snippet(tuple(parts))


def count_matches(text: str, terms: tuple[str, ...]) -> int:
    folded = text.lower()
    return sum(folded.count(term.lower()) for term in terms)


class SearchService(Service):
    """Search over the meetings the user may see: closed meetings of others (and drafts, for 閲覧者) are never
    searched."""

    def search(self, query: SearchQuery) -> SearchResults:
        require(self.user, Permission.READ)
        began = time.perf_counter()
        terms = terms_of(query.text)
        if not terms:
            raise InputError("検索する語を入力してください。", "empty query")
        if query.order not in ORDERS or query.scope not in SCOPES:
            raise InputError("並び順または検索対象の指定が正しくありません。", f"{query.order} / {query.scope}")
        if query.date_from and query.date_to and query.date_from > query.date_to:
            raise InputError("期間の開始日が終了日より後になっています。", "date_from > date_to")
        long_terms = [t for t in terms if len(t) >= 3]
        short_terms = [variants(t) for t in terms if len(t) < 3]
        long_groups = [variants(t) for t in long_terms]
        shown = tuple(v for t in terms for v in variants(t))  # what snippets mark and count
        filters = dict(
            date_from=query.date_from,
            date_to=query.date_to,
            kind=query.kind,
            meeting_id=query.meeting_id,
            org_id=self.user.org_id,  # never another organisation's meetings
        )
        utterances: tuple[UtteranceHit, ...] = ()
        total, lower_bound = 0, False
        materials: tuple[MaterialHit, ...] = ()
        with Session(self.engine) as session:
            filters["hidden"] = sorted(hidden_meetings(session, self.user))
            if query.meeting_id is not None:  # hidden, or another organisation's: say so rather than find nothing
                check(session, self.user, Permission.READ, query.meeting_id)
            if query.scope in ("all", "utterances"):
                scored, total, lower_bound = self._utterance_ids(session, query, long_groups, short_terms, filters)
                utterances = self._utterance_hits(session, scored, shown)
            if query.scope in ("all", "materials") and not query.speaker and query.offset == 0:
                materials = tuple(
                    MaterialHit(
                        material.id,
                        meeting.id,
                        meeting.title,
                        meeting.held_at,
                        material.title,
                        material.kind,
                        page.page,
                        page.label,
                        make_snippet(page.text, shown),
                    )
                    for page, material, meeting in store.search_material_pages(
                        session,
                        long_terms=long_groups,
                        short_terms=short_terms,
                        order=query.order,
                        limit=query.limit,
                        **filters,
                    )
                )
        elapsed = (time.perf_counter() - began) * 1000
        return SearchResults(query, terms, utterances, total, lower_bound, materials, elapsed)

    def _utterance_ids(
        self,
        session: Session,
        query: SearchQuery,
        long_groups: list[tuple[str, ...]],
        short_terms: list[tuple[str, ...]],
        filters: dict,
    ) -> tuple[list[tuple[int, float]], int, bool]:
        common = dict(
            order=query.order, limit=query.limit, offset=query.offset, count_cap=COUNT_CAP, speaker=query.speaker
        )
        if long_groups:
            scored, total = store.search_utterance_ids(
                session, long_terms=long_groups, short_terms=short_terms, vocab_ranges=(), **common, **filters
            )
            return scored, total, False
        probe = max(short_terms, key=lambda group: len(group[0]))
        others = [t for t in short_terms if t != probe]
        lows = dict.fromkeys(v.lower() for v in probe)
        ranges = tuple((low, low[:-1] + chr(ord(low[-1]) + 1)) for low in lows)
        if store.count_vocab(session, ranges=ranges, cap=VOCAB_CAP) < VOCAB_CAP:
            scored, total = store.search_utterance_ids(
                session, long_terms=(), short_terms=others, vocab_ranges=ranges, **common, **filters
            )
            return scored, total, False
        # A very common short word: meeting by meeting in date order until the page is full.
        meetings = store.search_meetings_in_order(session, order=query.order, **filters)
        wanted = query.offset + query.limit + 1
        found: list[int] = []
        index, batch = 0, 2
        while index < len(meetings) and len(found) < wanted:
            found += store.scan_utterance_ids(
                session, meeting_ids=meetings[index : index + batch], terms=short_terms, speaker=query.speaker
            )
            index += batch
            batch *= 2
        page = found[query.offset : query.offset + query.limit]
        return [(i, 0.0) for i in page], len(found), index < len(meetings)

    def _utterance_hits(
        self, session: Session, scored: list[tuple[int, float]], terms: tuple[str, ...]
    ) -> tuple[UtteranceHit, ...]:
        rows = store.utterance_hits(session, utterance_ids=[i for i, _ in scored])
        numbers: dict[int, dict[int, int]] = {}  # meeting id -> speaker id -> 話者N, for speakers nobody named
        hits = []
        for utterance_id, score in scored:
            if utterance_id not in rows:
                continue
            u, speaker, meeting = rows[utterance_id]
            # as the editor shows it, where the result opens
            name = " ".join(part for part in (speaker.role, speaker.name) if part)
            if not name:
                if meeting.id not in numbers:
                    numbers[meeting.id] = store.speaker_numbers(session, meeting_id=meeting.id)
                name = unnamed_speaker(numbers[meeting.id].get(speaker.id, 0))
            hits.append(
                UtteranceHit(
                    u.id,
                    meeting.id,
                    meeting.title,
                    meeting.kind,
                    meeting.held_at,
                    u.seq,
                    u.start,
                    u.end,
                    name,
                    u.agenda_order,
                    *_layer_snippet(u, terms),
                    score,
                )
            )
        return tuple(hits)

    def locate(self, utterance_id: int) -> tuple[int, int, float]:
        """(meeting id, position in the meeting, start seconds) of an utterance."""
        with Session(self.engine) as session:
            located = store.utterance_index(session, utterance_id=utterance_id)
            check(session, self.user, Permission.READ, located[0])
            return located

    def kinds(self) -> list[str]:
        with Session(self.engine) as session:
            return store.meeting_kinds(session, org_id=self.user.org_id)


def parse_date(text: str) -> dt.date:
    """A day as a clerk types it (:func:`minutes.clock.parse_day`), or InputError."""
    try:
        return clock.parse_day(text)
    except ValueError as error:
        raise InputError(str(error), f"bad date {text!r}") from None
