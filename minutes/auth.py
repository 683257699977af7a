"""Accounts, roles, permissions and sessions.

Roles (役割) and what they may do:

==========  =====================================================================================
管理者      everything below, plus users, settings and models, and the audit log
書記        create meetings (upload recordings), edit, upload materials, finalize/reopen, export,
            mark a meeting closed and choose who may see it
編集者      read drafts, edit transcripts and meeting details, upload materials; not finalize, not export
閲覧者      read finalized minutes only
==========  =====================================================================================

Closed meetings (非公開・秘密会, ``Meeting.closed``) are visible only to the users listed for them, administrators
included only when listed: a secret session's record is not the system administrator's business. They are hidden
from lists, search, exports and archive listings (the services check :func:`require` and :func:`hidden_meetings`).

A service built without a user (``user=None``) acts for the local operating-system user: the CLI and the job worker
run on the server itself, where whoever can run them can read the database file anyway. They are recorded in the
audit trail as ``cli`` or ``system`` with the operating-system user's name.

Passwords are hashed with argon2id (argon2-cffi). ``User.auth_provider`` is ``local``; an SSO provider would
implement :class:`Authenticator` and create sessions the same way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session, col, select, update

from minutes import audit, clock
from minutes.errors import AuthError, InputError, PermissionDenied
from minutes.settings import Settings
from minutes.tables import Meeting, MeetingAccess, User, UserSession, utcnow


class Role(StrEnum):
    ADMIN = "管理者"
    CLERK = "書記"
    EDITOR = "編集者"
    VIEWER = "閲覧者"


class Permission(StrEnum):
    READ = "read"  # a finalized meeting (drafts need READ_DRAFT too)
    READ_DRAFT = "read_draft"
    CREATE_MEETING = "create_meeting"  # includes uploading its recording and retrying or cancelling its job
    EDIT = "edit"  # utterances, speakers, meeting details, agenda
    UPLOAD_MATERIAL = "upload_material"
    FINALIZE = "finalize"  # and reopen, and write an archive
    EXPORT = "export"
    MANAGE_ACCESS = "manage_access"  # closed flag and its list of members
    MANAGE_USERS = "manage_users"
    VIEW_AUDIT = "view_audit"
    MANAGE_SETTINGS = "manage_settings"  # settings and models


_CLERK = {
    Permission.READ,
    Permission.READ_DRAFT,
    Permission.CREATE_MEETING,
    Permission.EDIT,
    Permission.UPLOAD_MATERIAL,
    Permission.FINALIZE,
    Permission.EXPORT,
    Permission.MANAGE_ACCESS,
}
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.CLERK: frozenset(_CLERK),
    Role.EDITOR: frozenset({Permission.READ, Permission.READ_DRAFT, Permission.EDIT, Permission.UPLOAD_MATERIAL}),
    Role.VIEWER: frozenset({Permission.READ}),
}

LABELS = {
    Permission.READ: "確定済み会議録の閲覧",
    Permission.READ_DRAFT: "作成中の会議録の閲覧",
    Permission.CREATE_MEETING: "会議の作成・録音の登録",
    Permission.EDIT: "発言・会議情報の編集",
    Permission.UPLOAD_MATERIAL: "資料の登録",
    Permission.FINALIZE: "確定・確定の解除",
    Permission.EXPORT: "書き出し",
    Permission.MANAGE_ACCESS: "非公開の設定",
    Permission.MANAGE_USERS: "利用者の管理",
    Permission.VIEW_AUDIT: "監査ログ",
    Permission.MANAGE_SETTINGS: "設定・モデル",
}


def who_can(permission: Permission) -> str:
    """The roles that have ``permission``, for messages: 「編集者・書記・管理者」 (narrowest role first)."""
    return "・".join(role.value for role in reversed(Role) if permission in PERMISSIONS[role])


@dataclass(frozen=True)
class Principal:
    """The signed-in user, as the services see it (never a live ORM row)."""

    id: int
    name: str
    role: Role
    auth_provider: str = "local"
    must_change_password: bool = False  # an initial or reset password: the app asks for a new one first

    def can(self, permission: Permission) -> bool:
        return permission in PERMISSIONS[self.role]


def can_see(user: Principal | None, meeting: Meeting, members: Collection[int] = ()) -> bool:
    """Whether ``user`` may see ``meeting`` at all (closed meetings: listed members only)."""
    if user is None:
        return True
    if meeting.closed and user.id not in members:
        return False
    return meeting.finalized_at is not None or user.can(Permission.READ_DRAFT)


def require(
    user: Principal | None, permission: Permission, meeting: Meeting | None = None, members: Collection[int] = ()
) -> None:
    """Raise PermissionDenied unless ``user`` may do ``permission`` (on ``meeting``, whose closed-list is
    ``members``). ``None`` is the local operating-system user (CLI, worker): allowed."""
    if user is None:
        return
    if not user.can(permission):
        raise PermissionDenied(
            f"この操作（{LABELS[permission]}）は「{user.role}」の権限ではできません。管理者に依頼してください。",
            f"{user.name} ({user.role}) lacks {permission}",
        )
    if meeting is not None and not can_see(user, meeting, members):
        # The same words as a missing meeting: a closed meeting's existence is not revealed.
        raise PermissionDenied(
            "この会議は表示できません（非公開の会議か、まだ確定されていません）。",
            f"{user.name} may not see meeting {meeting.id}",
        )


def members_of(session: Session, meeting_id: int) -> set[int]:
    statement = select(MeetingAccess.user_id).where(MeetingAccess.meeting_id == meeting_id)
    return set(session.exec(statement))


def check(session: Session, user: Principal | None, permission: Permission, meeting_id: int) -> Meeting:
    """Load the meeting and :func:`require` ``permission`` on it; returns the meeting."""
    from minutes import repository

    meeting = repository.get_meeting(session, meeting_id=meeting_id)
    if user is not None:
        require(user, permission, meeting, members_of(session, meeting_id) if meeting.closed else ())
    return meeting


def hidden_meetings(session: Session, user: Principal | None) -> set[int]:
    """Ids of the meetings ``user`` may not see (for lists and search)."""
    if user is None:
        return set()
    mine = set(session.exec(select(MeetingAccess.meeting_id).where(MeetingAccess.user_id == user.id)))
    hidden = set()
    for meeting_id, closed, finalized_at in session.exec(select(Meeting.id, Meeting.closed, Meeting.finalized_at)):
        if (closed and meeting_id not in mine) or (finalized_at is None and not user.can(Permission.READ_DRAFT)):
            hidden.add(meeting_id)
    return hidden


# ---------------------------------------------------------------- accounts and sessions


class Authenticator(Protocol):
    """What a sign-in provider does: check credentials and name the local user (local passwords now; SSO later)."""

    def authenticate(self, name: str, secret: str, *, ip: str | None = None) -> Principal: ...


MIN_PASSWORD = 10
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_DUMMY_HASH = _hasher.hash("not a password of anybody")


def _principal(user: User) -> Principal:
    return Principal(user.id, user.name, Role(user.role), user.auth_provider, user.must_change_password)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class UserInfo:
    id: int
    name: str
    role: Role
    auth_provider: str
    active: bool
    locked_until: dt.datetime | None
    failed_logins: int
    last_login_at: dt.datetime | None
    must_change_password: bool = False


class AuthService:
    """Local accounts and signed-in sessions. Thread-safe (every call opens its own session); ``clock`` is
    injectable for tests of lockout and expiry."""

    def __init__(
        self,
        engine,
        settings: Settings | Callable[[], Settings] | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self._settings = settings or Settings()
        self.clock = clock

    @classmethod
    def of(cls, service) -> AuthService:
        """For the app: the lockout and session settings are read from the service at each use, so a change on the
        管理 page applies at once."""
        return cls(service.engine, lambda: service.settings)

    @property
    def settings(self) -> Settings:
        return self._settings() if callable(self._settings) else self._settings

    # ------------------------------------------------------------ users

    def has_users(self) -> bool:
        with Session(self.engine) as session:
            return session.exec(select(User.id).limit(1)).first() is not None

    def users(self, actor: Principal | None = None) -> list[UserInfo]:
        require(actor, Permission.MANAGE_USERS)
        with Session(self.engine) as session:
            return [
                UserInfo(
                    u.id,
                    u.name,
                    Role(u.role),
                    u.auth_provider,
                    u.active,
                    u.locked_until,
                    u.failed_logins,
                    u.last_login_at,
                    u.must_change_password,
                )
                for u in session.exec(select(User).order_by(col(User.id)))
            ]

    def names(self) -> dict[int, str]:
        """Id → name of every active user (for choosing the members of a closed meeting)."""
        with Session(self.engine) as session:
            rows = session.exec(select(User.id, User.name).where(col(User.active)).order_by(col(User.id)))
            return {user_id: name for user_id, name in rows}

    def create_user(
        self,
        name: str,
        role: Role | str,
        password: str,
        *,
        actor: Principal | None = None,
        actor_name: str = "",
        must_change_password: bool = True,
    ) -> Principal:
        """Add a local account. ``actor`` None: the operating-system user (CLI) or the first administrator. The
        password is an initial one that the user must replace after signing in, unless ``must_change_password`` is
        False (the first administrator chose their own)."""
        require(actor, Permission.MANAGE_USERS)
        name = name.strip()
        if not name or len(name) > 100:
            raise InputError("利用者名を 1〜100 文字で入力してください。", "bad user name")
        try:
            role = Role(role)
        except ValueError:
            raise InputError(f"役割は {'・'.join(Role)} のいずれかです。", f"unknown role {role!r}") from None
        _check_password(password)
        with Session(self.engine) as session:
            if session.exec(select(User.id).where(User.name == name)).first() is not None:
                raise InputError(f"利用者「{name}」はすでに登録されています。", f"user {name} exists")
            user = User(
                name=name,
                role=role.value,
                password_hash=_hasher.hash(password),
                must_change_password=must_change_password,
            )
            session.add(user)
            session.flush()
            audit.record(
                session,
                actor=actor.name if actor else (actor_name or name),
                action="user_add",
                target_type="user",
                target_id=user.id,
                after={"name": name, "role": role.value},
            )
            session.commit()
            return _principal(user)

    def create_first_admin(self, name: str, password: str) -> Principal:
        """The first account, only while none exists (the app's 管理者の作成 form)."""
        if self.has_users():
            raise PermissionDenied("管理者はすでに作成されています。ログインしてください。", "users exist")
        return self.create_user(name, Role.ADMIN, password, must_change_password=False)

    def update_user(
        self,
        user_id: int,
        *,
        actor: Principal | None,
        role: Role | str | None = None,
        active: bool | None = None,
        unlock: bool = False,
        password: str | None = None,
        actor_name: str = "",
    ) -> None:
        """Change a user's role, disable or enable, unlock, or set a new password (revokes their sessions).
        ``actor_name``: who is recorded when ``actor`` is None (the CLI's operating-system user)."""
        require(actor, Permission.MANAGE_USERS)
        with Session(self.engine) as session:
            user = session.get(User, user_id)
            if user is None:
                raise InputError("利用者が見つかりません。", f"user {user_id}")
            before = {"role": user.role, "active": user.active}
            if actor is not None and actor.id == user_id and (active is False or (role and role != Role.ADMIN)):
                raise InputError("自分自身の管理者権限は外せません。", "admin demoting itself")
            if role is not None:
                user.role = Role(role).value
            if active is not None:
                user.active = active
            if unlock:
                user.failed_logins, user.locked_until = 0, None
            if password is not None:
                _check_password(password)
                user.password_hash = _hasher.hash(password)
                user.must_change_password = True  # a password the administrator knows: the user replaces it
            if active is False or password is not None or role is not None:
                self._revoke_all(session, user_id)
            session.add(user)
            audit.record(
                session,
                actor=actor.name if actor else actor_name,
                action="user_update",
                target_type="user",
                target_id=user_id,
                before=before,
                after={"role": user.role, "active": user.active, "unlock": unlock, "password": password is not None},
            )
            session.commit()

    def change_password(self, user: Principal, current: str, new: str, *, keep_token: str | None = None) -> None:
        """The signed-in user replaces their own password. Every other session of theirs ends (``keep_token``, the
        session they are using, stays). A wrong current password counts as a failed sign-in (lockout)."""
        with Session(self.engine) as session:
            row = session.get(User, user.id)
            if row is None or row.password_hash is None or row.auth_provider != "local":
                raise InputError("このアカウントのパスワードはここでは変更できません。", f"user {user.id} not local")
            if not _verify(row.password_hash, current):
                session.rollback()
                self.authenticate(row.name, current)  # records the failure and applies the lockout
                raise AuthError("今のパスワードが違います。", "bad current password")
            if new == current:
                raise InputError("新しいパスワードには、今と違うものを指定してください。", "same password")
            _check_password(new)
            row.password_hash = _hasher.hash(new)
            row.must_change_password = False
            session.add(row)
            self._revoke_all(session, user.id, except_token=keep_token)
            audit.record(session, actor=row.name, action="password_change", target_type="user", target_id=row.id)
            session.commit()

    def sessions(self, user: Principal) -> list[tuple[dt.datetime, dt.datetime, str | None]]:
        """The user's live sessions: (signed in, last active, address), newest first."""
        now = self.clock()
        with Session(self.engine) as session:
            rows = session.exec(
                select(UserSession)
                .where(UserSession.user_id == user.id, col(UserSession.revoked_at).is_(None))
                .order_by(col(UserSession.created_at).desc())
            )
            return [(r.created_at, r.last_seen_at, r.ip) for r in rows if _aware(r.expires_at) > now]

    def end_other_sessions(self, user: Principal, keep_token: str | None) -> None:
        """Sign out everywhere else (a browser left signed in on another PC)."""
        with Session(self.engine) as session:
            self._revoke_all(session, user.id, except_token=keep_token)
            audit.record(session, actor=user.name, action="logout_others", target_type="user", target_id=user.id)
            session.commit()

    # ------------------------------------------------------------ sign-in

    def authenticate(self, name: str, secret: str, *, ip: str | None = None) -> Principal:
        """Check a local password, with lockout after ``lockout_attempts`` failures in a row."""
        now = self.clock()
        refused = AuthError("利用者名またはパスワードが違います。", "bad credentials")
        with Session(self.engine) as session:
            user = session.exec(select(User).where(User.name == name.strip())).first()
            if user is None or user.password_hash is None or user.auth_provider != "local":
                _verify(_DUMMY_HASH, secret)  # same time as a real check: no probing for names
                audit.record(
                    session, actor=name, action="login_failed", target_type="user", after={"reason": "unknown"}
                )
                session.commit()
                raise refused
            if user.locked_until is not None and _aware(user.locked_until) > now:
                audit.record(
                    session, actor=user.name, action="login_failed", target_type="user", target_id=user.id,
                    after={"reason": "locked"},
                )  # fmt: skip
                session.commit()
                raise AuthError(
                    "ログインの失敗が続いたため、このアカウントは一時的にロックされています。"
                    f"{_local(user.locked_until)} 以降にもう一度試すか、管理者に解除を依頼してください。",
                    "locked",
                )
            if not _verify(user.password_hash, secret) or not user.active:
                user.failed_logins += 1
                reason = "password" if user.active else "disabled"
                if user.failed_logins >= self.settings.lockout_attempts:
                    user.locked_until = now + dt.timedelta(minutes=self.settings.lockout_minutes)
                    user.failed_logins = 0
                    reason = "locked now"
                session.add(user)
                audit.record(
                    session, actor=user.name, action="login_failed", target_type="user", target_id=user.id,
                    after={"reason": reason},
                )  # fmt: skip
                session.commit()
                raise refused
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = _hasher.hash(secret)
            user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
            session.add(user)
            session.commit()
            return _principal(user)

    def login(self, name: str, password: str, *, ip: str | None = None) -> tuple[str, Principal]:
        """Sign in; returns a new session token (kept by the browser session only) and the user."""
        user = self.authenticate(name, password, ip=ip)
        return self.start_session(user, ip=ip), user

    def start_session(self, user: Principal, *, ip: str | None = None) -> str:
        now = self.clock()
        token = secrets.token_urlsafe(32)
        with Session(self.engine) as session:
            session.add(
                UserSession(
                    user_id=user.id,
                    token_sha256=_token_hash(token),
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + dt.timedelta(hours=self.settings.session_max_hours),
                    ip=ip,
                )
            )
            audit.record(session, actor=user.name, action="login", target_type="user", target_id=user.id)
            session.commit()
        return token

    def validate(self, token: str | None) -> Principal | None:
        """The user of a live session, or None (unknown, revoked, idle too long, past its end, user disabled).
        Called on every rerun; it also marks the session as active."""
        if not token:
            return None
        now = self.clock()
        with Session(self.engine) as session:
            row = session.exec(select(UserSession).where(UserSession.token_sha256 == _token_hash(token))).first()
            if row is None or row.revoked_at is not None:
                return None
            user = session.get(User, row.user_id)
            idle = dt.timedelta(minutes=self.settings.session_idle_minutes)
            stale = now >= _aware(row.expires_at) or now - _aware(row.last_seen_at) > idle
            if user is None or not user.active or stale:
                row.revoked_at = now
                session.add(row)
                audit.record(
                    session, actor=user.name if user else "", action="session_expired", target_type="user",
                    target_id=row.user_id,
                )  # fmt: skip
                session.commit()
                return None
            row.last_seen_at = now
            session.add(row)
            session.commit()
            return _principal(user)

    def logout(self, token: str | None) -> None:
        if not token:
            return
        with Session(self.engine) as session:
            row = session.exec(select(UserSession).where(UserSession.token_sha256 == _token_hash(token))).first()
            if row is None or row.revoked_at is not None:
                return
            row.revoked_at = self.clock()
            session.add(row)
            user = session.get(User, row.user_id)
            actor = user.name if user else ""
            audit.record(session, actor=actor, action="logout", target_type="user", target_id=row.user_id)
            session.commit()

    def _revoke_all(self, session: Session, user_id: int, except_token: str | None = None) -> None:
        statement = update(UserSession).where(
            col(UserSession.user_id) == user_id, col(UserSession.revoked_at).is_(None)
        )
        if except_token:
            statement = statement.where(col(UserSession.token_sha256) != _token_hash(except_token))
        session.exec(statement.values(revoked_at=self.clock()))


def _verify(password_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(password_hash, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"パスワードは {MIN_PASSWORD} 文字以上にしてください。", "password too short")


def _local(moment: dt.datetime) -> str:
    return clock.local(moment, "%H:%M")
