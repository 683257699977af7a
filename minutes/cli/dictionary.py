"""``minutes dictionary``: the assembly's 用語辞書 from the command line (list, add, delete, import, export), and
``minutes corrections``: its correction rules (add, list, delete)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from minutes.errors import InputError, NotFoundError
from minutes.services import Services


def run_dictionary(services: Services, args) -> int:
    dictionary = services.dictionary
    command = args.dictionary_command
    if command == "list":
        terms = dictionary.terms(query=args.query or "", kind=args.kind or "")
        if args.json:
            print(json.dumps([t.to_dict() for t in terms], ensure_ascii=False, indent=1))
        else:
            for term in terms:
                print(f"{term.id:>5}  {term.kind:<5}  {term.text}" + (f"（{term.reading}）" if term.reading else ""))
            print(f"{len(terms)} 語", file=sys.stderr)
    elif command == "add":
        term = dictionary.add(args.text, reading=args.yomi or "", kind=args.kind)
        print(f"用語辞書に追加しました: {term.text}（{term.kind}）")
    elif command == "delete":
        matches = [t for t in dictionary.terms(query=args.text) if t.text == args.text.strip()]
        if not matches:
            raise NotFoundError(f"「{args.text}」は用語辞書にありません。", f"no term {args.text!r}")
        dictionary.delete(matches[0].id)
        print(f"用語辞書から削除しました: {matches[0].text}")
    elif command == "import":
        result = dictionary.import_csv(_read(args.file))
        print(f"取り込みました: 追加 {result.added} 語、更新 {result.updated} 語、変更なし {result.unchanged} 語")
    elif command == "export":
        data = dictionary.export_csv()
        if str(args.output) == "-":
            sys.stdout.buffer.write(data)
        else:
            args.output.write_bytes(data)
            print(f"書き出しました: {args.output}（{dictionary.count()} 語）", file=sys.stderr)
    return 0


def run_corrections(services: Services, args) -> int:
    corrections = services.corrections
    command = args.corrections_command
    if command == "add":
        rule = corrections.add(args.wrong, args.right, context=args.context or "")
        where = f"（文脈: {rule.context}）" if rule.context else ""
        print(f"補正ルールを追加しました: {rule.wrong} → {rule.right}{where}")
    elif command == "list":
        rules = corrections.rules()
        if args.json:
            print(json.dumps([r.to_dict() for r in rules], ensure_ascii=False, indent=1))
        else:
            for rule in rules:
                print(
                    f"{rule.id:>5}  {rule.wrong} → {rule.right}"
                    + (f"  （文脈: {rule.context}）" if rule.context else "")
                )
            print(f"{len(rules)} 件", file=sys.stderr)
    elif command == "delete":
        count = corrections.delete_like(args.wrong, args.right, context=args.context)
        print(f"補正ルールを {count} 件削除しました: {args.wrong}")
    return 0


def _read(path: Path) -> bytes:
    try:
        return path.expanduser().read_bytes()
    except OSError as error:
        raise InputError(f"ファイル {path} を読めません（{error.strerror}）。", f"read {path}: {error}") from None
