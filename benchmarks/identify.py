"""Benchmark speaker identification (issue 11): enroll voices from one recording, name the speakers of another.

    .venv/bin/python benchmarks/identify.py [--ami] [--council] [--threshold 0.60] [--json]

- **AMI** (``../shared/evaldata/diarization``, real meeting speech; speakers recur across excerpts): for each pair of
  excerpts that share speakers, every reference speaker of the first with at least ``--min-enroll`` seconds is
  enrolled from its reference turns; the second is diarized and its speakers identified.
- **Council** (two synthetic Japanese sessions read by the same six voices, ``benchmarks/council_sessions.py``): the
  voices are enrolled from session A as finalizing it would (each person's reference turns), session B runs through
  the pipeline (transcription, diarization, assignment) and then the voice stage (identification and the chair's
  calls) on the utterances as recognised, before the 整文, the same code and order as ``minutes transcribe``. Then
  ``samples_audio/council_ja.wav``, whose chair, member 山田 and mayor have three of those voices: with their
  profiles from session A, and with none (the chair found by the formulas, the calls by the chair's own voice).

Printed per recording: the share of the reference speech of enrolled speakers attributed to the right person, the
share attributed to a wrong person (the target is 0 at the default threshold; issue: ≥ 90 % right, ≤ 2 % wrong), the
speaker count before and after identification against the reference, DER before and after (hypothesis labels replaced
by the person identified), and for the council sessions how many of the chair's calls are separate utterances of the
chair before and after (target ≥ 80 %).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from minutes import offline  # noqa: E402

offline.enforce()

from diarize import diarize  # noqa: E402
from diarize.voices import average, embed_spans, load_embedding_model  # noqa: E402
from minutes.evaluation import diarization_error_rate  # noqa: E402
from minutes.pipeline.calls import is_call  # noqa: E402
from minutes.pipeline.identify import IdentifyOptions, Profile  # noqa: E402
from minutes.pipeline.voices import VoiceStage  # noqa: E402
from minutes.records import SpeakerTurn, Utterance  # noqa: E402

AMI = ROOT.parent / "shared" / "evaldata" / "diarization"
# (enroll from, identify in): excerpts of the same AMI meetings
AMI_PAIRS = (("dev00", "dev01"), ("trn07", "trn08"), ("trn03", "trn00"), ("trn06", "trn09"))
AMI_PAIRS += tuple((target, source) for source, target in AMI_PAIRS)  # and each the other way round
FRAME = 0.01
SAMPLE = ROOT / "samples_audio" / "council_ja"
# the sample's speakers who have the voices of council_sessions' people (its chair, member 山田 and mayor)
SAMPLE_PEOPLE = {"gicho": "takahashi", "giin3": "yamada", "chocho": "suzuki"}


def _ami_turns(file_id: str) -> list[SpeakerTurn]:
    turns = []
    for rttm in sorted(AMI.glob("*.rttm")):
        for line in rttm.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 8 and fields[0] == "SPEAKER" and fields[1] == file_id:
                start = float(fields[3])
                turns.append(SpeakerTurn(start, start + float(fields[4]), fields[7]))
    return sorted(turns, key=lambda t: t.start)


def _decode(path: Path) -> np.ndarray:
    from faster_whisper import decode_audio

    return decode_audio(str(path))


def enroll(model, samples: np.ndarray, turns: list[SpeakerTurn], min_seconds: float) -> list[Profile]:
    """One profile per reference speaker with enough speech, from their turns (as finalizing a meeting does)."""
    by_speaker: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for turn in turns:
        by_speaker[turn.speaker].append((turn.start, turn.end))
    profiles = []
    for speaker, spans in by_speaker.items():
        voice = average([v for v in embed_spans(model, samples, spans) if v is not None])
        if voice is not None and voice.seconds >= min_seconds:
            profiles.append(Profile(speaker, voice))
    return profiles


def _frames(items: list[tuple[float, float, str | None]], length: int) -> list[set]:
    grid: list[set] = [set() for _ in range(length)]
    for start, end, value in items:
        for i in range(int(start / FRAME), min(length, int(end / FRAME))):
            grid[i].add(value)
    return grid


def scores(reference: list[SpeakerTurn], hypothesis: list[Utterance], people: dict[str, str | None], enrolled: set):
    """Right / wrong shares of the enrolled speakers' reference speech, and wrong names over everyone's speech."""
    length = int(max([t.end for t in reference] + [u.end for u in hypothesis]) / FRAME) + 1
    ref = _frames([(t.start, t.end, t.speaker) for t in reference], length)
    hyp = _frames([(u.start, u.end, people.get(u.speaker)) for u in hypothesis], length)
    right = wrong = total = wrong_any = speech = 0
    for speakers, names in zip(ref, hyp, strict=True):
        named = {n for n in names if n is not None}
        if speakers:
            speech += 1
            wrong_any += bool(named - speakers)
        for speaker in speakers & enrolled:
            total += 1
            right += speaker in named
            wrong += bool(named - speakers)
    return {
        "right": right / total if total else None,
        "wrong": wrong / total if total else None,
        "wrong_all_speech": wrong_any / speech if speech else None,
    }


def _turns_of(utterances: list[Utterance], people: dict[str, str | None] | None = None) -> list[SpeakerTurn]:
    return [SpeakerTurn(u.start, u.end, (people or {}).get(u.speaker) or u.speaker) for u in utterances]


def _as_utterances(turns: list[SpeakerTurn]) -> list[Utterance]:
    return [Utterance(t.speaker, t.start, t.end, "") for t in turns]


def _row(name, reference, before, after, people, enrolled, extra=None) -> dict:
    named = {label: person for label, person in people.items()}
    row = {
        "recording": name,
        "enrolled": len(enrolled),
        "reference_speakers": len({t.speaker for t in reference}),
        "speakers_before": len({u.speaker for u in before}),
        "speakers_after": len({u.speaker for u in after}),
        "der_before": diarization_error_rate(reference, _turns_of(before), collar=0.25),
        "der_after": diarization_error_rate(reference, _turns_of(after, named), collar=0.25),
    }
    return row | scores(reference, after, named, enrolled) | (extra or {})


def run_ami(model, variants: dict[str, IdentifyOptions], min_enroll: float) -> list[dict]:
    """One row per pair and variant: the diarization runs once, the voice stage once per variant."""
    rows = []
    for source, target in AMI_PAIRS:
        enrolled = enroll(model, _decode(AMI / f"{source}.wav"), _ami_turns(source), min_enroll)
        samples = _decode(AMI / f"{target}.wav")
        reference = _ami_turns(target)
        before = _as_utterances(diarize(samples))
        names = {p.person for p in enrolled} & {t.speaker for t in reference}
        for variant, options in variants.items():
            stage = VoiceStage(samples, options)
            stage._model = model
            after, matches = stage.run(before, enrolled, separate_calls=False)
            people = {label: match.person for label, match in matches.items()}
            rows.append(_row(f"AMI {source}→{target}{variant}", reference, before, after, people, names))
    return rows


def _calls_separate(reference_json: list[dict], utterances: list[Utterance], chair_label: str | None) -> tuple:
    """How many of the chair's reference calls (「町長。」…) are utterances of the chair's label of their own."""
    calls = [t for t in reference_json if t["role"] in ("議長",) and is_call(t["text"])]
    separate = 0
    for call in calls:
        for u in utterances:
            overlap = min(u.end, call["end"]) - max(u.start, call["start"])
            others = [
                t
                for t in reference_json
                if t["speaker"] != call["speaker"] and min(u.end, t["end"]) - max(u.start, t["start"]) > 0.3
            ]
            if overlap > 0.5 * (call["end"] - call["start"]) and u.speaker == chair_label and not others:
                separate += 1
                break
    return separate, len(calls)


def _recognised(wav: Path) -> list[Utterance]:
    """The utterances of ``wav`` as the voice stage gets them in a job: transcribed, diarized, assigned, before the
    整文 (run_pipeline cleans after the voice stage; on cleaned text, where numbers and fillers no longer spell the
    words, no call could be cut out)."""
    from minutes.pipeline.cleanup import CleanupOptions
    from minutes.pipeline.models import resolve_model
    from minutes.pipeline.run import PipelineOptions, run_pipeline
    from minutes.settings import Settings

    settings = Settings.from_env()
    model_path = resolve_model(settings.whisper_models_dir, settings.whisper_model)
    options = PipelineOptions(separate_calls=False, cleanup=CleanupOptions(enabled=False))
    with tempfile.TemporaryDirectory() as work:
        return list(run_pipeline(wav, Path(work), model_path, options).utterances)


def _voice_rows(name, model, wav, plain, reference, reference_json, enrolled, chair, variants) -> list[dict]:
    """One row per variant: the voice stage on ``plain``; the chair's calls counted before and after."""
    samples = _decode(wav)
    before_chair = _majority_label(plain, reference, chair)
    calls_before, calls = _calls_separate(reference_json, plain, before_chair)
    names = {p.person for p in enrolled}
    rows = []
    for variant, options in variants.items():
        stage = VoiceStage(samples, options)
        stage._model = model
        after, matches = stage.run(plain, enrolled, frozenset({chair}))
        people = {label: match.person for label, match in matches.items()}
        after_chair = next((label for label, person in people.items() if person == chair), None)
        if not enrolled:  # no names: the chair is the label that holds most of the chair's speech
            after_chair = _majority_label(after, reference, chair)
        calls_after, _ = _calls_separate(reference_json, after, after_chair)
        extra = {"chair_calls": calls, "calls_separate_before": calls_before, "calls_separate_after": calls_after}
        rows.append(_row(f"{name}{variant}", reference, plain, after, people, names, extra))
    return rows


def run_council(model, variants: dict[str, IdentifyOptions], min_enroll: float) -> list[dict]:
    """Session B identified with the voices of session A; then samples_audio/council_ja.wav, whose chair, member 山田
    and mayor have the same voices, with those profiles and without any (the chair found by the formulas)."""
    from benchmarks.council_sessions import make_sessions

    first, second = make_sessions(Path(tempfile.gettempdir()) / "council-sessions")[:2]
    enrolled = enroll(model, _decode(first.wav), _read_rttm(first.rttm), min_enroll)
    chair = next(t["speaker"] for t in json.loads(first.json.read_text()) if t["role"] == "議長")
    reference, reference_json = _read_rttm(second.rttm), json.loads(second.json.read_text())
    name = f"議会 {first.wav.stem}→{second.wav.stem}"
    rows = _voice_rows(name, model, second.wav, _recognised(second.wav), reference, reference_json, enrolled, chair,
                       variants)  # fmt: skip
    wav = SAMPLE.with_suffix(".wav")
    reference = [replace(t, speaker=SAMPLE_PEOPLE[t.speaker]) for t in _read_rttm(SAMPLE.with_suffix(".rttm"))]
    reference_json = [
        t | {"speaker": SAMPLE_PEOPLE[t["speaker"]]} for t in json.loads(SAMPLE.with_suffix(".json").read_text())
    ]
    plain = _recognised(wav)
    sample_enrolled = [p for p in enrolled if p.person in SAMPLE_PEOPLE.values()]
    rows += _voice_rows(f"sample council_ja ({first.wav.stem})", model, wav, plain, reference, reference_json,
                        sample_enrolled, chair, {"": variants[""]})  # fmt: skip
    rows += _voice_rows("sample council_ja (no voices)", model, wav, plain, reference, reference_json, [], chair,
                        {"": variants[""]})  # fmt: skip
    return rows


def _read_rttm(path: Path) -> list[SpeakerTurn]:
    from minutes.evaluation import read_rttm

    return read_rttm(path)


def _majority_label(utterances, reference: list[SpeakerTurn], speaker: str) -> str | None:
    """The hypothesis label that overlaps ``speaker``'s reference turns most (the chair before identification)."""
    overlap: dict[str, float] = defaultdict(float)
    for u in utterances:
        for t in reference:
            if t.speaker == speaker:
                overlap[u.speaker] += max(0.0, min(u.end, t.end) - max(u.start, t.start))
    return max(overlap, key=overlap.__getitem__) if overlap else None


def _print(rows: list[dict]) -> None:
    def pct(value):
        return "   -  " if value is None else f"{100 * value:5.1f}%"

    print(f"{'recording':40} enr  ref  bef  aft  right  wrong  wrong(all)  DER bef  DER aft  calls bef/aft")
    for r in rows:
        calls = ""
        if "chair_calls" in r:
            calls = f"{r['calls_separate_before']}/{r['chair_calls']} → {r['calls_separate_after']}/{r['chair_calls']}"
        print(
            f"{r['recording']:40} {r['enrolled']:3d}  {r['reference_speakers']:3d}  {r['speakers_before']:3d}  "
            f"{r['speakers_after']:3d}  {pct(r['right'])} {pct(r['wrong'])}  {pct(r['wrong_all_speech'])}    "
            f"{r['der_before']:.3f}    {r['der_after']:.3f}   {calls}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ami", action="store_true", help="only the AMI excerpts")
    parser.add_argument("--council", action="store_true", help="only the synthetic council sessions")
    parser.add_argument("--threshold", type=float, default=IdentifyOptions().threshold)
    parser.add_argument("--min-enroll", type=float, default=5.0, help="seconds of speech to enroll a speaker")
    parser.add_argument(
        "--compare", action="store_true", help="also without setting apart stretches (rows marked −stretches)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    options = replace(IdentifyOptions(), threshold=args.threshold)
    variants = {"": options}
    if args.compare:
        variants = {" −stretches": replace(options, stretches=False)} | variants
    model = load_embedding_model()
    rows = []
    if not args.council:
        rows += run_ami(model, variants, args.min_enroll)
    if not args.ami:
        rows += run_council(model, variants, args.min_enroll)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        _print(rows)


if __name__ == "__main__":
    main()
