"""ケバ取り measured: a synthetic council exchange spoken with fillers (えー, あのー, えーと, まあ, その), scored
against the same text without them.

    .venv/bin/python benchmarks/fillers.py [--out ~/.cache/minutes-bench/fillers] [--voices-dir ../shared/voices]

The script (``SESSION``: a 一般質問 on 町営バス, eight utterances, 48 seconds) is read by the voices of
``council_sessions.PEOPLE`` (so ``benchmarks/ATTRIBUTION.md`` covers it). Each filler is written ``{えー、}`` in the
script: spoken, in the verbatim reference, left out of the clean reference. One transcription with Whisper base (no
dictionary, so that only the cleanup differs), then CER of three layers against the clean reference (what a 会議録
should say): 素起こし, ケバ取り (fillers removed by the default list, ``MINUTES_FILLERS``) and 整文; and of the
素起こし against the verbatim reference; then the three texts, to see how Whisper wrote the fillers.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from council_sessions import Line, Session, _is_current, _paths, synthesize_session  # noqa: E402

from minutes import offline  # noqa: E402

offline.enforce()

DEFAULT_OUT = Path.home() / ".cache" / "minutes-bench" / "fillers"
_FILLER = re.compile(r"\{([^}]*)\}")

# fmt: off
SESSION = Session(
    "fillers_r6",
    "令和６年第３回定例会 一般質問（つなぎ言葉あり）",
    (
        Line(0.6, "takahashi", "{えー、}日程第１、一般質問を行います。５番、佐藤花子議員。"),
        Line(0.4, "sato",
             "{えー、}５番、佐藤花子です。{あのー、}通告に従いまして、{えー、}町営バスについて質問いたします。"),
        Line(0.5, "sato",
             "{まあ、}利用者が年々減っているということで、{えーと、}運行の見直しを、{その、}どのように進めるのか"
             "伺います。"),
        Line(0.7, "takahashi", "町長。"),
        Line(0.2, "suzuki",
             "{えー、}お答えいたします。{あのー、}来年の春から、{えー、}利用の少ない便を減らし、{まあ、}予約に応じて"
             "走る乗り合いタクシーを、試験的に導入いたします。"),
        Line(0.6, "takahashi", "教育長。"),
        Line(0.25, "kobayashi", "{えーと、}通学で利用している生徒は、{えー、}およそ４０人です。"),
        Line(0.5, "sato", "{あのー、}ありがとうございました。{えー、}以上で質問を終わります。"),
    ),
    noise_seed=20241001,
)
# fmt: on


def verbatim(text: str) -> str:
    return _FILLER.sub(r"\1", text)


def clean(text: str) -> str:
    return _FILLER.sub("", text)


def make_clip(out_dir: Path, voices_dir: Path | None) -> Path:
    """The clip's WAV in ``out_dir``, synthesized unless made from the same script already."""
    from samples_audio.generate import default_voices_dir

    out_dir.mkdir(parents=True, exist_ok=True)
    spoken = Session(SESSION.id, SESSION.title, tuple(Line(ln.pause_before, ln.speaker, verbatim(ln.text))
                                                      for ln in SESSION.script), SESSION.noise_seed)  # fmt: skip
    paths = _paths(out_dir, spoken)
    if not _is_current(spoken, paths):
        paths["script.sha256"].unlink(missing_ok=True)
        synthesize_session(spoken, out_dir, voices_dir or default_voices_dir(), verbose=False)
    return paths["wav"]


def measure(wav: Path, cpu_threads: int) -> dict:
    from minutes.evaluation import character_error_rate
    from minutes.pipeline.cleanup import CleanupOptions, layers
    from minutes.pipeline.decode import decode_to_file
    from minutes.pipeline.models import assemble_base
    from minutes.pipeline.transcribe import TranscriptionOptions, load_model, transcribe

    work = Path(tempfile.mkdtemp(prefix="minutes-fillers-"))
    options = TranscriptionOptions(cpu_threads=cpu_threads)
    model = load_model(assemble_base(work / "models"), options)
    result = transcribe(model, decode_to_file(wav, work / "audio.f32").samples(), options)
    cut = [layers(segment.text.strip(), CleanupOptions(numbers="asis")) for segment in result.segments]
    texts = {
        "素起こし": "".join(c.raw for c in cut),
        "ケバ取り": "".join(c.kebatori for c in cut),
        "整文": "".join(c.seibun for c in cut),
    }
    reference = "".join(clean(line.text) for line in SESSION.script)
    spoken = "".join(verbatim(line.text) for line in SESSION.script)
    fillers = [f.strip("、") for line in SESSION.script for f in _FILLER.findall(line.text)]
    return {
        "cer": {name: round(character_error_rate(reference, text), 4) for name, text in texts.items()},
        "raw_vs_verbatim": round(character_error_rate(spoken, texts["素起こし"]), 4),
        "fillers_spoken": len(fillers),
        "texts": texts,
        "reference": reference,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--voices-dir", type=Path, default=None)
    parser.add_argument("--cpu-threads", type=int, default=0)
    args = parser.parse_args()
    result = measure(make_clip(args.out, args.voices_dir), args.cpu_threads)
    print("| layer | CER against the text without fillers |\n|---|---|")
    for name, cer in result["cer"].items():
        print(f"| {name} | {cer:.4f} |")
    print(f"\n素起こし against the spoken text (fillers included): CER {result['raw_vs_verbatim']:.4f}")
    print(f"fillers spoken: {result['fillers_spoken']} (how Whisper wrote them: compare the texts below)")
    for name, text in result["texts"].items():
        print(f"\n{name}: {text}")


if __name__ == "__main__":
    main()
