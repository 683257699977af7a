"""The chair's short calls (「町長。」「５番、佐藤花子議員。」) as utterances of their own, as a 会議録 needs them.

Pure functions over text and records:

- :func:`find_calls`: a short call at the start or end of an utterance's text (the chair's words recognised into
  someone else's utterance, because the turn was too short for the speaker separation to see it);
- :func:`chair_label`: which speaker label chairs, from what the speakers say (the procedural formulas);
- :func:`voice_cuts`: where the chair's voice, not the speaker's, opens or closes an utterance, when the recognised
  text does not show a call (Whisper writes 「町長。」 as 「ちょちょ、」, or the turn was too short for the speaker
  separation): the places after a pause or a punctuation mark near either end, judged by the similarity of that
  piece's voice to the chair's and to the speaker's own (computed by the caller);
- :func:`separate_calls`: each utterance of another speaker that opens or closes with a call is split, and the call
  given to the chair; an utterance that is nothing but a call is the chair's too.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from minutes.records import Utterance, Word

SENTENCE_ENDS = "。？！?!"

# The people a chair calls on by title: 「町長。」「総務課長。」「山田議員。」「５番、佐藤花子議員。」「山田太郎君。」
CALL_TITLES = (
    "議員",
    "君",
    "さん",
    "町長",
    "市長",
    "村長",
    "区長",
    "知事",
    "教育長",
    "部長",
    "課長",
    "局長",
    "室長",
    "所長",
    "次長",
    "参事",
    "理事",
    "委員",
    "管理者",
    "議会事務局長",
)
MAX_CALL = 20  # characters: a longer sentence is speech, not a call
_CALL = re.compile(
    r"^(?:[0-9０-９]+番[、，,\s]*)?"  # 「５番、」
    r"(?:[^。、，,！？!?\s]{0,12}?(?:" + "|".join(sorted(CALL_TITLES, key=len, reverse=True)) + r")"
    r"|[0-9０-９]+番)"  # … 議員 / 町長 …, or only 「５番」
    r"[。.]$"
)
# Said to the chair, not by the chair: 「議長。」 opens a member's own speech.
_NOT_A_CALL = re.compile(r"^(?:副?議長|副?委員長)[。.]$")


@dataclass(frozen=True)
class Call:
    """A short call at the ``start`` or ``end`` of an utterance: characters [begin, end) of its text."""

    position: str  # "start" or "end"
    begin: int
    end: int
    text: str

    @property
    def at(self) -> int:
        """Where the utterance is split to set the call apart."""
        return self.end if self.position == "start" else self.begin


def split_points(text: str) -> list[int]:
    """Positions right after each sentence end inside ``text`` (not at its very end)."""
    stripped = len(text.rstrip())
    return [i + 1 for i, ch in enumerate(text) if ch in SENTENCE_ENDS and 0 < i + 1 < stripped]


def _sentences(text: str) -> list[tuple[int, int]]:
    bounds = [0, *split_points(text), len(text)]
    return [(a, b) for a, b in itertools.pairwise(bounds) if text[a:b].strip()]


def is_call(sentence: str) -> bool:
    """Whether one sentence is a chair's short call: a title, a seat number or a name with 議員・君, and 。"""
    sentence = sentence.strip()
    return len(sentence) <= MAX_CALL and bool(_CALL.match(sentence)) and not _NOT_A_CALL.match(sentence)


def find_calls(text: str) -> list[Call]:
    """The short calls that open or close ``text`` (the chair's words recognised into someone else's utterance),
    when something else remains."""
    sentences = _sentences(text)
    if len(sentences) < 2:
        return []
    calls = []
    for position, (begin, end) in (("start", sentences[0]), ("end", sentences[-1])):
        piece = text[begin:end]
        if is_call(piece):
            lead = len(piece) - len(piece.lstrip())
            calls.append(Call(position, begin + lead, begin + len(piece.rstrip()), piece.strip()))
    return calls


# What only the chair says: opening, putting questions, giving the floor, recesses, closing.
CHAIR_FORMULAS = (
    "ただいまから",
    "会議を開きます",
    "お諮りします",
    "異議ありませんか",
    "異議なしと認め",
    "発言を許します",
    "休憩します",
    "再開します",
    "散会します",
    "閉会します",
    "延会します",
    "採決します",
    "起立を求めます",
    "可決されました",
    "質疑を終わります",
    "討論を終わります",
    "日程第",
)
MAX_CALL_SECONDS = 2.5  # a longer piece at an utterance's edge is speech, not a call
MIN_REST_SECONDS = 1.0  # what remains of the utterance after the call
MIN_PAUSE = 0.15  # seconds between two words where a call may end
PUNCTUATION = "、。，,？！?!"
MIN_UNMARKED, MAX_UNMARKED = 0.4, 2.0  # seconds: a call run into the speech (「町長」 … 「５番、佐藤議員」)
MAX_CUTS_PER_EDGE = 8


@dataclass(frozen=True)
class Cut:
    """A piece at the ``start`` or ``end`` of an utterance that may be someone else's call: text before or after
    character ``at``, spoken from ``start`` to ``end`` (seconds)."""

    position: str
    at: int
    start: float
    end: float
    marked: bool = True  # the boundary is a pause or a punctuation mark (else a closer voice is asked for)
    at_change: bool = False  # the piece borders another speaker's utterance (a short turn between two speeches)


def chair_label(utterances: Sequence[Utterance]) -> str | None:
    """The label that chairs: the one whose utterances hold most calls and chair's formulas (at least two, and more
    than any other label), or None when nobody clearly does."""
    counts: Counter[str] = Counter()
    for u in utterances:
        sentences = [u.text[a:b] for a, b in _sentences(u.text)]
        counts[u.speaker] += sum(is_call(s) for s in sentences) + sum(f in u.text for f in CHAIR_FORMULAS)
    ranked = counts.most_common(2)
    if not ranked or ranked[0][1] < 2 or (len(ranked) > 1 and ranked[1][1] == ranked[0][1]):
        return None
    return ranked[0][0]


def split_word_records(words: Sequence[Word], at: int) -> tuple[tuple[Word, ...], tuple[Word, ...]]:
    """Words before and after character ``at`` of their joined (space-free) text; a word cut in two gets a time in
    proportion to its characters."""
    first: list[Word] = []
    second: list[Word] = []
    position = 0
    for word in words:
        text = word.text.strip()
        n = len(text)
        if position + n <= at:
            first.append(replace(word, text=text))
        elif position >= at:
            second.append(replace(word, text=text))
        else:
            k = at - position
            cut = round(word.start + (word.end - word.start) * k / n, 3)
            first.append(replace(word, text=text[:k], end=cut))
            second.append(replace(word, text=text[k:], start=cut))
        position += n
    return tuple(first), tuple(second)


def cut_candidates(u: Utterance) -> list[Cut]:
    """The word boundaries near either end of ``u`` where a call by someone else could end (or begin): the piece at
    most MAX_CALL_SECONDS long and at least MIN_REST_SECONDS left; ``marked`` where a pause or a punctuation mark is
    (a call run into the next words without either is recognised only when the voice says so more clearly)."""
    words = u.words
    if len(words) < 2 or "".join(w.text.strip() for w in words) != u.text:
        return []
    offsets = list(itertools.accumulate(len(w.text.strip()) for w in words))
    cuts = []
    for i in range(1, len(words)):
        before, after = words[i - 1], words[i]
        marked = after.start - before.end >= MIN_PAUSE or before.text.strip()[-1:] in PUNCTUATION
        if before.end - u.start <= MAX_CALL_SECONDS and u.end - after.start >= MIN_REST_SECONDS:
            cuts.append(Cut("start", offsets[i - 1], u.start, before.end, marked))
        if u.end - after.start <= MAX_CALL_SECONDS and before.end - u.start >= MIN_REST_SECONDS:
            cuts.append(Cut("end", offsets[i - 1], after.start, u.end, marked))
    # each piece's voice is computed: keep the marked places and a few unmarked ones of a call's length
    return [c for c in cuts if c.marked or MIN_UNMARKED <= c.end - c.start <= MAX_UNMARKED][: 2 * MAX_CUTS_PER_EDGE]


def voice_cuts(
    candidates: Sequence[Cut],
    similarities: Sequence[tuple[float, float]],
    *,
    margin: float = 0.04,
    floor: float = 0.4,
    unmarked_margin: float = 0.15,
    change_margin: float = 0.0,
    marked_bonus: float = 0.05,
) -> list[Cut]:
    """The cuts (at most one at each end) whose piece sounds like the chair: ``similarities`` holds, for each
    candidate, the cosine of its voice to the chair's and to the utterance speaker's own. The piece must be closer to
    the chair by ``margin`` (``change_margin`` for a piece set off by a pause or a mark that borders another
    speaker's utterance: a short turn between two speeches is the chair's more often than not, and half a second of
    voice tells little) and at least ``floor`` close to it; the clearest one wins, a cut at a pause or a
    punctuation mark by ``marked_bonus`` (「ちょちょ、」 rather than 「ちょちょ、お」 taking the first sound of the
    answer's 「お答え」, which hardly changes the piece's voice)."""
    chosen = []
    for position in ("start", "end"):
        scored = [
            (chair - own + (marked_bonus if cut.marked else 0.0), cut)
            for cut, (chair, own) in zip(candidates, similarities, strict=True)
            if cut.position == position
            and chair - own >= _margin(cut, margin, unmarked_margin, change_margin)
            and chair >= floor
        ]
        if scored:
            chosen.append(max(scored, key=lambda pair: pair[0])[1])
    return chosen


def _margin(cut: Cut, margin: float, unmarked_margin: float, change_margin: float) -> float:
    if not cut.marked:
        return unmarked_margin
    return change_margin if cut.at_change else margin


def _split(u: Utterance, call: Call | Cut, chair: str) -> list[Utterance]:
    """``u`` as the call (the chair's) and the rest (its own speaker), in time order."""
    if "".join(w.text.strip() for w in u.words) != u.text or not u.words:
        return [u]  # text and words disagree (not a fresh draft): leave it to the clerk
    first_words, second_words = split_word_records(u.words, call.at)
    if not first_words or not second_words:
        return [u]
    first_speaker, second_speaker = (chair, u.speaker) if call.position == "start" else (u.speaker, chair)
    first_text, second_text = u.text[: call.at].strip(), u.text[call.at :].strip()
    if call.position == "start":
        first_text = closed(first_text)
    return [
        Utterance(first_speaker, first_words[0].start, first_words[-1].end, first_text, first_words),
        Utterance(second_speaker, second_words[0].start, second_words[-1].end, second_text, second_words),
    ]


def closed(text: str) -> str:
    """A call set apart ends as a sentence: 「３番、山田議員、」 or 「教育長」 → 「…。」."""
    if not text or text[-1] in SENTENCE_ENDS:
        return text
    return text.rstrip("、，,") + "。"


def separate_calls(
    utterances: Sequence[Utterance], chair: str | None, cuts: Mapping[int, Sequence[Cut]] | None = None
) -> list[Utterance]:
    """The chair's calls as utterances of their own, spoken by ``chair`` (a speaker label; None: nothing changes).

    An utterance of another speaker that opens or closes with a call is split there; an utterance that is nothing but
    a call is given to the chair (a member does not say 「町長。」 to himself). ``cuts``: for an utterance index, the
    pieces the chair's voice was heard in (:func:`voice_cuts`), used where the text shows no call. Japanese drafts
    only: the calls are Japanese, and the words of a fresh draft spell its text without spaces."""
    if chair is None:
        return list(utterances)
    out: list[Utterance] = []
    for index, u in enumerate(utterances):
        if u.speaker == chair:
            out.append(u)
        elif is_call(u.text):
            out.append(replace(u, speaker=chair))
        else:
            pieces = [u]
            found = _calls_and_cuts(find_calls(u.text), (cuts or {}).get(index, ()))
            for call in sorted(found, key=lambda c: c.position != "end"):  # the end first: indices hold
                head = pieces[0]
                pieces = _split(head, call, chair) + pieces[1:]
            out.extend(pieces)
    return out


def _calls_and_cuts(calls: Sequence[Call], cuts: Sequence[Cut]) -> list[Call | Cut]:
    """The calls the text shows, and the voice's cuts at the other edge (「３番、山田議員。」 heard at the start of
    the member's utterance, the chair's 「町長。」 misheard at its end), where they leave something between them."""
    found: list[Call | Cut] = list(calls)
    for cut in cuts:
        if any(c.position == cut.position for c in found):
            continue
        start = next((c.at for c in found if c.position == "start"), 0)
        end = next((c.at for c in found if c.position == "end"), None)
        if (cut.position == "end" and cut.at > start) or (cut.position == "start" and (end is None or cut.at < end)):
            found.append(cut)
    return found
