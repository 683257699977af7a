"""Search speed on generated data: 500 meetings × 1,000 utterances (by default) in a temporary SQLite database built by
the real migrations (so the FTS5 index is filled by the real triggers), then query times for short (2-character) and
long words, with and without filters.

    .venv/bin/python benchmarks/search.py                    # 500 × 1000, about a minute or two to generate
    .venv/bin/python benchmarks/search.py --meetings 50      # smaller
    .venv/bin/python benchmarks/search.py --keep /tmp/s.db   # keep (and reuse) the database

Target: every query under 200 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from minutes.services import Principal, Services
from minutes.services.search import SearchQuery, SearchService
from minutes.settings import Settings
from minutes.store.engine import make_engine, migrate

SUBJECTS = [
    "補正予算",
    "一般会計",
    "防災対策",
    "子育て支援",
    "公共交通",
    "学校給食",
    "下水道事業",
    "ごみ処理",
    "観光振興",
    "地域福祉",
    "町営住宅",
    "道路整備",
    "介護保険",
    "国民健康保険",
    "消防団",
    "指定管理者",
]
VERBS = [
    "について質問します。",
    "の現状をお伺いします。",
    "はどのように進めるのですか。",
    "について答弁いたします。",
    "の予算は前年度並みです。",
    "を計上しております。",
    "の見直しを検討しております。",
    "は引き続き取り組んでまいります。",
]
FILLERS = [
    "議長。",
    "町長。",
    "ただいまの質問にお答えします。",
    "再質問いたします。",
    "以上です。",
    "ありがとうございます。",
]
RARE = ["河川の護岸改修", "ふるさと納税の返礼品", "防災倉庫の整備"]
KINDS = ["定例会", "臨時会", "委員会", "全員協議会"]
ROLES = ["議長", "町長", "総務課長", "３番 議員", "５番 議員", "教育長"]


def utterance_text(rng: random.Random) -> str:
    parts = [rng.choice(FILLERS)] if rng.random() < 0.4 else []
    for _ in range(rng.randint(1, 3)):
        parts.append(rng.choice(SUBJECTS) + rng.choice(VERBS))
    if rng.random() < 0.002:
        parts.append(rng.choice(RARE) + "について伺います。")
    return "".join(parts)


def generate(path: Path, meetings: int, per_meeting: int, words: int, seed: int = 7) -> None:
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    rng = random.Random(seed)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    now = dt.datetime(2026, 1, 1).isoformat(sep=" ")
    began = time.perf_counter()
    for m in range(meetings):
        held = dt.datetime(2016, 4, 1, 10) + dt.timedelta(days=m * 7)
        meeting_id = connection.execute(
            "INSERT INTO meeting (title, kind, held_at, place, language, created_at, updated_at, version, edit_version,"
            " details) VALUES (?, ?, ?, '', 'ja', ?, ?, 1, 1, '{}')",
            (f"会議 {m + 1}", KINDS[m % len(KINDS)], held.isoformat(sep=" "), now, now),
        ).lastrowid
        speaker_ids = [
            connection.execute(
                "INSERT INTO speaker (meeting_id, label, role) VALUES (?, ?, ?)", (meeting_id, f"SPEAKER_{i:02d}", role)
            ).lastrowid
            for i, role in enumerate(ROLES)
        ]
        rows = []
        for seq in range(per_meeting):
            text = utterance_text(rng)
            start = seq * 7.0
            timing = [
                {"start": start + i * 0.3, "end": start + i * 0.3 + 0.3, "text": text[i], "probability": 0.9}
                for i in range(min(words, len(text)))
            ]
            speaker = speaker_ids[0] if seq % 5 == 0 else rng.choice(speaker_ids[1:])
            rows.append((meeting_id, speaker, seq, start, start + 6.5, text, json.dumps(timing, ensure_ascii=False)))
        connection.executemany(
            'INSERT INTO utterance (meeting_id, speaker_id, seq, start, "end", text, words, edited, version)'
            " VALUES (?, ?, ?, ?, ?, ?, ?, 0, 1)",
            rows,
        )
        connection.commit()
        if (m + 1) % 50 == 0:
            print(f"  {m + 1} 会議 ({time.perf_counter() - began:.0f} s)", file=sys.stderr)
    connection.execute("INSERT INTO utterance_fts(utterance_fts) VALUES ('optimize')")
    connection.commit()
    connection.close()


def timed(search: SearchService, query: SearchQuery, runs: int) -> tuple[float, float, str]:
    first = time.perf_counter()
    results = search.search(query)
    cold = (time.perf_counter() - first) * 1000
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        search.search(query)
        times.append((time.perf_counter() - began) * 1000)
    return cold, statistics.median(times), results.total_label


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meetings", type=int, default=500)
    parser.add_argument("--utterances", type=int, default=1000, help="utterances per meeting")
    parser.add_argument("--words", type=int, default=12, help="word timings stored per utterance (row size)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="database file to create (or reuse when it exists)")
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory()
    path = args.keep or Path(folder.name) / "search.db"
    if not path.exists():
        print(f"{args.meetings} 会議 × {args.utterances} 発言を生成中 → {path}", file=sys.stderr)
        began = time.perf_counter()
        generate(path, args.meetings, args.utterances, args.words)
        print(f"生成: {time.perf_counter() - began:.0f} s, {path.stat().st_size / 1e6:.0f} MB", file=sys.stderr)
    engine = make_engine(f"sqlite:///{path}")
    search = Services.for_user(engine, Settings(data_dir=path.parent), Principal.operator("bench")).search
    year = dict(date_from=dt.date(2020, 4, 1), date_to=dt.date(2021, 3, 31))
    cases = [
        ("2文字・多い（予算）", SearchQuery("予算")),
        ("2文字・多い（予算）+ 期間", SearchQuery("予算", **year)),
        ("2文字・多い（予算）+ 種別 + 話者", SearchQuery("予算", kind="委員会", speaker="町長")),
        ("2文字・多い（予算）新しい順", SearchQuery("予算", order="newest")),
        ("2文字・少ない（河川）", SearchQuery("河川")),
        ("2文字・少ない（河川）+ 期間", SearchQuery("河川", **year)),
        ("4文字以上・多い（補正予算）", SearchQuery("補正予算")),
        ("4文字以上・多い（補正予算）+ 期間", SearchQuery("補正予算", **year)),
        ("4文字以上・多い（補正予算）+ 種別 + 話者", SearchQuery("補正予算", kind="委員会", speaker="町長")),
        ("4文字以上・少ない（防災倉庫の整備）", SearchQuery("防災倉庫の整備")),
        ("4文字以上・少ない + 期間", SearchQuery("防災倉庫の整備", **year)),
        ("2語（補正予算 町長）", SearchQuery("補正予算 町長")),
    ]
    print(f"SQLite {sqlite3.sqlite_version}, {path.stat().st_size / 1e6:.0f} MB")
    print(f"{'query':<40} {'first ms':>9} {'median ms':>10}  hits")
    worst = 0.0
    for name, query in cases:
        cold, median, total = timed(search, query, args.runs)
        worst = max(worst, median)
        print(f"{name:<40} {cold:>9.1f} {median:>10.1f}  {total}")
    engine.dispose()
    print(f"worst median: {worst:.1f} ms ({'OK' if worst < 200 else 'over'} the 200 ms target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
