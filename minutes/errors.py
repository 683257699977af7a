"""The one error hierarchy of the project.

Every error carries a message a clerk can act on, in Japanese (``message``), and an English detail for logs and
developers (``detail``). Errors are caught only where they are shown: the job record, the page, the CLI.
"""

from __future__ import annotations


class MinutesError(Exception):
    """Base class. ``message`` is shown to the user (Japanese); ``detail`` is technical (English, optional)."""

    exit_code = 1

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.message} ({self.detail})" if self.detail else self.message


class InputError(MinutesError):
    """The user's file or arguments cannot be used (wrong type, corrupt, empty, no speech ...)."""

    exit_code = 2


class ModelError(MinutesError):
    """A model is missing, damaged or cannot be loaded. The message says what to install or where to put files."""

    exit_code = 3


class JobError(MinutesError):
    """A job cannot be started, retried or cancelled in its current state."""

    exit_code = 4


class JobCancelled(MinutesError):
    """Raised inside a running job when the user cancelled it."""


class NotFoundError(MinutesError):
    """A meeting, job or other record does not exist."""

    exit_code = 5


class PermissionDenied(MinutesError):
    """The signed-in user's role or a closed meeting's list of members does not allow the action."""

    exit_code = 6


class AuthError(MinutesError):
    """Sign-in failed (wrong name or password, locked or disabled account) or the session has ended."""

    exit_code = 7


class EditConflict(MinutesError):
    """Someone else changed the record since it was shown. ``current`` is what is stored now (a view)."""

    def __init__(self, message: str, detail: str = "", current: object = None) -> None:
        super().__init__(message, detail)
        self.current = current


class FinalizedError(MinutesError):
    """The meeting is finalized: nothing in it can change until it is reopened."""


class DatabaseUnavailable(MinutesError):
    """The database file is damaged, cannot be opened, or the disk under it fails: nothing can be done until an
    administrator checks or restores it. The message says what happened and what to do."""

    exit_code = 8


class DiskFullError(MinutesError):
    """The disk under the data folder is full (or over quota). The message says how much is free and what to delete;
    the partial file is removed where it was being written, and a job that hit it can be retried."""

    exit_code = 9
