"""Recognition accuracy with and without the dictionary: CER per clip and in total.

    python benchmarks/accuracy.py [--evaldata ../shared/evaldata] [--configs none,builtin,small,large] [--json]

Clips: the sample council meeting (``samples_audio/council_ja.wav``, council speech), the two synthetic council
sessions of ``benchmarks/council_sessions.py`` (group ``session``: council speech with the mishearings of issue 12,
synthesized into ``--sessions`` unless there; ``--sessions none`` leaves them out) and the Japanese clips of the
development evaluation data (``../shared/evaldata/ja``: read speech about other things, the "unrelated" check).
Configurations, each a real transcription with the bundled Whisper base (int8, beam 5, VAD, language ja):

- ``none``: no terms at all (what ``minutes transcribe --no-dictionary`` does);
- ``builtin``: the built-in 議会用語 only (an assembly that has not filled its dictionary yet);
- ``small``: the sample town's dictionary as its clerk would write it (``benchmarks/data/sample_town.csv``: roster
  names, places, facilities, bus routes, programmes, groups) plus the meeting's own words (``MEETING``: its agenda as
  entered before the session and, for the sessions, the roster's people) and the built-ins;
- ``large``: the same padded to 500 dictionary terms with other plausible names, places and facilities of the town
  (``large_dictionary``), to check that a large dictionary does not make things worse.

A configuration may name how the terms are given: ``small:every`` (``TranscriptionOptions.hint_mode``); a
``:t40`` suffix sets the prompt's token budget (``hint_tokens``). Each row also counts the decoder calls (30-second
segments decoded; a temperature fallback counts once more) and the seconds taken.

Every transcription is scored twice: the raw text (素起こし) and its 整文 layer (``minutes.pipeline.cleanup``: the
default ケバ取り words, punctuation, and the sample town's correction rules ``benchmarks/data/sample_town_rules.csv``,
written from mishearings seen in drafts: 長長 for 町長, 長栄バス for 町営バス …). Columns ``CONFIG`` and
``CONFIG+整文``.

Targets (issue 12): on council speech CER at least 40 % lower with the dictionary than without; on the unrelated
clips no worse than +0.01. The figures are printed as measured.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere
sys.path.insert(0, str(ROOT / "benchmarks"))  # council_sessions

from minutes import offline  # noqa: E402

offline.enforce()

from minutes.pipeline.cleanup import CleanupOptions, layers  # noqa: E402
from minutes.pipeline.vocabulary import builtin_terms, read_terms_csv, terms_from_titles  # noqa: E402
from minutes.records import CorrectionRule, Term  # noqa: E402

SMALL = ROOT / "benchmarks" / "data" / "sample_town.csv"
RULES = ROOT / "benchmarks" / "data" / "sample_town_rules.csv"
SEIBUN = "+整文"
# The meeting's 議事日程 as the clerk enters it before the session (the 通告 of the general question) and, for the
# synthetic sessions, the people of the roster (council_sessions.ROSTER).
AGENDA = ("一般質問", "防災対策について 山田 花子 議員")
SESSION_AGENDAS = {
    "council_r6_3": ("令和６年第３回定例会", "一般質問", "防災行政無線と災害に備えた備蓄について 佐藤花子議員",
                     "町営バスの運行について 山田太郎議員"),
    "council_r6_4": ("令和６年第４回定例会", "議案第５２号 令和６年度一般会計補正予算（第３号）", "一般質問",
                     "子育て支援について 佐藤花子議員"),
}  # fmt: skip
ROSTER = ("高橋一郎", "佐藤花子", "山田太郎", "鈴木健二", "田中美咲", "小林恵子")
# Kana-only references in the evaluation data, written as a clerk would (the README gives both forms).
REFERENCES = {"julius_sample": "今日はいい天気だ"}
SURNAMES = (
    "青木",
    "石井",
    "井上",
    "上田",
    "大野",
    "岡田",
    "岡本",
    "小川",
    "金子",
    "木村",
    "工藤",
    "久保",
    "小島",
    "近藤",
    "斎藤",
    "坂本",
    "酒井",
    "桜井",
    "清水",
    "菅原",
)
GIVEN = (
    "明",
    "勇",
    "和夫",
    "健一",
    "浩",
    "幸子",
    "聡",
    "純子",
    "進",
    "隆",
    "智子",
    "直美",
    "信夫",
    "春香",
    "博",
    "文子",
    "正人",
    "真理",
    "実",
    "裕子",
)
PLACES = (
    "梅ノ木",
    "大久保",
    "柿の木",
    "上川原",
    "北原",
    "小松",
    "桜台",
    "沢田",
    "下川原",
    "新田",
    "杉山",
    "高台",
    "竹ノ内",
    "中原",
    "長峰",
    "西原",
    "原町",
    "東原",
    "松ケ丘",
    "宮下",
)
FACILITIES = ("集会所", "児童館", "公園", "保育園", "ごみ集積所")


def large_dictionary(small: list[Term], size: int = 500) -> list[Term]:
    """The sample town's dictionary padded to ``size`` terms with other names, places and facilities of the town
    (combinations of common surnames, given names and place names; deterministic)."""
    terms, seen = list(small), {t.text for t in small}

    def add(text: str, reading: str, kind: str) -> None:
        if text not in seen and len(terms) < size:
            seen.add(text)
            terms.append(Term(text, reading, kind, "dictionary"))

    for place in PLACES:
        add(f"{place}地区", "", "地名")
        for facility in FACILITIES:
            add(f"{place}{facility}", "", "施設")
    for surname in SURNAMES:
        for given in GIVEN:
            add(f"{surname} {given}", "", "人名")
    return terms


def sample_rules() -> tuple[CorrectionRule, ...]:
    """The sample town's correction rules (誤,正,文脈)."""
    rows = [line.split(",") for line in RULES.read_text(encoding="utf-8-sig").splitlines()[1:] if line.strip()]
    return tuple(CorrectionRule(wrong, right, context) for wrong, right, context in rows)


def seibun(segments, rules: tuple[CorrectionRule, ...]) -> str:
    """The 整文 layer of the recognized segments, each cleaned as the pipeline cleans an utterance."""
    options = CleanupOptions(rules=rules)
    return "".join(layers(segment.text.strip(), options).seibun for segment in segments)


def meeting_terms(clip: str) -> list[Term]:
    """The meeting's own words: its agenda and, for a synthetic session, the people of the roster."""
    if clip in SESSION_AGENDAS:
        return [*terms_from_titles(SESSION_AGENDAS[clip]), *(Term(name, "", "人名", "meeting") for name in ROSTER)]
    return terms_from_titles(AGENDA)


def configurations(names: list[str], clip: str = "council_ja") -> dict[str, tuple[Term, ...]]:
    """The terms of each configuration (``small:every`` has the terms of ``small``) for one clip."""
    small = read_terms_csv(SMALL.read_bytes())
    meeting = meeting_terms(clip)
    every = {
        "none": (),
        "builtin": builtin_terms(),
        "small": (*meeting, *small, *builtin_terms()),
        "large": (*meeting, *large_dictionary(small), *builtin_terms()),
    }
    return {name: every[name.split(":")[0]] for name in names}


def options_of(name: str, terms: tuple[Term, ...], cpu_threads: int):
    """The transcription options of a configuration name such as ``small``, ``small:every`` or ``small:every:t40``."""
    from minutes.pipeline.transcribe import TranscriptionOptions

    options = TranscriptionOptions(cpu_threads=cpu_threads, terms=terms)
    for part in name.split(":")[1:]:
        if part.startswith("t") and part[1:].isdigit():
            options = replace(options, hint_tokens=int(part[1:]))
        else:
            options = replace(options, hint_mode=part)
    return options


def clips(evaldata: Path, sessions: Path | None = None) -> list[tuple[str, str, Path, str]]:
    """(name, group, audio, reference) for every clip found."""
    found = [("council_ja", "council", ROOT / "samples_audio" / "council_ja.wav", "")]
    if sessions is not None:
        from council_sessions import make_sessions

        found += [(r.id, "session", r.wav, "") for r in make_sessions(sessions)]
    found += [(p.stem, "unrelated", p, "") for p in sorted((evaldata / "ja").glob("*.wav"))]
    result = []
    for name, group, audio, _ in found:
        reference = REFERENCES.get(name) or audio.with_suffix(".txt").read_text(encoding="utf-8")
        result.append((name, group, audio, reference))
    return result


def counted_decodes(model) -> dict[str, int]:
    """Counts the model's decoder calls (one per 30-second segment; temperature fallbacks are counted apart)."""
    counts = {"decodes": 0, "fallbacks": 0}
    decode = model.generate_with_fallback

    def counting(*args, **kwargs):
        result = decode(*args, **kwargs)
        counts["decodes"] += 1
        counts["fallbacks"] += result[2] > 0  # (result, avg_logprob, temperature, compression_ratio)
        return result

    model.generate_with_fallback = counting
    return counts


def measure(evaldata: Path, sessions: Path | None, names: list[str], cpu_threads: int) -> list[dict]:
    from minutes.evaluation import character_error_rate
    from minutes.pipeline.decode import decode_to_file
    from minutes.pipeline.guards import normalize
    from minutes.pipeline.models import assemble_base
    from minutes.pipeline.transcribe import TranscriptionOptions, load_model, transcribe

    work = Path(tempfile.mkdtemp(prefix="minutes-accuracy-"))
    model = load_model(assemble_base(work / "models"), TranscriptionOptions(cpu_threads=cpu_threads))
    counts = counted_decodes(model)
    rows, rules = [], sample_rules()
    for name, group, audio, reference in clips(evaldata, sessions):
        samples = decode_to_file(audio, work / "audio.f32").samples()
        for config, terms in configurations(names, name).items():
            counts.update(decodes=0, fallbacks=0)
            started = time.perf_counter()
            result = transcribe(model, samples, options_of(config, terms, cpu_threads))
            raw = "".join(s.text for s in result.segments)
            seconds = round(time.perf_counter() - started, 1)
            for label, text in ((config, raw), (config + SEIBUN, seibun(result.segments, rules))):
                rows.append(
                    {
                        "clip": name,
                        "group": group,
                        "config": label,
                        "terms": len(terms),
                        "cer": round(character_error_rate(reference, text), 4),
                        "reference_chars": len(normalize(reference)),
                        "seconds": seconds,
                        **counts,
                        "text": text,
                    }
                )
                print(f"{name:16} {label:18} CER {rows[-1]['cer']:.4f}  ({seconds} s, {counts})", file=sys.stderr)
    return rows


def table(rows: list[dict], names: list[str]) -> str:
    """Per clip and per group (weighted by reference length), one column per configuration."""
    lines = ["| clip | group | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    by = {(r["clip"], r["config"]): r for r in rows}
    for clip in dict.fromkeys(r["clip"] for r in rows):
        group = by[(clip, names[0])]["group"]
        lines.append(f"| {clip} | {group} | " + " | ".join(f"{by[(clip, n)]['cer']:.4f}" for n in names) + " |")
    for group in dict.fromkeys(r["group"] for r in rows):
        cells = []
        for name in names:
            chosen = [r for r in rows if r["group"] == group and r["config"] == name]
            chars = sum(r["reference_chars"] for r in chosen) or 1
            cells.append(f"{sum(r['cer'] * r['reference_chars'] for r in chosen) / chars:.4f}")
        lines.append(f"| **total** | {group} | " + " | ".join(cells) + " |")
    if all("decodes" in r for r in rows):
        cells = [str(sum(r["decodes"] for r in rows if r["config"] == name)) for name in names]
        lines.append("| **decoder calls** | all | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaldata", type=Path, default=ROOT.parent / "shared" / "evaldata")
    parser.add_argument(
        "--sessions",
        default=str(Path.home() / ".cache" / "minutes-bench" / "council-sessions"),
        help="folder of the synthetic council sessions (made there when missing); none: leave out",
    )
    parser.add_argument("--configs", default="none,builtin,small,large")
    parser.add_argument("--cpu-threads", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print every row (with the recognized text) as JSON")
    args = parser.parse_args()
    names = [name.strip() for name in args.configs.split(",") if name.strip()]
    sessions = None if args.sessions == "none" else Path(args.sessions)
    rows = measure(args.evaldata, sessions, names, args.cpu_threads)
    columns = [label for name in names for label in (name, name + SEIBUN)]
    print(json.dumps(rows, ensure_ascii=False, indent=1) if args.json else table(rows, columns))


if __name__ == "__main__":
    main()
