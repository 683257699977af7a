"""The command line's arguments: one parser, a sub-command each (``minutes --help``)."""

from __future__ import annotations

import argparse
from pathlib import Path

import exports
from minutes.pipeline.vocabulary import KINDS
from minutes.services import Role


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("1 以上の整数を指定してください")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minutes", description="会議録作成（完全ローカル）")
    parser.add_argument("-v", "--verbose", action="store_true", help="詳細なログを表示する")
    parser.add_argument("--org", help=ORG_HELP)
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (
        _transcribe,
        _live,
        _jobs,
        _voices,
        _export,
        _search,
        _archive,
        _users,
        _people,
        _maintenance,
        _dictionary,
        _corrections,
        _orgs,
    ):
        add(commands)
    _org_everywhere(commands)
    return parser


ORG_HELP = "操作する団体（団体名か ID。環境変数 MINUTES_ORG と同じ。団体が一つなら不要）"


def _org_everywhere(commands) -> None:
    """``--org`` after any (sub-)command too: ``minutes search 補正予算 --org 東町議会``. SUPPRESS keeps a value
    given before the command (a sub-parser's default would overwrite it)."""
    for parser in commands.choices.values():
        nested = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
        if nested:
            _org_everywhere(nested[0])
        elif "--org" not in parser._option_string_actions:
            parser.add_argument("--org", default=argparse.SUPPRESS, help=ORG_HELP)


def _orgs(commands) -> None:
    """orgs add|list"""
    orgs = commands.add_parser("orgs", help="団体（共同利用の議会）を管理する（全体管理者）")
    org_commands = orgs.add_subparsers(dest="orgs_command", required=True)
    add = org_commands.add_parser(
        "add", help="団体と最初の管理者を追加する（パスワードは入力を求めるか標準入力から読む）"
    )
    add.add_argument("name", help="団体名（〇〇町議会）")
    add.add_argument("--admin", required=True, help="最初の管理者の利用者名（最初のログインでパスワードを変更）")
    org_commands.add_parser("list", help="団体を一覧する")


def _transcribe(commands) -> None:
    """transcribe FILE …"""
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
    transcribe.add_argument("--hotwords", help="認識を優先する語（空白区切り。この会議だけの追加の語）")
    transcribe.add_argument(
        "--no-dictionary", action="store_true", help="用語辞書と組み込みの議会用語を使わない（既定では使う）"
    )
    transcribe.add_argument("--model", type=Path, help="faster-whisper モデルフォルダ（既定: 同梱の base）")
    transcribe.add_argument(
        "--no-identify", action="store_true", help="声の登録と照合せず、話者を名簿の人と結び付けない"
    )
    transcribe.add_argument("--json", action="store_true", help="結果を JSON で標準出力に出す")
    transcribe.add_argument("--layer", choices=LAYERS, default="seibun", help=LAYER_HELP)
    transcribe.add_argument("--quiet", action="store_true", help="進捗バーを表示しない")
    transcribe.add_argument(
        "--submit", action="store_true", help="キューに登録してジョブ ID を表示し、処理はワーカーに任せる（待たない）"
    )


def _live(commands) -> None:
    """live INPUT …"""
    live = commands.add_parser(
        "live",
        help="会議を即時に文字起こしする（字幕を 1 行 1 件の JSON で出力。入力の終わりか Ctrl+C で散会）",
    )
    live.add_argument(
        "input", help="録音ファイル、ストリームの URL（rtsp:// http(s):// srt:// …）、録音デバイス（alsa:default など）"
    )
    live.add_argument("--title", help="会議名（省略時は「ライブ 日時」）")
    live.add_argument("--realtime", action="store_true", help="ファイルを実時間の速さで読む（リハーサル・試験用）")
    live.add_argument("--language", help="言語コード（既定 ja）")
    live.add_argument("--model", type=Path, help="faster-whisper モデルフォルダ（既定: 同梱の base）")
    live.add_argument(
        "--queue-only", action="store_true", help="散会後の文字起こし（一括処理）をワーカーに任せ、ここでは待たない"
    )
    live.add_argument("--quiet", action="store_true", help="散会後の処理の進捗バーを表示しない")


def _jobs(commands) -> None:
    """worker, models, show, retry, cancel"""
    worker = commands.add_parser("worker", help="ジョブワーカーを単独で動かす（Ctrl+C で停止）")
    worker.add_argument(
        "--queues", help="受け持つキュー（cpu、gpu をカンマ区切り。既定 cpu。MINUTES_QUEUE_URL のときだけ）"
    )
    worker.add_argument("--concurrency", type=_positive, default=1, help="同時に処理するジョブの数（既定 1）")
    jobs = commands.add_parser("jobs", help="処理の一覧（キュー、ワーカー、状態、進捗）")
    jobs.add_argument("--json", action="store_true", help="JSON で出す")
    jobs.add_argument("--limit", type=_positive, default=50, help="終わった処理を表示する件数（既定 50）")
    wait = commands.add_parser("wait", help="処理が終わるまで待つ（終了コード: 完了 0、失敗 1、取消 130）")
    wait.add_argument("job_id", type=int)
    wait.add_argument("--quiet", action="store_true", help="進捗バーを表示しない")
    commands.add_parser("models", help="使用するモデルの場所と状態を表示し、検証する")

    show = commands.add_parser("show", help="保存済みの会議の発言を表示する")
    show.add_argument("meeting_id", type=int)
    show.add_argument("--json", action="store_true")
    show.add_argument("--layer", choices=LAYERS, default="seibun", help=LAYER_HELP)

    retry = commands.add_parser("retry", help="失敗・取消した処理をやり直す")
    retry.add_argument("job_id", type=int)
    retry.add_argument("--queue-only", action="store_true", help="キューに戻すだけ（ワーカーが処理する）")
    retry.add_argument("--json", action="store_true")
    retry.add_argument("--quiet", action="store_true")

    cancel = commands.add_parser("cancel", help="処理を取り消す")
    cancel.add_argument("job_id", type=int)


def _voices(commands) -> None:
    """voices enroll|list|delete, identify MEETING_ID"""
    voices = commands.add_parser("voices", help="声の登録（名簿の人の声の特徴。音声そのものは保存しない）")
    voice_commands = voices.add_subparsers(dest="voices_command", required=True)
    enroll = voice_commands.add_parser("enroll", help="録音の一部から、名簿の人の声を登録する（繰り返し追加できる）")
    enroll.add_argument("name", help="名簿の氏名")
    enroll.add_argument("audio", type=Path, help="その人だけが話している録音ファイル")
    enroll.add_argument("--start", type=float, help="開始（秒、省略時: 最初から）")
    enroll.add_argument("--end", type=float, help="終了（秒、省略時: 最後まで）")
    listing = voice_commands.add_parser("list", help="声を登録した人と、その出どころを一覧する")
    listing.add_argument("--json", action="store_true")
    delete = voice_commands.add_parser("delete", help="その人の声の登録をすべて削除する（管理者の操作、監査記録）")
    delete.add_argument("name", help="名簿の氏名")

    identify = commands.add_parser("identify", help="保存済みの会議の話者を、声の登録と照合し直す")
    identify.add_argument("meeting_id", type=int)
    identify.add_argument("--json", action="store_true", help="結果を JSON で標準出力に出す")
    identify.add_argument("--quiet", action="store_true", help="進捗バーを表示しない")


def _export(commands) -> None:
    """export MEETING_ID --format …"""
    export = commands.add_parser("export", help="会議録を書き出す（Word、テキスト、字幕、オープンデータ）")
    export.add_argument("meeting_id", type=int)
    export.add_argument("--format", required=True, choices=list(exports.FORMATS))
    export.add_argument("-o", "--output", type=Path, help="出力ファイル（省略時: 会議名から作った名前）。- で標準出力")


def _search(commands) -> None:
    """search QUERY …"""
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


def _archive(commands) -> None:
    """archive verify|create|list"""
    archive = commands.add_parser("archive", help="確定した会議録のアーカイブを検証・作成する")
    archive_commands = archive.add_subparsers(dest="archive_command", required=True)
    verify = archive_commands.add_parser("verify", help="アーカイブのファイルが改ざん・欠落していないか検証する")
    verify.add_argument("path", type=Path, help="アーカイブのフォルダ（…/archive/<会議ID>/v<版>）")
    create = archive_commands.add_parser("create", help="確定済みでアーカイブのない会議のアーカイブを作る")
    create.add_argument("meeting_id", type=int)
    listing = archive_commands.add_parser("list", help="会議のアーカイブの版を一覧する")
    listing.add_argument("meeting_id", type=int)


def _users(commands) -> None:
    """user add|list|unlock|password, audit export"""
    user = commands.add_parser("user", help="アプリの利用者を管理する")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    add = user_commands.add_parser("add", help="利用者を追加する（パスワードは入力を求めるか標準入力から読む）")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[role.value for role in Role])
    user_commands.add_parser("list", help="利用者を一覧する")
    unlock = user_commands.add_parser("unlock", help="ロックされた利用者を解除する")
    unlock.add_argument("name")
    reset = user_commands.add_parser(
        "password", help="パスワードを再設定する（次のログインで本人が変更。管理者がパスワードを忘れたときにも）"
    )
    reset.add_argument("name")

    audit_parser = commands.add_parser("audit", help="監査ログを書き出す・検証する")
    audit_commands = audit_parser.add_subparsers(dest="audit_command", required=True)
    audit_export = audit_commands.add_parser("export", help="監査ログを CSV で書き出す")
    audit_export.add_argument("--from", dest="date_from", help="この日以降（2026-04-01、UTC）")
    audit_export.add_argument("--to", dest="date_to", help="この日以前（UTC）")
    audit_export.add_argument("-o", "--output", type=Path, required=True, help="出力ファイル。- で標準出力")
    audit_commands.add_parser(
        "verify", help="監査ログのハッシュの連鎖を検証する（削除・書き換えがあれば最初の箇所を表示し、終了コード 1）"
    )


class _Title(argparse.Action):
    """``--title 議長 [--from DATE] [--to DATE]``, repeatable: each --from / --to belongs to the --title before it."""

    def __call__(self, parser, namespace, value, option_string=None) -> None:
        titles = getattr(namespace, "titles", None) or []
        if self.dest == "title":
            titles.append([value, None, None])
        elif not titles:
            parser.error(f"{option_string} は --title の後に指定してください")
        elif titles[-1][1 if self.dest == "starts" else 2] is not None:
            parser.error(f"{option_string} が同じ --title に 2 回あります")
        else:
            titles[-1][1 if self.dest == "starts" else 2] = value
        namespace.titles = titles


def _people(commands) -> None:
    """people add|list|import|export|retire"""
    people = commands.add_parser("people", help="議会の名簿（議員・説明員・職員と職名）を管理する")
    people_commands = people.add_subparsers(dest="people_command", required=True)
    add = people_commands.add_parser("add", help="名簿に人を追加する")
    add.add_argument("name", help="氏名（空白・敬称は除いて登録）")
    add.add_argument("--yomi", default="", help="よみ（ひらがな）")
    add.add_argument("--kind", default="議員", choices=["議員", "説明員", "職員", "その他"], help="区分（既定: 議員）")
    add.add_argument("--seat", type=_positive, help="議席番号")
    add.add_argument("--group", default="", help="会派")
    add.add_argument("--title", action=_Title, help="職名（議長、町長、総務課長 …）。繰り返し指定できる")
    add.add_argument(
        "--from", dest="starts", action=_Title, help="直前の --title の就任日（2024/04/01、令和6年4月1日）"
    )
    add.add_argument("--to", dest="ends", action=_Title, help="直前の --title の退任日（省略: 現任）")
    add.set_defaults(titles=[])
    listing = people_commands.add_parser("list", help="名簿を一覧する")
    listing.add_argument("--json", action="store_true", help="JSON で出す")
    listing.add_argument("--all", action="store_true", help="退任した人も含める")
    load = people_commands.add_parser("import", help="名簿を CSV から取り込む（再び取り込んでも重複しない）")
    load.add_argument("file", type=Path, help="CSV（見出し: 氏名,よみ,区分,議席番号,会派,職名,就任日,退任日,状態）")
    dump = people_commands.add_parser("export", help="名簿を CSV に書き出す（取り込みと同じ形式）")
    dump.add_argument("file", type=Path, nargs="?", help="出力ファイル（省略または - で標準出力）")
    retire = people_commands.add_parser("retire", help="名簿の人を退任にする（過去の会議録のために残る）")
    retire.add_argument("name")
    retire.add_argument("--undo", action="store_true", help="退任を取り消して在任に戻す")


def _maintenance(commands) -> None:
    """backup DIR, restore DIR, db check"""
    backup = commands.add_parser(
        "backup", help="データベース（使用中でも可）と録音・資料・アーカイブをフォルダにバックアップする"
    )
    backup.add_argument("dir", type=Path, help="バックアップ先の新しいフォルダ（例: /backup/minutes/2026-04-01）")
    restore = commands.add_parser(
        "restore", help="バックアップから復元する（アプリとワーカーを止めてから。元のデータは before-restore-… に残す）"
    )
    restore.add_argument("dir", type=Path, help="`minutes backup` で作ったフォルダ")
    db = commands.add_parser("db", help="データベースのファイルを点検する")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    check = db_commands.add_parser("check", help="データベースが壊れていないか検査する（問題があれば終了コード 1）")
    check.add_argument("--quick", action="store_true", help="速い簡易検査（quick_check）にする")


LAYERS = ("raw", "kebatori", "seibun")
LAYER_HELP = (
    "表示する層: raw（素起こし）、kebatori（ケバ取り）、seibun（整文、既定）。JSON は text（整文）と raw を持つ"
)


def _corrections(commands) -> None:
    """corrections add|list|delete"""
    corrections = commands.add_parser("corrections", help="補正ルール（誤→正、文字起こしの整文に適用）を管理する")
    sub = corrections.add_subparsers(dest="corrections_command", required=True)
    add = sub.add_parser("add", help="ルールを追加する")
    add.add_argument("wrong", help="誤（認識結果の表記。例: 長栄バス）")
    add.add_argument("right", help="正（会議録の表記。例: 町営バス）")
    add.add_argument("--context", default="", help="この文脈の中だけで直す（例: 長栄バス の 長栄）")
    listing = sub.add_parser("list", help="ルールを一覧する")
    listing.add_argument("--json", action="store_true")
    delete = sub.add_parser("delete", help="ルールを削除する（誤が同じルールすべて。正・文脈で絞れる）")
    delete.add_argument("wrong")
    delete.add_argument("right", nargs="?")
    delete.add_argument("--context")


def _dictionary(commands) -> None:
    """dictionary list|add|delete|import|export"""
    dictionary = commands.add_parser("dictionary", help="用語辞書（認識で優先する語）を管理する")
    sub = dictionary.add_subparsers(dest="dictionary_command", required=True)
    listing = sub.add_parser("list", help="登録されている用語を一覧する")
    listing.add_argument("--query", help="表記か読みに含む文字")
    listing.add_argument("--kind", choices=KINDS, help="種別で絞る")
    listing.add_argument("--json", action="store_true")
    add = sub.add_parser("add", help="用語を追加する")
    add.add_argument("text", help="表記（例: 町営バス東循環線）")
    add.add_argument("--yomi", help="読み（ひらがな・カタカナ）")
    add.add_argument("--kind", default="その他", choices=KINDS, help="種別（既定: その他）")
    delete = sub.add_parser("delete", help="用語を削除する")
    delete.add_argument("text", help="表記")
    load = sub.add_parser(
        "import", help="CSV（見出し 表記,読み,種別。UTF-8、BOM 可）から取り込む。誤りがあれば何も取り込まない"
    )
    load.add_argument("file", type=Path)
    save = sub.add_parser("export", help="CSV（UTF-8、BOM 付き）に書き出す")
    save.add_argument("-o", "--output", type=Path, required=True, help="出力ファイル。- で標準出力")
