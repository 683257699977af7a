"""Command line: ``minutes transcribe | worker | models | show | retry | cancel | export | search | archive | user |
audit``. Every action goes through the services acting for the operating-system user, and is recorded in the audit
trail as ``cli`` with that user's name.

Errors end the command with one clear line on stderr and a non-zero exit status. Importing ``minutes`` has already
made the process offline (``minutes.offline``).
"""

from __future__ import annotations

import logging
import sys

from minutes import redact
from minutes.cli.commands import COMMANDS
from minutes.cli.parser import build_parser
from minutes.errors import MinutesError
from minutes.services import audit


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
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
