"""Words to favour in recognition: the built-in 議会用語, the assembly's dictionary and the meeting's own words, read
from CSV and chosen, per transcription window, within Whisper's prompt limit.

faster-whisper puts ``hotwords`` in the prompt of every 30-second segment it decodes (``initial_prompt`` reaches only
the first one when ``condition_on_previous_text`` is off, as here), and cuts them after 223 tokens (half of the
decoder's 448-token context, less the start-of-prompt token). So a dictionary larger than that budget is ranked and
cut here, where it is known which words were left out: the meeting's words first, then the assembly's dictionary,
then the built-in vocabulary; within each, the words that the window's context (the meeting's titles and the text
recognized just before) already mentions come first. Tokens are counted with the model's own tokenizer.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from pathlib import Path

from minutes.errors import InputError
from minutes.records import Term

KINDS = ("人名", "地名", "施設", "事業", "会派", "議会用語", "その他")
# Within a source, the order in which kinds get the prompt's room (see rank_terms). People come last: those of this
# meeting arrive as meeting terms (its attendees, the roster) or are brought forward once mentioned; a list of the
# assembly's names in the prompt was copied into the text by base (benchmarks/accuracy.py, "small").
KIND_PRIORITY = ("議会用語", "事業", "施設", "地名", "会派", "その他", "人名")
HEADER = ("表記", "読み", "種別")
SOURCES = ("meeting", "dictionary", "builtin")  # in order of priority
HOTWORD_TOKENS = 223  # faster-whisper keeps the first max_length // 2 - 1 tokens of " " + hotwords
BUILTIN_SHARE = 0.25  # of the budget kept for the built-in vocabulary when the dictionary alone would fill it
SEPARATOR = " "  # between hotwords; the prompt joins them with 「、」, counted (the dearer of the two) here
MAX_TEXT = 60
MAX_ERRORS_SHOWN = 20
BUILTIN_CSV = Path(__file__).resolve().parent / "data" / "gikai.csv"
_KANA = re.compile(r"^[\u3040-\u30ff\u30fc・ 　]*$")
_FILE_SUFFIX = re.compile(r"\.(pdf|docx?|xlsx?|pptx?|txt|csv|png|jpe?g)$", re.IGNORECASE)

TokenCounter = Callable[[str], int]


def check_term(text: str, reading: str = "", kind: str = "その他") -> Term:
    """A valid dictionary term, or InputError saying what is wrong (in the clerk's words)."""
    text, reading, kind = (text or "").strip(), (reading or "").strip(), (kind or "").strip() or "その他"
    if not text:
        raise InputError("表記が空です。", "empty term")
    if len(text) > MAX_TEXT:
        raise InputError(f"表記が長すぎます（{MAX_TEXT} 文字まで）。", f"term of {len(text)} characters")
    if any(c in text for c in "\r\n\t"):
        raise InputError("表記に改行やタブは使えません。", "control character in term")
    if reading and (len(reading) > MAX_TEXT or not _KANA.match(reading)):
        raise InputError("読みはひらがな・カタカナで入力してください。", f"reading {reading!r}")
    if kind not in KINDS:
        raise InputError(f"種別「{kind}」は使えません（{'・'.join(KINDS)} のどれか）。", f"kind {kind!r}")
    return Term(text, reading, kind, "dictionary")


def read_terms_csv(data: bytes, *, source: str = "dictionary") -> list[Term]:
    """Parse a 用語辞書 CSV (UTF-8 with or without BOM; header ``表記,読み,種別``; 読み and 種別 may be empty). Every
    bad row is reported at once, by line number, and nothing is returned unless all rows are good."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(
            "CSV を UTF-8 として読めません。Excel では「CSV UTF-8（コンマ区切り）」で保存してください。", "not utf-8"
        ) from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(cell.strip() for cell in rows[0][:3]) != HEADER:
        raise InputError("1行目は見出し「表記,読み,種別」にしてください。", f"header {rows[:1]}")
    terms, errors, seen = [], [], set()
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > 3 and any(cell.strip() for cell in row[3:]):
            errors.append(f"{line}行目: 列が多すぎます（表記,読み,種別 の3列）。")
            continue
        cells = [*row, "", ""][:3]
        try:
            term = check_term(*cells)
        except InputError as error:
            errors.append(f"{line}行目: {error.message}")
            continue
        if term.text in seen:
            errors.append(f"{line}行目: 「{term.text}」が重複しています。")
            continue
        seen.add(term.text)
        terms.append(Term(term.text, term.reading, term.kind, source))
    if errors:
        shown = errors[:MAX_ERRORS_SHOWN] + ([f"ほか {len(errors) - MAX_ERRORS_SHOWN} 件"] if len(errors) > 20 else [])
        raise InputError(
            f"CSV に誤りが {len(errors)} 件あるため、取り込みませんでした。\n" + "\n".join(shown),
            f"{len(errors)} bad rows",
        )
    return terms


def write_terms_csv(terms: Iterable[Term]) -> bytes:
    """The terms as a 用語辞書 CSV (UTF-8 with BOM, so that Excel opens it; CRLF)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for term in terms:
        writer.writerow((term.text, term.reading, term.kind))
    return buffer.getvalue().encode("utf-8-sig")


@lru_cache(maxsize=1)
def builtin_terms() -> tuple[Term, ...]:
    """The shipped 議会用語 (``data/gikai.csv``; provenance in ``data/README.md``)."""
    return tuple(read_terms_csv(BUILTIN_CSV.read_bytes(), source="builtin"))


def terms_from_titles(titles: Iterable[str], *, kind: str = "その他") -> list[Term]:
    """Meeting terms from titles (agenda items, materials): file suffixes dropped, blanks and duplicates skipped,
    each cut to the longest a term may be."""
    terms, seen = [], set()
    for title in titles:
        text = _FILE_SUFFIX.sub("", (title or "").strip()).strip()[:MAX_TEXT]
        if text and text not in seen:
            seen.add(text)
            terms.append(Term(text, "", kind, "meeting"))
    return terms


def terms_from_words(words: str | None) -> list[Term]:
    """The clerk's free-text extra words (space separated) as meeting terms."""
    return terms_from_titles((words or "").split())


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)} or ({text} if text else set())


def _mentioned(term: Term, context: set[str]) -> float:
    """The share of the term's character pairs that occur in the context; 0 below one half."""
    pairs = _bigrams(term.text.replace(" ", ""))
    share = len(pairs & context) / len(pairs) if pairs else 0.0
    return share if share >= 0.5 else 0.0


def rank_terms(terms: Iterable[Term], context: str = "") -> list[Term]:
    """Unique terms (by 表記; the higher-priority source wins), most relevant first: by source, then by how much of
    them ``context`` mentions, then by kind (names before places before the rest), then in the order given."""
    best: dict[str, tuple[int, Term]] = {}
    for index, term in enumerate(terms):
        known = best.get(term.text)
        if known is None or SOURCES.index(term.source) < SOURCES.index(known[1].source):
            best[term.text] = (index, term)
    pairs = _bigrams(re.sub(r"\s", "", context))

    def key(item: tuple[int, Term]) -> tuple:
        index, term = item
        kind = KIND_PRIORITY.index(term.kind) if term.kind in KIND_PRIORITY else len(KIND_PRIORITY)
        return (SOURCES.index(term.source), -_mentioned(term, pairs), kind, index)

    return [term for _, term in sorted(best.values(), key=key)]


def select_terms(
    terms: Sequence[Term],
    count_tokens: TokenCounter,
    *,
    budget: int = HOTWORD_TOKENS,
    context: str = "",
    builtin_share: float = BUILTIN_SHARE,
) -> tuple[Term, ...]:
    """The most relevant terms whose :func:`hint_text` fits in ``budget`` tokens (as ``count_tokens`` counts them).
    Up to ``builtin_share`` of the budget is kept for the built-in vocabulary, so that a large dictionary does not
    push out the procedure words every meeting uses; what the built-in words leave unused goes to the others."""
    ranked = rank_terms(terms, context)
    builtin = [t for t in ranked if t.source == "builtin"]
    others = [t for t in ranked if t.source != "builtin"]
    builtin_need = _fill(builtin, count_tokens, int(budget * builtin_share))
    chosen = _fill(others, count_tokens, budget - _cost(builtin_need, count_tokens))
    chosen += _fill(builtin, count_tokens, budget - _cost(chosen, count_tokens))
    while chosen and _cost(chosen, count_tokens) > budget:  # BPE merges across a separator are rare; be exact
        chosen.pop()
    return tuple(chosen)


def _cost(terms: Sequence[Term], count_tokens: TokenCounter) -> int:
    return count_tokens(" " + hint_text(terms, "、")) if terms else 0


def _fill(terms: Sequence[Term], count_tokens: TokenCounter, budget: int) -> list[Term]:
    """Terms in order while they fit (a term too long to fit is skipped, the next shorter one may still fit)."""
    chosen: list[Term] = []
    used = 0
    for term in terms:
        cost = count_tokens("、" + term.text)
        if used + cost <= budget:
            chosen.append(term)
            used += cost
    return chosen


def hint_text(terms: Iterable[Term], separator: str = SEPARATOR) -> str:
    """The terms as faster-whisper is given them: space-separated hotwords, or a 「、」-separated prompt."""
    return separator.join(term.text for term in terms)
