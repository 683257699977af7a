"""``minutes people add | list | import | export | retire``: the assembly's roster (名簿) from the command line, for
scripts and for the first import of a roster kept in a spreadsheet. Acts through ``services.people`` like the 名簿 page.

``list --json`` prints a list of people, each ``{"id", "name", "yomi", "kind", "seat", "group", "retired", "title",
"titles": [{"title", "starts", "ends"}]}`` (``title``: the one held today, "" if none; days in ISO 8601, null for an
open end).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from minutes.errors import InputError
from minutes.services import Services
from minutes.services.people import ImportReport, PersonView


def person_json(person: PersonView) -> dict:
    return {
        "id": person.id,
        "name": person.name,
        "yomi": person.yomi,
        "kind": person.kind,
        "seat": person.seat,
        "group": person.group,
        "retired": person.retired,
        "title": person.title_on(None),
        "titles": [
            {
                "title": t.title,
                "starts": t.starts.isoformat() if t.starts else None,
                "ends": t.ends.isoformat() if t.ends else None,
            }
            for t in person.titles
        ],
    }


def _line(person: PersonView) -> str:
    seat = f"{person.seat}番" if person.seat is not None else "-"
    titles = "、".join(f"{t.title}（{t.period}）" if t.period else t.title for t in person.titles)
    state = "退任" if person.retired else "在任"
    return "\t".join(str(v) for v in (person.id, person.name, person.yomi or "-", person.kind, seat, state, titles))


def _report(report: ImportReport) -> None:
    print(f"名簿を取り込みました: {report.summary}")
    for label, names in (("追加", report.added), ("更新", report.updated)):
        if names:
            print(f"  {label}: {'、'.join(names)}")


def run(args, services: Services) -> int:
    """The ``people`` sub-commands (``args.people_command``), acting as ``services.user``."""
    people = services.people
    command = args.people_command
    if command == "add":
        titles = [(title, starts, ends) for title, starts, ends in args.titles or ()]
        added = people.add(args.name, yomi=args.yomi, kind=args.kind, seat=args.seat, group=args.group, titles=titles)
        print(f"名簿に追加しました: {_line(added)}", file=sys.stderr)
    elif command == "list":
        listed = people.people(include_retired=args.all)
        if args.json:
            print(json.dumps([person_json(p) for p in listed], ensure_ascii=False))
        elif not listed:
            print("名簿にはまだ誰もいません。`minutes people add` か `minutes people import` で登録してください。")
        for person in listed if not args.json else ():
            print(_line(person))
    elif command == "import":
        path: Path = args.file.expanduser()
        if not path.is_file():
            raise InputError(f"ファイル {path} が見つかりません。", f"{path} not found")
        _report(people.import_csv(path.read_bytes()))
    elif command == "export":
        data = people.export_csv()
        if args.file is None or str(args.file) == "-":
            sys.stdout.buffer.write(data)
        else:
            args.file.write_bytes(data)
            print(f"{args.file} に名簿を書き出しました。", file=sys.stderr)
    elif command == "retire":
        person = people.retire(people.find(args.name).id, retired=not args.undo)
        print(f"{person.name} さんを{'退任' if person.retired else '在任'}にしました。", file=sys.stderr)
    return 0
