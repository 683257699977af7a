"""Local accounts and signed-in sessions (sign-in, lockout, expiry, passwords, administrators' user management).

Passwords are hashed with argon2id (argon2-cffi). ``User.auth_provider`` is ``local``; an SSO provider would
implement :class:`Authenticator` and create sessions the same way. The roles and what they may do are in
``minutes.services.permissions``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session

from minutes import clock
from minutes.errors import AuthError, InputError, PermissionDenied
from minutes.services.base import Service
from minutes.services.permissions import Permission, Principal, Role, require
from minutes.settings import Settings
from minutes.store import accounts, audit
from minutes.store.tables import DEFAULT_ORG, User, UserSession, utcnow

# ---------------------------------------------------------------- accounts and sessions


class Authenticator(Protocol):
    """What a sign-in provider does: check credentials and name the local user (local passwords now; SSO later)."""

    def authenticate(self, name: str, secret: str, *, ip: str | None = None) -> Principal: ...


MIN_PASSWORD = 10
# A session is marked active at most once a minute: every full page run validates the token, and a write on each one
# queued behind the other clerks' saves and the worker's progress for the database's one writer (issue 16, five
# clerks at once). The idle limit is counted from the last mark, so it may end up to a minute early.
TOUCH_EVERY = dt.timedelta(minutes=1)
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_DUMMY_HASH = _hasher.hash("not a password of anybody")


def _principal(user: User) -> Principal:
    return Principal(
        user.id, user.name, Role(user.role), user.auth_provider, user.must_change_password, org_id=user.org_id
    )


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


class SignInService:
    """Signing in and out, before anyone is known: the first administrator, sign-in with lockout, session tokens.
    Thread-safe (every call opens its own session). ``settings`` may be a callable of an organisation's id, read at
    each use once the user (and so their organisation) is known, so that a change on an organisation's 管理 page
    applies at once to its own users; ``clock`` is injectable for tests of lockout and expiry."""

    def __init__(
        self,
        engine,
        settings: Settings | Callable[[int], Settings] | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self._settings = settings or Settings()
        self.clock = clock

    def settings_for(self, org_id: int) -> Settings:
        """The settings in force for the users of organisation ``org_id`` (lockout, session lengths)."""
        return self._settings(org_id) if callable(self._settings) else self._settings

    def has_users(self) -> bool:
        with Session(self.engine) as session:
            return accounts.any_user(session)

    def create_first_admin(self, name: str, password: str) -> Principal:
        """The first account, only while none exists (the app's 管理者の作成 form)."""
        if self.has_users():
            raise PermissionDenied("管理者はすでに作成されています。ログインしてください。", "users exist")
        return _add_user(self.engine, name, Role.ADMIN, password, False)

    def authenticate(self, name: str, secret: str, *, ip: str | None = None) -> Principal:
        """Check a local password, with lockout after ``lockout_attempts`` failures in a row."""
        now = self.clock()
        refused = AuthError("利用者名またはパスワードが違います。", "bad credentials")
        with Session(self.engine) as session:
            user = accounts.user_named(session, name=name.strip())
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
                settings = self.settings_for(user.org_id)
                if user.failed_logins >= settings.lockout_attempts:
                    user.locked_until = now + dt.timedelta(minutes=settings.lockout_minutes)
                    user.failed_logins = 0
                    reason = "locked now"
                audit.record(
                    session, actor=user.name, action="login_failed", target_type="user", target_id=user.id,
                    after={"reason": reason},
                )  # fmt: skip
                session.commit()
                raise refused
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = _hasher.hash(secret)
            user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
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
            accounts.add_session(
                session,
                row=UserSession(
                    user_id=user.id,
                    token_sha256=_token_hash(token),
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + dt.timedelta(hours=self.settings_for(user.org_id).session_max_hours),
                    ip=ip,
                ),
            )
            audit.record(session, actor=user.name, action="login", target_type="user", target_id=user.id)
            session.commit()
        return token

    def validate(self, token: str | None) -> Principal | None:
        """The user of a live session, or None (unknown, revoked, idle too long, past its end, user disabled).
        Called on every rerun; it also marks the session as active (at most once every :data:`TOUCH_EVERY`)."""
        if not token:
            return None
        now = self.clock()
        with Session(self.engine) as session:
            row = accounts.session_by_token(session, token_sha256=_token_hash(token))
            if row is None or row.revoked_at is not None:
                return None
            user = accounts.get_user(session, user_id=row.user_id)
            idle = dt.timedelta(minutes=self.settings_for(user.org_id if user else DEFAULT_ORG).session_idle_minutes)
            stale = now >= _aware(row.expires_at) or now - _aware(row.last_seen_at) > idle
            if user is None or not user.active or stale:
                row.revoked_at = now
                audit.record(
                    session, actor=user.name if user else "", action="session_expired", target_type="user",
                    target_id=row.user_id,
                )  # fmt: skip
                session.commit()
                return None
            if now - _aware(row.last_seen_at) >= TOUCH_EVERY:
                row.last_seen_at = now
                session.commit()
            return _principal(user)

    def logout(self, token: str | None) -> None:
        if not token:
            return
        with Session(self.engine) as session:
            row = accounts.session_by_token(session, token_sha256=_token_hash(token))
            if row is None or row.revoked_at is not None:
                return
            row.revoked_at = self.clock()
            user = accounts.get_user(session, user_id=row.user_id)
            actor = user.name if user else ""
            audit.record(session, actor=actor, action="logout", target_type="user", target_id=row.user_id)
            session.commit()


class AccountsService(Service):
    """Accounts for the signed-in user: administrators manage users; everyone changes their own password and sees
    where they are signed in."""

    def __init__(
        self, engine, settings: Settings, user: Principal, *, clock: Callable[[], dt.datetime] = utcnow
    ) -> None:
        super().__init__(engine, settings, user)
        self.clock = clock

    def users(self) -> list[UserInfo]:
        require(self.user, Permission.MANAGE_USERS)
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
                for u in accounts.users(session, org_id=self.user.org_id)
            ]

    def names(self) -> dict[int, str]:
        """Id → name of every active user (for choosing the members of a closed meeting)."""
        require(self.user, Permission.MANAGE_ACCESS)
        with Session(self.engine) as session:
            return accounts.active_names(session, org_id=self.user.org_id)

    def create_user(
        self,
        name: str,
        role: Role | str,
        password: str,
        *,
        must_change_password: bool = True,
    ) -> Principal:
        """Add a local account. The password is an initial one that the user must replace after signing in, unless
        ``must_change_password`` is False (the operator's own account made with ``minutes user add``)."""
        require(self.user, Permission.MANAGE_USERS)
        self._may_grant(role)
        return _add_user(
            self.engine, name, role, password, must_change_password, actor=self.actor, org_id=self.user.org_id
        )

    def roles(self) -> list[Role]:
        """The roles this user may give (全体管理者 only by an installation administrator)."""
        return [role for role in Role if role != Role.INSTALLATION_ADMIN or self.user.can(Permission.MANAGE_ORGS)]

    def _may_grant(self, role: Role | str | None) -> None:
        if role is not None and role == Role.INSTALLATION_ADMIN and not self.user.can(Permission.MANAGE_ORGS):
            raise PermissionDenied(
                "全体管理者の役割は全体管理者だけが付けられます。", f"{self.user.name} may not grant {role}"
            )

    def update_user(
        self,
        user_id: int,
        *,
        role: Role | str | None = None,
        active: bool | None = None,
        unlock: bool = False,
        password: str | None = None,
    ) -> None:
        """Change a user's role, disable or enable, unlock, or set a new password (revokes their sessions)."""
        require(self.user, Permission.MANAGE_USERS)
        with Session(self.engine) as session:
            user = accounts.get_user(session, user_id=user_id)
            if user is None or user.org_id != self.user.org_id:
                raise InputError("利用者が見つかりません。", f"user {user_id}")
            self._may_grant(role)
            if user.role == Role.INSTALLATION_ADMIN:
                self._may_grant(user.role)  # an organisation's 管理者 does not change the installation's
            before = {"role": user.role, "active": user.active}
            if (
                not self.user.local
                and self.user.id == user_id
                and (active is False or (role and role not in (Role.ADMIN, Role.INSTALLATION_ADMIN)))
            ):
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
                _revoke_all(session, user_id, at=self.clock())
            audit.record(
                session,
                actor=self.actor,
                action="user_update",
                target_type="user",
                target_id=user_id,
                before=before,
                after={"role": user.role, "active": user.active, "unlock": unlock, "password": password is not None},
            )
            session.commit()

    def change_password(self, current: str, new: str, *, keep_token: str | None = None) -> None:
        """The signed-in user replaces their own password. Every other session of theirs ends (``keep_token``, the
        session they are using, stays). A wrong current password counts as a failed sign-in (lockout)."""
        user = self.user
        with Session(self.engine) as session:
            row = accounts.get_user(session, user_id=user.id)
            if row is None or row.password_hash is None or row.auth_provider != "local":
                raise InputError("このアカウントのパスワードはここでは変更できません。", f"user {user.id} not local")
            if not _verify(row.password_hash, current):
                session.rollback()
                SignInService(self.engine, self.settings, self.clock).authenticate(
                    row.name, current
                )  # records the failure and applies the lockout
                raise AuthError("今のパスワードが違います。", "bad current password")
            if new == current:
                raise InputError("新しいパスワードには、今と違うものを指定してください。", "same password")
            _check_password(new)
            row.password_hash = _hasher.hash(new)
            row.must_change_password = False
            _revoke_all(session, user.id, at=self.clock(), except_token=keep_token)
            audit.record(session, actor=row.name, action="password_change", target_type="user", target_id=row.id)
            session.commit()

    def sessions(self) -> list[tuple[dt.datetime, dt.datetime, str | None]]:
        """The user's live sessions: (signed in, last active, address), newest first."""
        user, now = self.user, self.clock()
        with Session(self.engine) as session:
            rows = accounts.open_sessions(session, user_id=user.id)
            return [(r.created_at, r.last_seen_at, r.ip) for r in rows if _aware(r.expires_at) > now]

    def end_other_sessions(self, keep_token: str | None) -> None:
        """Sign out everywhere else (a browser left signed in on another PC)."""
        user = self.user
        with Session(self.engine) as session:
            _revoke_all(session, user.id, at=self.clock(), except_token=keep_token)
            audit.record(session, actor=user.name, action="logout_others", target_type="user", target_id=user.id)
            session.commit()

    # ------------------------------------------------------------ sign-in


def _add_user(
    engine,
    name: str,
    role: Role | str,
    password: str,
    must_change_password: bool,
    *,
    actor: str = "",
    org_id: int = DEFAULT_ORG,
) -> Principal:
    """:func:`add_account` in a transaction of its own."""
    with Session(engine) as session:
        principal = add_account(session, name, role, password, must_change_password, actor=actor, org_id=org_id)
        session.commit()
        return principal


def add_account(
    session: Session,
    name: str,
    role: Role | str,
    password: str,
    must_change_password: bool,
    *,
    actor: str = "",
    org_id: int = DEFAULT_ORG,
) -> Principal:
    """Check and add a local account of organisation ``org_id`` in ``session``'s transaction; recorded as added by
    ``actor`` (the new user, for the first administrator)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InputError("利用者名を 1〜100 文字で入力してください。", "bad user name")
    try:
        role = Role(role)
    except ValueError:
        raise InputError(f"役割は {'・'.join(Role)} のいずれかです。", f"unknown role {role!r}") from None
    _check_password(password)
    if accounts.user_named(session, name=name) is not None:
        raise InputError(f"利用者「{name}」はすでに登録されています。", f"user {name} exists")
    user = User(
        name=name,
        role=role.value,
        password_hash=_hasher.hash(password),
        must_change_password=must_change_password,
        org_id=org_id,
    )
    accounts.add_user(session, user=user)
    audit.record(
        session,
        actor=actor or name,
        action="user_add",
        target_type="user",
        target_id=user.id,
        after={"name": name, "role": role.value},
    )
    return _principal(user)


def _revoke_all(session: Session, user_id: int, *, at: dt.datetime, except_token: str | None = None) -> None:
    except_sha256 = _token_hash(except_token) if except_token else None
    accounts.revoke_sessions(session, user_id=user_id, at=at, except_sha256=except_sha256)


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
