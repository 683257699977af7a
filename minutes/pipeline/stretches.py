"""Naming only the speech that sounds like the person: a named speaker's utterances are listened to again in short
windows, and a stretch that sounds more like another enrolled person than the one named is set apart, unnamed.

Why: a speaker label is named from the average voice of all its utterances, but one utterance of the diarization
often holds two people (a short answer run into a long turn, overlapping speech). The average still says who speaks
most, so the whole utterance got that name, and the minority's speech a wrong name with confidence: on the AMI
excerpts this was 12–17 % of the enrolled speakers' speech. Here each window of ``WINDOW`` seconds (every ``HOP``
seconds) is compared with the named person and with the other candidates; where the windows covering a moment are
closer to another candidate than to the named one, the moment is doubtful. Doubtful stretches of at least
``MIN_STRETCH`` seconds become utterances of a new, unknown label (one per named label), with the closest person as a
suggestion; the clerk names them on the 話者 page. Nothing is named here that was not: a name is only taken away
(but for the chair's calls below).

A doubtful stretch at the very start or end of the utterance, no longer than a call (``calls.MAX_CALL_SECONDS``),
whose windows sound most like the person who chairs goes to the chair's label instead: it is the chair's call
(「３番、山田議員。」 run into the member's 「３番、山田です。」 without a pause, which the text does not show when
Whisper writes 議員 as 銀); the chair is named, so this gives a name only where the person is already named.

Pure functions over records and embeddings, like :mod:`minutes.pipeline.identify`; ``voices.VoiceStage`` embeds the
windows.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from diarize.voices import Voice, unit
from minutes.pipeline.calls import MAX_CALL_SECONDS, closed
from minutes.pipeline.identify import Identification, IdentifyOptions, Match, Profile, new_label, one_per_person, score
from minutes.records import Utterance

WINDOW = 1.5  # seconds of speech per window: the shortest stretch CAM++ tells voices apart in reasonably
HOP = 0.5  # seconds between windows, and the resolution of a doubtful stretch
MIN_STRETCH = 1.0  # a doubtful stretch shorter than this stays with the named speaker (one window's noise)

Window = tuple[int, float, float]  # (utterance index, start, end)
Stretch = tuple[float, float, str]  # (start, end, the label it goes to)


def windows(identification: Identification) -> list[Window]:
    """The windows to embed: over every utterance of a named speaker."""
    out: list[Window] = []
    for index, u in enumerate(identification.utterances):
        match = identification.matches.get(u.speaker)
        if match is None or match.person is None:
            continue
        if u.end - u.start <= WINDOW:
            out.append((index, u.start, u.end))
            continue
        start = u.start
        while start + WINDOW < u.end:
            out.append((index, start, start + WINDOW))
            start += HOP
        out.append((index, u.end - WINDOW, u.end))
    return out


def doubtful(
    u: Utterance,
    found: Sequence[tuple[float, float, Voice]],
    own: np.ndarray,
    others: Sequence[np.ndarray],
    margin: float,
) -> list[tuple[float, float]]:
    """The stretches of ``u`` (merged cells of HOP seconds, each at least MIN_STRETCH long) where the windows
    covering the moment sound closer to one of ``others`` than to ``own`` by more than ``margin``."""
    if not others or not found:
        return []
    stretches: list[list[float]] = []
    start = u.start
    while start < u.end - 1e-6:
        end = min(u.end, start + HOP)
        middle = (start + end) / 2
        covering = [voice.embedding for a, b, voice in found if a <= middle < b]
        if covering:
            mean = unit(np.mean(covering, axis=0))
            if max(float(mean @ other) for other in others) - float(mean @ own) > margin:
                if stretches and abs(stretches[-1][1] - start) < 1e-6:
                    stretches[-1][1] = end
                else:
                    stretches.append([start, end])
        start = end
    return [(a, b) for a, b in stretches if b - a >= MIN_STRETCH]


def _pieces(u: Utterance, stretches: Sequence[Stretch]) -> list[Utterance]:
    """``u`` cut at the edges of ``stretches``: the pieces inside one get its label. With words, each word goes with
    the piece its middle is in and the pieces' text is their words'; without words and text (a diarization turn),
    the cut is by time; where the words do not spell the text (an edited line), the whole utterance goes to the
    first stretch's label when most of it is doubtful and stays as it is otherwise."""

    def label_at(t: float) -> str:
        return next((label for a, b, label in stretches if a <= t < b), u.speaker)

    if not u.words and not u.text:
        cuts = sorted({u.start, u.end, *(t for a, b, _ in stretches for t in (a, b) if u.start < t < u.end)})
        return [Utterance(label_at((a + b) / 2), a, b, "") for a, b in itertools.pairwise(cuts)]
    if not u.words or "".join(w.text.strip() for w in u.words) != u.text:
        share = sum(min(b, u.end) - max(a, u.start) for a, b, _ in stretches) / max(u.end - u.start, 1e-6)
        return [replace(u, speaker=stretches[0][2])] if share > 0.5 else [u]
    groups: list[tuple[str, list]] = []
    for word in u.words:
        label = label_at((word.start + word.end) / 2)
        if groups and groups[-1][0] == label:
            groups[-1][1].append(word)
        else:
            groups.append((label, [word]))
    if len(groups) == 1 and groups[0][0] == u.speaker:
        return [u]
    return [
        replace(
            u,
            speaker=label,
            start=words[0].start,
            end=words[-1].end,
            text="".join(w.text.strip() for w in words),
            words=tuple(words),
            raw="",
            kebatori="",
        )
        for label, words in groups
    ]


def _is_call(u: Utterance, stretch: tuple[float, float]) -> bool:
    """A doubtful stretch that could be the chair's call: at the very start or end of ``u``, no longer than a call,
    and something of ``u`` left beside it."""
    a, b = stretch
    at_edge = a <= u.start + 1e-6 or b >= u.end - 1e-6
    return at_edge and b - a <= MAX_CALL_SECONDS and (u.end - u.start) - (b - a) >= HOP


def _closest(found: Sequence[tuple[float, float, Voice]], stretch: tuple[float, float], people: dict) -> str | None:
    """The person the windows of ``stretch`` sound most like."""
    inside = [voice.embedding for a, b, voice in found if stretch[0] <= (a + b) / 2 < stretch[1]]
    if not inside:
        return None
    mean = unit(np.mean(inside, axis=0))
    return max(people, key=lambda key: float(mean @ people[key]))


def set_apart(
    identification: Identification,
    found: Sequence[Window],
    voices: Sequence[Voice | None],
    profiles: Sequence[Profile],
    options: IdentifyOptions,
    chairs: frozenset[str] = frozenset(),
) -> Identification:
    """``identification`` with the doubtful stretches of its named speakers given a new unknown label each, except
    a call-like stretch at an utterance's edge that sounds like one of ``chairs`` (profile keys), which goes to that
    person's label. ``found`` and ``voices``: the windows (:func:`windows`) and their embeddings (None where too short).

    Only the candidates' profiles are compared, not the meeting's other (unnamed) speakers: those often hold pieces
    of the named person's own voice (the clustering cut it in two), and comparing them took the name from half of
    the right speech on the AMI excerpts (trn06→trn09 right 90 % → 52 %)."""
    people = {p.person: p.voice.embedding for p in one_per_person(profiles)}
    by_utterance: dict[int, list[tuple[float, float, Voice]]] = defaultdict(list)
    for (index, start, end), voice in zip(found, voices, strict=True):
        if voice is not None:
            by_utterance[index].append((start, end, voice))
    used = {u.speaker for u in identification.utterances}
    chair_labels = {m.person: label for label, m in identification.matches.items() if m.person in chairs}
    labels: dict[str, str] = {}
    out: list[Utterance] = []
    doubtful_voices: dict[str, list[np.ndarray]] = defaultdict(list)
    for index, u in enumerate(identification.utterances):
        match = identification.matches.get(u.speaker)
        person = match.person if match is not None else None
        if person is None or person not in people or index not in by_utterance:
            out.append(u)
            continue
        others = [embedding for key, embedding in people.items() if key != person]
        stretches = doubtful(u, by_utterance[index], people[person], others, options.stretch_margin)
        if not stretches:
            out.append(u)
            continue
        chair_of = {
            stretch: chair_labels.get(_closest(by_utterance[index], stretch, people) or "")
            for stretch in stretches
            if _is_call(u, stretch) and person not in chair_labels
        }
        unknown = [stretch for stretch in stretches if not chair_of.get(stretch)]
        if unknown and u.speaker not in labels:
            labels[u.speaker] = new_label(used, u.speaker)
            used.add(labels[u.speaker])
        pieces = _pieces(u, [(a, b, chair_of.get((a, b)) or labels[u.speaker]) for a, b in stretches])
        if len(pieces) > 1 and pieces[0].speaker in chair_labels.values():
            pieces[0] = replace(pieces[0], text=closed(pieces[0].text))  # a call set apart ends as a sentence
        out.extend(pieces)
        if unknown:
            doubtful_voices[labels[u.speaker]] += [
                v.embedding for a, b, v in by_utterance[index] if any(x <= (a + b) / 2 < y for x, y in unknown)
            ]
    matches = dict(identification.matches)
    for original, label in labels.items():
        if any(u.speaker == label for u in out):
            matches[label] = _suggestion(doubtful_voices[label], people, matches[original].person, options)
    return Identification(tuple(out), {label: match for label, match in matches.items() if _has(out, label)})


def _has(utterances: Sequence[Utterance], label: str) -> bool:
    return any(u.speaker == label for u in utterances)


def _suggestion(
    embeddings: Sequence[np.ndarray], people: dict[str, np.ndarray], named: str | None, options: IdentifyOptions
) -> Match:
    """A set-apart label is unknown; the closest other person is its suggestion."""
    candidates = {key: embedding for key, embedding in people.items() if key != named}
    if not embeddings or not candidates:
        return Match(None, 0.0)
    mean = unit(np.mean(embeddings, axis=0))
    key = max(candidates, key=lambda k: float(mean @ candidates[k]))
    value = score(float(mean @ candidates[key]), options)
    return Match(None, value, key) if value >= options.suggest_score else Match(None, 0.0)
