"""Local accounts (``user``) and signed-in sessions (``usersession``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlmodel import Session, col, select

from minutes.store.tables import User, UserSession


def any_user(session: Session) -> bool:
    return session.exec(select(User.id).limit(1)).first() is not None


def users(session: Session, *, org_id: int) -> list[User]:
    """Organisation ``org_id``'s users."""
    return list(session.exec(select(User).where(User.org_id == org_id).order_by(col(User.id))))


def active_names(session: Session, *, org_id: int) -> dict[int, str]:
    """Id → name of every active user of organisation ``org_id``."""
    statement = select(User.id, User.name).where(col(User.active), User.org_id == org_id)
    rows = session.exec(statement.order_by(col(User.id)))
    return {user_id: name for user_id, name in rows}


def get_user(session: Session, *, user_id: int) -> User | None:
    return session.get(User, user_id)


def user_named(session: Session, *, name: str) -> User | None:
    return session.exec(select(User).where(User.name == name)).first()


def add_user(session: Session, *, user: User) -> User:
    session.add(user)
    session.flush()
    return user


def add_session(session: Session, *, row: UserSession) -> None:
    session.add(row)


def session_by_token(session: Session, *, token_sha256: str) -> UserSession | None:
    return session.exec(select(UserSession).where(UserSession.token_sha256 == token_sha256)).first()


def open_sessions(session: Session, *, user_id: int) -> list[UserSession]:
    """The user's sessions not revoked (expired ones included), newest first."""
    statement = (
        select(UserSession)
        .where(UserSession.user_id == user_id, col(UserSession.revoked_at).is_(None))
        .order_by(col(UserSession.created_at).desc())
    )
    return list(session.exec(statement))


def revoke_sessions(session: Session, *, user_id: int, at: dt.datetime, except_sha256: str | None = None) -> None:
    """End every open session of ``user_id`` (but the one whose token hash is ``except_sha256``)."""
    statement = update(UserSession).where(col(UserSession.user_id) == user_id, col(UserSession.revoked_at).is_(None))
    if except_sha256:
        statement = statement.where(col(UserSession.token_sha256) != except_sha256)
    session.exec(statement.values(revoked_at=at))
