"""What every service shares: the engine, the settings in force, who is acting, and the two checks most methods
start with (may this user read the meeting; may they change it, and is it still a draft)."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from minutes.errors import FinalizedError
from minutes.services.permissions import Permission, Principal, check
from minutes.settings import Settings
from minutes.store.audit import ORG_OPTION
from minutes.store.tables import Meeting


class Service:
    """Built per signed-in user (or for the operating-system user) by :class:`minutes.services.Services`; light to
    make. Thread-safe: every call opens its own database session."""

    def __init__(self, engine: Engine, settings: Settings, user: Principal) -> None:
        # The same engine (and pool), naming the organisation the audit events written through it belong to.
        self.engine = engine.execution_options(**{ORG_OPTION: user.org_id})
        self.settings = settings
        self.user = user

    @property
    def actor(self) -> str:
        """The name recorded for this user's changes."""
        return self.user.name

    def _readable(self, session: Session, meeting_id: int) -> Meeting:
        return check(session, self.user, Permission.READ, meeting_id)

    def _editable(self, session: Session, meeting_id: int, permission: Permission = Permission.EDIT) -> Meeting:
        """The meeting, if the user may ``permission`` on it and it is not finalized."""
        meeting = check(session, self.user, permission, meeting_id)
        if meeting.finalized_at is not None:
            raise FinalizedError(
                f"この会議録は {meeting.finalized_by} さんが確定済みのため編集できません。"
                "修正が必要な場合は、会議ページで「確定を解除」してください。",
                f"meeting {meeting_id} finalized",
            )
        return meeting
