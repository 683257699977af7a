"""The layers of a draft: 素起こし (raw) → ケバ取り (kebatori) → 整文 (seibun). Pure functions on text and records.

- 素起こし: what was recognized, as the words spell it; never changed (``Utterance.raw``, the words keep the timings).
- ケバ取り: fillers (えー、あのー、まあ …, a list an administrator sets) and repeated false starts (「私は、私は」)
  removed. A filler goes only where it stands as its own phrase: at the start of the text or after 、。 and followed
  by 、 (or the end); a drawn-out one (えー, あのー, えーと, ええと, あのう) also when speech follows at once. So
  「その件」 and 「まあまあ」 stay.
- 整文: the punctuation made Japanese (、。, no spaces between Japanese characters, a final 。), the numbers in the
  assembly's notation (``MINUTES_NUMBER_STYLE``, :mod:`minutes.pipeline.numbers`: 「令和6年」→「令和６年」,
  「8500万円」→「８，５００万円」), then the accepted correction rules (:class:`minutes.records.CorrectionRule`; after
  the notation, as the clerks wrote them in the 整文 they edit). Search finds half- and full-width digits alike.

:func:`clean_utterances` is the pipeline stage; :func:`edit_replacements` finds what a clerk replaced in a line, from
which the services learn proposals for new rules.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace

from minutes import settings
from minutes.pipeline.numbers import check_style, number_notation
from minutes.records import CorrectionRule, Utterance


def parse_fillers(value: str | Iterable[str]) -> tuple[str, ...]:
    """The filler list from a setting's text (separated by 、, commas, spaces or lines), without duplicates."""
    parts = re.split(r"[、,，\s]+", value) if isinstance(value, str) else list(value)
    return tuple(dict.fromkeys(part.strip() for part in parts if part.strip()))


DEFAULT_FILLERS: tuple[str, ...] = parse_fillers(settings.DEFAULT_FILLERS)

_BREAK = "、。，．？！?!\u3000 "
_AFTER = r"(?:[、，,\u3000 ]+|(?=[。？！?!])|$)"
_SPACE_BETWEEN = re.compile(r"(?<=[^\x00-\x7f])[ \u3000]+(?=[^\x00-\x7f])")
_COMMA = re.compile(r"(?<![0-9０-９])[,，]")
_PERIOD = re.compile(r"(?<![0-9０-９A-Za-z])[.．](?![0-9０-９])")
_FALSE_START = re.compile(r"(?:^|(?<=[、。\u3000 ]))([^、。？！\u3000 ]{2,8})、(?=\1)")
_JAPANESE_END = re.compile(r"[\u3040-\u30ff\u3400-\u9fff々〆ヵヶ）」』]$")


@dataclass(frozen=True)
class CleanupOptions:
    """The cleanup stage's options, stored with the job. ``fillers``: the ケバ取り words (the administrator's
    setting ``MINUTES_FILLERS``); ``rules``: the accepted correction rules (the services add them when a job
    starts); ``numbers``: how the 整文 writes numbers (``MINUTES_NUMBER_STYLE``); ``enabled``: False keeps the text
    as recognized (all three layers equal)."""

    enabled: bool = True
    fillers: tuple[str, ...] = DEFAULT_FILLERS
    rules: tuple[CorrectionRule, ...] = ()
    numbers: str = settings.DEFAULT_NUMBER_STYLE

    def __post_init__(self) -> None:
        check_style(self.numbers)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> CleanupOptions:
        return cls(
            enabled=data.get("enabled", True),
            fillers=tuple(data.get("fillers", DEFAULT_FILLERS)),
            rules=tuple(CorrectionRule(**rule) for rule in data.get("rules", ())),
            numbers=data.get("numbers", "asis"),  # jobs stored before the setting wrote numbers as recognized
        )


@dataclass(frozen=True)
class Layers:
    raw: str
    kebatori: str
    seibun: str
    corrections: tuple[CorrectionRule, ...]  # the rules that changed the text


def _filler_pattern(fillers: Sequence[str]) -> re.Pattern[str] | None:
    if not fillers:
        return None
    alternatives = []
    for filler in sorted(set(fillers), key=len, reverse=True):
        drawn_out = "ー" in filler or filler.endswith(("と", "う"))  # えーと, ええと, えっと, あのう: never a word
        alternatives.append(re.escape(filler) + (r"[、，,\u3000 ]*" if drawn_out else _AFTER))
    return re.compile(rf"(?:^|(?<=[{_BREAK}]))(?:{'|'.join(alternatives)})")


def kebatori(text: str, fillers: Sequence[str] = DEFAULT_FILLERS) -> str:
    """``text`` without fillers standing as their own phrase and without repeated false starts."""
    pattern = _filler_pattern(fillers)
    result = text
    for _ in range(8):  # a filler can stand at a phrase's start only once the one before it is gone
        before = result
        if pattern is not None:
            result = pattern.sub("", result)
        result = _FALSE_START.sub("", result)
        if result == before:
            break
    result = result.strip(" \u3000、，,")
    # a line that was nothing but fillers keeps them: a line is never emptied
    return text.strip() if _NOT_A_WORD.match(result) else result


def punctuate(text: str) -> str:
    """Japanese punctuation: 、 and 。 for ASCII ones between words, no spaces between Japanese characters, no doubled
    marks, and a final 。 after Japanese text."""
    result = _SPACE_BETWEEN.sub("", text.strip())
    result = _PERIOD.sub("。", _COMMA.sub("、", result))
    result = re.sub(r"、+", "、", result)
    result = re.sub(r"、?。[、。]*", "。", result).lstrip("、。 \u3000")
    if _JAPANESE_END.search(result):
        result += "。"
    return result


def _context_holds(text: str, at: int, rule: CorrectionRule) -> bool:
    if not rule.context:
        return True
    if rule.wrong not in rule.context:
        return rule.context in text
    offset = rule.context.find(rule.wrong)
    while offset >= 0:
        start = at - offset
        if start >= 0 and text.startswith(rule.context, start):
            return True
        offset = rule.context.find(rule.wrong, offset + 1)
    return False


def apply_rules(text: str, rules: Sequence[CorrectionRule]) -> tuple[str, tuple[CorrectionRule, ...]]:
    """``text`` with the rules applied in one pass from left to right (the longest ``wrong`` first where several
    start at one place, so a rule's result is never corrected again), and the rules that changed it."""
    ordered = sorted((r for r in rules if r.wrong), key=lambda r: len(r.wrong), reverse=True)
    pieces: list[str] = []
    used: dict[tuple, CorrectionRule] = {}
    at = 0
    while at < len(text):
        rule = next((r for r in ordered if text.startswith(r.wrong, at) and _context_holds(text, at, r)), None)
        if rule is None:
            pieces.append(text[at])
            at += 1
            continue
        pieces.append(rule.right)
        used.setdefault((rule.wrong, rule.right, rule.context), rule)
        at += len(rule.wrong)
    return "".join(pieces), tuple(used.values())


def layers(raw: str, options: CleanupOptions, *, language: str = "ja") -> Layers:
    """The three layers of one utterance's recognized text. Fillers and punctuation are Japanese only; the rules
    apply in any language."""
    if not options.enabled:
        return Layers(raw, raw, raw, ())
    cleaned = kebatori(raw, options.fillers) if language == "ja" else raw
    tidy = number_notation(punctuate(cleaned), options.numbers) if language == "ja" else cleaned
    seibun, used = apply_rules(tidy, options.rules)
    return Layers(raw, cleaned, seibun.strip() or tidy, used)


def clean_utterances(
    utterances: Sequence[Utterance], options: CleanupOptions, *, language: str = "ja"
) -> list[Utterance]:
    """The cleanup stage: each utterance's ``text`` becomes its 整文 layer, ``raw`` and ``kebatori`` keep the
    others, ``corrections`` the rules applied."""
    cleaned = []
    for utterance in utterances:
        raw = utterance.raw or utterance.text
        result = layers(raw, options, language=language)
        cleaned.append(
            replace(utterance, text=result.seibun, raw=raw, kebatori=result.kebatori, corrections=result.corrections)
        )
    return cleaned


_NOT_A_WORD = re.compile(r"^[\s、。，．,.？！?!「」（）()・ー]*$")


def _script(character: str) -> str:
    if "\u4e00" <= character <= "\u9fff" or character in "々〆ヶ":
        return "kanji"
    if "\u30a0" <= character <= "\u30ff":
        return "katakana"
    return ""


def edit_replacements(before: str, after: str, *, longest: int = 20) -> list[tuple[str, str]]:
    """What a clerk replaced in a line (old → new substrings), by a character diff of its text before and after a
    save. Only replacements of real text: not insertions or deletions (a removed filler is no rule), not
    punctuation, not pieces longer than ``longest``, and nothing when most of the line was rewritten."""
    if before == after or not before or not after:
        return []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    if matcher.ratio() < 0.5:
        return []
    found = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "replace":  # to the whole run of kanji or katakana around it: 一観質問 → 一般質問, not 観 → 般
            while i1 > 0 and j1 > 0 and _script(before[i1 - 1]) == _script(before[i1]) != "":
                i1, j1 = i1 - 1, j1 - 1
            while i2 < len(before) and j2 < len(after) and _script(before[i2]) == _script(before[i2 - 1]) != "":
                i2, j2 = i2 + 1, j2 + 1
        old, new = before[i1:i2].strip(), after[j1:j2].strip()
        if tag != "replace" or not old or not new or len(old) > longest or len(new) > longest:
            continue
        if _NOT_A_WORD.match(old) or _NOT_A_WORD.match(new):
            continue
        found.append((old, new))
    return found


def mark_words(text: str, words: Sequence[tuple[str, bool]], *, reach: int = 8) -> list[tuple[str, bool]]:
    """``text`` in pieces, marked True where a flagged word is: each word is looked for in order, at most ``reach``
    characters after the previous one (fillers the 整文 dropped are skipped), so a word is never matched far off."""
    marked: list[tuple[str, bool]] = []
    at = 0
    for word, flagged in words:
        found = text.find(word, at, at + reach + len(word)) if word else -1
        if found < 0:
            continue
        if found > at:
            marked.append((text[at:found], False))
        marked.append((word, flagged))
        at = found + len(word)
    if at < len(text):
        marked.append((text[at:], False))
    merged: list[tuple[str, bool]] = []
    for piece, flagged in marked:
        if merged and merged[-1][1] == flagged:
            merged[-1] = (merged[-1][0] + piece, flagged)
        else:
            merged.append((piece, flagged))
    return merged
