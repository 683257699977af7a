"""Recognition accuracy with and without the dictionary: CER per clip and in total.

    python benchmarks/accuracy.py [--evaldata ../shared/evaldata] [--configs none,builtin,small,large] [--json]

Clips: the sample council meeting (``samples_audio/council_ja.wav``, council speech) and the Japanese clips of the
development evaluation data (``../shared/evaldata/ja``: read speech about other things, the "unrelated" check).
Configurations, each a real transcription with the bundled Whisper base (int8, beam 5, VAD, language ja):

- ``none``: no terms at all (what ``minutes transcribe --no-dictionary`` does);
- ``builtin``: the built-in 議会用語 only (an assembly that has not filled its dictionary yet);
- ``small``: the sample town's dictionary as its clerk would write it (``benchmarks/data/sample_town.csv``: roster
  names, places, facilities, bus routes, programmes, groups) plus the meeting's agenda (``AGENDA``) and the built-ins;
- ``large``: the same padded to 500 dictionary terms with other plausible names, places and facilities of the town
  (``large_dictionary``), to check that a large dictionary does not make things worse.

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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from minutes import offline  # noqa: E402

offline.enforce()

from minutes.pipeline.cleanup import CleanupOptions, layers  # noqa: E402
from minutes.pipeline.vocabulary import builtin_terms, read_terms_csv, terms_from_titles  # noqa: E402
from minutes.records import CorrectionRule, Term  # noqa: E402

SMALL = ROOT / "benchmarks" / "data" / "sample_town.csv"
RULES = ROOT / "benchmarks" / "data" / "sample_town_rules.csv"
SEIBUN = "+整文"
# The meeting's 議事日程 as the clerk enters it before the session (the 通告 of the general question).
AGENDA = ("一般質問", "防災対策について 山田 花子 議員")
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


def configurations(names: list[str]) -> dict[str, tuple[Term, ...]]:
    small = read_terms_csv(SMALL.read_bytes())
    agenda = terms_from_titles(AGENDA)
    every = {
        "none": (),
        "builtin": builtin_terms(),
        "small": (*agenda, *small, *builtin_terms()),
        "large": (*agenda, *large_dictionary(small), *builtin_terms()),
    }
    return {name: every[name] for name in names}


def clips(evaldata: Path) -> list[tuple[str, str, Path, str]]:
    """(name, group, audio, reference) for every clip found."""
    found = [("council_ja", "council", ROOT / "samples_audio" / "council_ja.wav", "")]
    found += [(p.stem, "unrelated", p, "") for p in sorted((evaldata / "ja").glob("*.wav"))]
    result = []
    for name, group, audio, _ in found:
        reference = REFERENCES.get(name) or audio.with_suffix(".txt").read_text(encoding="utf-8")
        result.append((name, group, audio, reference))
    return result


def measure(evaldata: Path, names: list[str], cpu_threads: int) -> list[dict]:
    from minutes.evaluation import character_error_rate
    from minutes.pipeline.decode import decode_to_file
    from minutes.pipeline.guards import normalize
    from minutes.pipeline.models import assemble_base
    from minutes.pipeline.transcribe import TranscriptionOptions, load_model, transcribe

    work = Path(tempfile.mkdtemp(prefix="minutes-accuracy-"))
    model = load_model(assemble_base(work / "models"), TranscriptionOptions(cpu_threads=cpu_threads))
    rows, rules = [], sample_rules()
    for name, group, audio, reference in clips(evaldata):
        samples = decode_to_file(audio, work / "audio.f32").samples()
        for config, terms in configurations(names).items():
            started = time.perf_counter()
            result = transcribe(model, samples, TranscriptionOptions(cpu_threads=cpu_threads, terms=terms))
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
                        "text": text,
                    }
                )
                print(f"{name:16} {label:12} CER {rows[-1]['cer']:.4f}  ({seconds} s)", file=sys.stderr)
    return rows


def table(rows: list[dict], names: list[str]) -> str:
    """Per clip and per group (weighted by reference length), one column per configuration."""
    lines = ["| clip | group | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    by = {(r["clip"], r["config"]): r for r in rows}
    for clip in dict.fromkeys(r["clip"] for r in rows):
        group = by[(clip, names[0])]["group"]
        lines.append(f"| {clip} | {group} | " + " | ".join(f"{by[(clip, n)]['cer']:.4f}" for n in names) + " |")
    for group in ("council", "unrelated"):
        cells = []
        for name in names:
            chosen = [r for r in rows if r["group"] == group and r["config"] == name]
            chars = sum(r["reference_chars"] for r in chosen) or 1
            cells.append(f"{sum(r['cer'] * r['reference_chars'] for r in chosen) / chars:.4f}")
        lines.append(f"| **total** | {group} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaldata", type=Path, default=ROOT.parent / "shared" / "evaldata")
    parser.add_argument("--configs", default="none,builtin,small,large")
    parser.add_argument("--cpu-threads", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print every row (with the recognized text) as JSON")
    args = parser.parse_args()
    names = [name.strip() for name in args.configs.split(",") if name.strip()]
    rows = measure(args.evaldata, names, args.cpu_threads)
    columns = [label for name in names for label in (name, name + SEIBUN)]
    print(json.dumps(rows, ensure_ascii=False, indent=1) if args.json else table(rows, columns))


if __name__ == "__main__":
    main()
