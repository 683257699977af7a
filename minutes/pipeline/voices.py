"""The voice stage, after the words are assigned: who each speaker is (``identify``) and the chair's calls set
apart (``calls``), both from the voices of the utterances (CAM++ embeddings of their spans).

Without voice profiles nothing is identified; the chair is then the speaker who says the chair's formulas, and only
the pieces at utterance edges are compared with the chair's voice (a few seconds of audio each), so the stage costs
little on top of diarization.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from diarize.voices import Voice, average, embed_spans, load_embedding_model
from minutes.pipeline import calls, stretches
from minutes.pipeline.calls import Cut, chair_label, cut_candidates, find_calls, voice_cuts
from minutes.pipeline.identify import Identification, IdentifyOptions, Match, Profile, identify
from minutes.progress import ProgressCallback, no_progress
from minutes.records import Utterance

STAGE = "identify"
CENTROID_UTTERANCES = 20  # the longest utterances of a speaker that make its voice when no profile needs them all
CENTROID_SECONDS = 10.0  # of each of them (the middle)


class VoiceStage:
    """Embeddings of one recording's utterances, computed once and shared by identification and the calls."""

    def __init__(
        self,
        samples: np.ndarray,
        options: IdentifyOptions | None = None,
        device: str = "cpu",
        progress: ProgressCallback = no_progress,
    ) -> None:
        self.samples = samples
        self.options = options or IdentifyOptions()
        self.device = device
        self.progress = progress
        self._model = None

    @property
    def model(self):
        if self._model is None:
            self._model = load_embedding_model(device=self.device)
        return self._model

    def voices(self, utterances: Sequence[Utterance]) -> list[Voice | None]:
        """One voice per utterance (None where it is under a second)."""
        return embed_spans(self.model, self.samples, [(u.start, u.end) for u in utterances], progress=self.progress)

    def run(
        self,
        utterances: Sequence[Utterance],
        profiles: Sequence[Profile],
        chairs: frozenset[str] = frozenset(),
        *,
        separate_calls: bool = True,
    ) -> tuple[list[Utterance], dict[str, Match]]:
        """(utterances, label → match): identified when ``profiles`` are given, the chair's calls set apart when
        ``separate_calls``, then the stretches of named speakers that sound like another candidate set apart, unnamed
        (after the calls: a call inside another speaker's utterance is the chair's, not an unknown's).
        ``chairs``: the profile keys of those who chair the meeting."""
        self.progress(STAGE, 0, 1, "発言者を特定しています")
        utterances = list(utterances)
        people: dict[str, Match] = {}
        voices: list[Voice | None] | None = None
        identifying = bool(profiles) and self.options.enabled
        if identifying:
            voices = self.voices(utterances)
            result = identify(utterances, voices, profiles, self.options)
            utterances, people = list(result.utterances), result.matches
        if separate_calls:
            chair = next((label for label, m in people.items() if m.person is not None and m.person in chairs), None)
            chair = chair or chair_label(utterances)
            if chair is not None:
                cuts = self._cuts(utterances, voices, chair)
                utterances = calls.separate_calls(utterances, chair, cuts)
        if identifying and self.options.repair and self.options.stretches:
            result = self._set_apart(
                Identification(tuple(utterances), people), profiles, chairs if separate_calls else frozenset()
            )
            utterances, people = list(result.utterances), result.matches
        named = sum(match.person is not None for match in people.values())
        self.progress(STAGE, 1, 1, f"{len(people)} 人のうち {named} 人を名簿の人と特定しました" if people else "")
        return utterances, people

    def _set_apart(
        self, identification: Identification, profiles: Sequence[Profile], chairs: frozenset[str]
    ) -> Identification:
        """The stretches of named speakers that sound like another candidate, set apart unnamed
        (:mod:`minutes.pipeline.stretches`): their windows embedded here."""
        found = stretches.windows(identification)
        if not found:
            return identification
        spans = [(start, end) for _, start, end in found]
        window_voices = embed_spans(self.model, self.samples, spans, min_seconds=stretches.MIN_STRETCH)
        return stretches.set_apart(identification, found, window_voices, profiles, self.options, chairs)

    def _centroids(self, utterances: Sequence[Utterance], voices: Sequence[Voice | None] | None) -> dict[str, Voice]:
        """Each speaker's voice: from all its utterances' voices when known, else from its longest utterances."""
        if voices is None:
            longest: dict[str, list[int]] = defaultdict(list)
            for index in sorted(range(len(utterances)), key=lambda i: utterances[i].start - utterances[i].end):
                if len(longest[utterances[index].speaker]) < CENTROID_UTTERANCES:
                    longest[utterances[index].speaker].append(index)
            chosen = sorted(i for found in longest.values() for i in found)
            spans = [_middle(utterances[i], CENTROID_SECONDS) for i in chosen]
            computed = dict(zip(chosen, embed_spans(self.model, self.samples, spans), strict=True))
            voices = [computed.get(i) for i in range(len(utterances))]
        grouped: dict[str, list[Voice]] = defaultdict(list)
        for u, voice in zip(utterances, voices, strict=True):
            if voice is not None:
                grouped[u.speaker].append(voice)
        return {label: voice for label, found in grouped.items() if (voice := average(found)) is not None}

    def _cuts(
        self, utterances: Sequence[Utterance], voices: Sequence[Voice | None] | None, chair: str
    ) -> dict[int, list[Cut]]:
        """Per utterance of another speaker: the edge pieces spoken in the chair's voice, at the edges where its text
        shows no call."""
        centroids = self._centroids(utterances, voices)
        if chair not in centroids:
            return {}
        wanted = {}
        for index, u in enumerate(utterances):
            if u.speaker != chair and u.speaker in centroids:
                settled = {call.position for call in find_calls(u.text)}
                changes = _changes(utterances, index)
                wanted[index] = [
                    replace(cut, at_change=cut.position in changes)
                    for cut in cut_candidates(u)
                    if cut.position not in settled
                ]
        pieces = [(cut.start, cut.end) for found in wanted.values() for cut in found]
        piece_voices = iter(embed_spans(self.model, self.samples, pieces, min_seconds=0.3))
        cuts: dict[int, list[Cut]] = {}
        for index, found in wanted.items():
            own = centroids[utterances[index].speaker].embedding
            similarities = []
            for voice in (next(piece_voices) for _ in found):
                similarities.append(
                    (-1.0, 1.0)
                    if voice is None
                    else (float(voice.embedding @ centroids[chair].embedding), float(voice.embedding @ own))
                )
            if chosen := voice_cuts(found, similarities):
                cuts[index] = chosen
        return cuts


def _middle(u: Utterance, seconds: float) -> tuple[float, float]:
    """The middle ``seconds`` of an utterance's span (all of it when shorter)."""
    extra = max(0.0, (u.end - u.start) - seconds) / 2
    return u.start + extra, u.end - extra


def _changes(utterances: Sequence[Utterance], index: int) -> set[str]:
    """The edges ("start", "end") of utterance ``index`` that border another speaker's utterance."""
    u = utterances[index]
    edges = set()
    if index > 0 and utterances[index - 1].speaker != u.speaker:
        edges.add("start")
    if index + 1 < len(utterances) and utterances[index + 1].speaker != u.speaker:
        edges.add("end")
    return edges
