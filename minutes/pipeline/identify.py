"""Who each speaker is: the speakers of a new meeting matched against the voice profiles of the assembly's people.

Pure functions over records and embeddings (``diarize.voices.Voice``): the embeddings of the utterances come in, a
relabelled list of utterances and one :class:`Match` per speaker label come out.

1. **Split.** A speaker whose utterances confidently match two different people (the clustering joined two voices)
   is split by them: the utterances of the second person get a label of their own.
2. **Merge.** Two speakers that match the same person, and whose voices are close to each other, are one speaker
   (the clustering cut one voice in two): they are merged.
3. **Assign.** One person per speaker and one speaker per person (the Hungarian method on the similarities), and only
   where the score passes the threshold, the speaker has enough speech, and the best person beats the second best by
   a margin. Everything else is unknown, with the best candidate kept as a suggestion: never a wrong name with
   confidence.
4. **Set apart** (:mod:`minutes.pipeline.stretches`, in the voice stage after the chair's calls, embedding short
   windows): the stretches of a named speaker's utterances that sound more like another candidate than the person
   named lose the name.

Scores are cosine similarities of unit CAM++ embeddings mapped to 0–1 by a logistic curve centred on the threshold
(:func:`score`): 0.5 at the threshold, about 0.9 at +0.1. The threshold and margin were set on the AMI excerpts of
the development data (enrolled from one excerpt, matched in another) and on synthetic council sessions;
``benchmarks/identify.py`` measures them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import linear_sum_assignment

from diarize.voices import Voice, average
from minutes.records import Utterance


@dataclass(frozen=True)
class Profile:
    """One person's voice: ``person`` is a key the caller understands (a roster id or a name)."""

    person: str
    voice: Voice


@dataclass(frozen=True)
class IdentifyOptions:
    threshold: float = 0.60  # cosine similarity at which the score is 0.5 and a name may be given
    scale: float = 0.05  # cosine per unit of the logistic's argument: +0.1 over the threshold scores 0.88
    margin: float = 0.05  # the best person's cosine must beat the second best by this much
    min_seconds: float = 3.0  # speech a speaker needs before it is named (shorter speakers: a suggestion only)
    merge_similarity: float = 0.65  # two speakers matching one person merge when their voices are this close…
    merge_gap: float = 0.10  # …and both match the person about as well (within this): a similar voice is not merged
    split_share: float = 0.2  # a second person takes a speaker's utterances only with this share of its speech
    utterance_threshold: float = 0.65  # an utterance counts for a person in the split step from this cosine
    suggest_score: float = 0.2  # an unnamed speaker is offered the closest free person from this score
    stretches: bool = True  # a named speaker's stretches that sound like another candidate lose the name (step 4)
    stretch_margin: float = 0.0  # …when another candidate's cosine beats the named person's by more than this
    enabled: bool = True  # False: no identification (``minutes transcribe --no-identify``)
    repair: bool = True  # split and merge speakers by the profiles (off for a stored meeting a clerk has edited)

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class Match:
    """Who a speaker label is: ``person`` (None: unknown) with ``score``; when unknown, ``suggested`` is the closest
    person (or None) and ``score`` its score."""

    person: str | None
    score: float
    suggested: str | None = None


@dataclass(frozen=True)
class Identification:
    utterances: tuple[Utterance, ...]
    matches: dict[str, Match]  # label → match, for every label of ``utterances``


def score(cosine: float, options: IdentifyOptions = IdentifyOptions()) -> float:
    """The calibrated score (0–1) of a cosine similarity."""
    return round(1.0 / (1.0 + math.exp(-(cosine - options.threshold) / options.scale)), 4)


def speaker_voices(utterances: Sequence[Utterance], voices: Sequence[Voice | None]) -> dict[str, Voice | None]:
    by_label: dict[str, list[Voice]] = defaultdict(list)
    for u, voice in zip(utterances, voices, strict=True):
        by_label.setdefault(u.speaker, [])
        if voice is not None:
            by_label[u.speaker].append(voice)
    return {label: average(found) for label, found in by_label.items()}


def _matrix(speakers: Mapping[str, Voice | None], profiles: Sequence[Profile]) -> tuple[list[str], np.ndarray]:
    labels = list(speakers)
    matrix = np.full((len(labels), len(profiles)), -1.0)
    for i, label in enumerate(labels):
        voice = speakers[label]
        if voice is not None:
            for j, profile in enumerate(profiles):
                matrix[i, j] = float(voice.embedding @ profile.voice.embedding)
    return labels, matrix


def new_label(used: set[str], base: str) -> str:
    n = 1
    while f"{base}_{n}" in used:
        n += 1
    return f"{base}_{n}"


def _split(
    utterances: list[Utterance], voices: Sequence[Voice | None], profiles: Sequence[Profile], options: IdentifyOptions
) -> list[Utterance]:
    """Speakers whose utterances confidently belong to two people are split by them."""
    confident: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))  # label → person → indexes
    seconds: dict[str, float] = defaultdict(float)
    for index, (u, voice) in enumerate(zip(utterances, voices, strict=True)):
        seconds[u.speaker] += u.end - u.start
        if voice is None:
            continue
        similarities = sorted(((float(voice.embedding @ p.voice.embedding), j) for j, p in enumerate(profiles)))
        best, j = similarities[-1]
        second = similarities[-2][0] if len(similarities) > 1 else -1.0
        if best >= options.utterance_threshold and best - second >= options.margin:
            confident[u.speaker][j].append(index)
    used = {u.speaker for u in utterances}
    out = list(utterances)
    for label, people in confident.items():
        if len(people) < 2:
            continue
        speech = {j: sum(utterances[i].end - utterances[i].start for i in found) for j, found in people.items()}
        main = max(speech, key=speech.__getitem__)
        for j, found in people.items():
            if j == main or speech[j] < options.min_seconds or speech[j] < options.split_share * seconds[label]:
                continue
            new = new_label(used, label)
            used.add(new)
            for i in found:
                out[i] = replace(out[i], speaker=new)
    return out


def _merge(
    utterances: list[Utterance], voices: Sequence[Voice | None], profiles: Sequence[Profile], options: IdentifyOptions
) -> list[Utterance]:
    """Speakers that match one person and sound alike are one speaker (the one with more speech keeps its label)."""
    speakers = speaker_voices(utterances, voices)
    labels, matrix = _matrix(speakers, profiles)
    if not profiles:
        return utterances
    by_person: dict[int, list[str]] = defaultdict(list)
    person_of: dict[str, int] = {}
    index = {label: i for i, label in enumerate(labels)}
    for i, label in enumerate(labels):
        j = int(np.argmax(matrix[i]))
        if matrix[i, j] >= options.threshold:
            by_person[j].append(label)
            person_of[label] = j
    rename: dict[str, str] = {}
    for group in by_person.values():
        group.sort(key=lambda label: -(speakers[label].seconds if speakers[label] else 0.0))
        keeper = group[0]
        j = person_of[keeper]
        for other in group[1:]:
            close = float(speakers[keeper].embedding @ speakers[other].embedding) >= options.merge_similarity
            if close and abs(matrix[index[other], j] - matrix[index[keeper], j]) <= options.merge_gap:
                rename[other] = keeper
    return [replace(u, speaker=rename.get(u.speaker, u.speaker)) for u in utterances]


def _assign(
    speakers: Mapping[str, Voice | None], profiles: Sequence[Profile], options: IdentifyOptions
) -> dict[str, Match]:
    labels, matrix = _matrix(speakers, profiles)
    matches = {label: Match(None, 0.0) for label in labels}
    if not profiles or not labels:
        return matches
    given: set[int] = set()
    rows, columns = linear_sum_assignment(-matrix)
    for i, j in zip(rows, columns, strict=True):
        voice = speakers[labels[i]]
        others = np.delete(matrix[i], j)
        second = float(others.max()) if others.size else -1.0
        if (
            voice is not None
            and matrix[i, j] >= options.threshold
            and matrix[i, j] - second >= options.margin
            and voice.seconds >= options.min_seconds
        ):
            matches[labels[i]] = Match(profiles[j].person, score(matrix[i, j], options))
            given.add(j)
    for i, label in enumerate(labels):  # the others: the closest person nobody was named as, as a suggestion
        free = [j for j in range(len(profiles)) if j not in given and matrix[i, j] > -1.0]
        if matches[label].person is None and free:
            j = max(free, key=lambda k: matrix[i, k])
            if score(matrix[i, j], options) >= options.suggest_score:
                matches[label] = Match(None, score(matrix[i, j], options), profiles[j].person)
    return matches


def identify(
    utterances: Sequence[Utterance],
    voices: Sequence[Voice | None],
    profiles: Sequence[Profile],
    options: IdentifyOptions = IdentifyOptions(),
) -> Identification:
    """Match the speakers of ``utterances`` (with one voice per utterance, None where too short) to ``profiles``.

    Profiles of the same person are averaged first; with no profile every speaker is unknown and nothing changes."""
    profiles = one_per_person(profiles)
    utterances = list(utterances)
    if profiles and options.repair:
        utterances = _split(utterances, voices, profiles, options)
        utterances = _merge(utterances, voices, profiles, options)
    matches = _assign(speaker_voices(utterances, voices), profiles, options)
    return Identification(tuple(utterances), matches)


def one_per_person(profiles: Sequence[Profile]) -> list[Profile]:
    """One profile per person: the samples of the same person averaged."""
    grouped: dict[str, list[Voice]] = defaultdict(list)
    for profile in profiles:
        grouped[profile.person].append(profile.voice)
    return [Profile(person, voice) for person, found in grouped.items() if (voice := average(found)) is not None]
