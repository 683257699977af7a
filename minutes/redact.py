"""Keep secrets out of logs: a logging filter that masks passwords, tokens and password hashes.

The services never log transcript text, material text or passwords (a test runs a job, an edit and a sign-in at DEBUG
and checks the captured logs); this filter is the second line, for third-party messages and accidents.
"""

from __future__ import annotations

import logging
import re

_SECRET = re.compile(r"(?i)\b(password|passwd|pwd|secret|token|パスワード)(\s*[=:：]\s*)(\S+)")
_ARGON2 = re.compile(r"\$argon2(id|i|d)\$[^\s'\"]+")


def redact(text: str) -> str:
    return _ARGON2.sub("$argon2…", _SECRET.sub(r"\1\2***", text))


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with secrets masked (attach to handlers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Attach the filter to every handler of ``logger`` (the root logger by default), once."""
    logger = logger or logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


class _NoResultRows(logging.Filter):
    """SQLAlchemy logs every fetched row at DEBUG (transcript text, password hashes): never let those through."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO


def protect_sql_logs() -> None:
    """Drop SQLAlchemy's row logging (its statements' parameters are hidden by the engine: hide_parameters)."""
    logger = logging.getLogger("sqlalchemy.engine.Engine")
    if not any(isinstance(f, _NoResultRows) for f in logger.filters):
        logger.addFilter(_NoResultRows())
