"""``minutes voices enroll | list | delete`` (voice profiles) and ``minutes identify MEETING_ID``, through
``services.voices`` and ``services.meetings`` like the 名簿 and 話者 pages.

``voices list --json`` prints a list of ``{"person_id", "name", "seconds", "samples": [{"id", "source", "detail",
"seconds", "created_by", "created_at"}]}``; a profile holds embeddings only, never audio.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

from minutes.services import Services
from minutes.services.voices import VoiceProfileView


def profile_json(profile: VoiceProfileView) -> dict:
    return {
        "person_id": profile.person_id,
        "name": profile.name,
        "seconds": round(profile.seconds, 1),
        "samples": [asdict(sample) for sample in profile.samples],
    }


def run(args, services: Services) -> int:
    if args.voices_command == "enroll":
        person = services.people.find(args.name)
        profile = services.voices.enroll(person.id, args.audio.expanduser(), start=args.start, end=args.end)
        added = profile.samples[-1]
        print(
            f"{profile.name} さんの声を登録しました（{added.detail}、{added.seconds:.0f} 秒。"
            f"登録 {len(profile.samples)} 件、計 {profile.seconds:.0f} 秒）。"
        )
        return 0
    if args.voices_command == "list":
        profiles = services.voices.profiles()
        if args.json:
            print(json.dumps([profile_json(p) for p in profiles], ensure_ascii=False))
            return 0
        if not profiles:
            print("声を登録した人はいません。", file=sys.stderr)
        for profile in profiles:
            print(f"{profile.name}: {len(profile.samples)} 件、計 {profile.seconds:.0f} 秒")
            for sample in profile.samples:
                print(f"  [{sample.source}] {sample.detail}（{sample.seconds:.0f} 秒、{sample.created_by}）")
        return 0
    person = services.people.find(args.name)
    removed = services.voices.delete(person.id)
    print(f"{person.name} さんの声の登録 {removed} 件を削除しました（監査ログに記録しました）。")
    return 0
