"""Command line: ``minutes transcribe | worker | models | show | retry | cancel | export | search | archive | user |
people | audit | orgs``. Every action goes through the services acting for the operating-system user (within one
organisation: ``--org`` or ``MINUTES_ORG``), and is recorded in the audit trail as ``cli`` with that user's name.

Errors end the command with one clear line on stderr and a non-zero exit status. Importing ``minutes`` has already
made the process offline (``minutes.offline``).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from minutes import redact
from minutes.cli.commands import COMMANDS
from minutes.cli.parser import build_parser
from minutes.diskspace import disk_full, is_disk_full
from minutes.errors import MinutesError
from minutes.services import audit
from minutes.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    redact.install()
    if args.command == "transcribe" and args.max_speakers and args.speakers:
        parser.error("--speakers と --max-speakers は同時に指定できません")
    try:
        with audit.acting_as(audit.CLI), _organization(getattr(args, "org", None)):
            return COMMANDS[args.command](args)
    except MinutesError as error:
        print(f"エラー: {error.message}", file=sys.stderr)
        if args.verbose and error.detail:
            print(f"詳細: {error.detail}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("中断しました。", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`minutes show 1 | head`): stop quietly, as other command-line tools do; what is left
        # in Python's buffer would fail again at exit, so it goes nowhere
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as error:
        if not is_disk_full(error):
            raise
        # a full disk anywhere (an upload, the model, the database): one line that says so, not a traceback
        full = disk_full(_data_dir(), error)
        print(f"エラー: {full.message}", file=sys.stderr)
        if args.verbose:
            print(f"詳細: {full.detail}", file=sys.stderr)
        return full.exit_code


@contextmanager
def _organization(org: str | None) -> Iterator[None]:
    """``--org`` is ``MINUTES_ORG`` for this command (the Runtime reads it with the other settings)."""
    if org is None:
        yield
        return
    before = os.environ.get("MINUTES_ORG")
    os.environ["MINUTES_ORG"] = org
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MINUTES_ORG", None)
        else:
            os.environ["MINUTES_ORG"] = before


def _data_dir():
    try:
        return Settings.from_env().data_dir
    except MinutesError:
        return Settings().data_dir
