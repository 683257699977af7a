"""Organisations (団体): several assemblies in one installation.

Every meeting, person (名簿) and voice profile, dictionary term, correction rule, user, setting and audit event
belongs to one organisation (``org_id``; migration 0013). A user acts within their own (``Principal.org_id``): the
services check it and the store's queries filter by it, so no page needs to know. A fresh installation, and every
database from before, has one organisation, 「既定の団体」 (id 1), and works as before.

The installation administrator (``Role.INSTALLATION_ADMIN``, 全体管理者) creates organisations and their first
administrator (:meth:`OrganizationsService.add`; ``minutes orgs add NAME --admin USER``); each organisation's 管理者
then manages its own users, settings and data. The command line acts within one organisation
(:func:`resolve`: ``--org`` or ``MINUTES_ORG``, or the only one there is).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from minutes import store
from minutes.errors import InputError
from minutes.services.accounts import add_account
from minutes.services.base import Service
from minutes.services.permissions import Permission, Role, require
from minutes.store.tables import DEFAULT_ORG, Organization

__all__ = ["DEFAULT_ORG", "OrganizationView", "OrganizationsService", "resolve"]


@dataclass(frozen=True)
class OrganizationView:
    id: int
    name: str
    created_by: str
    created_at: dt.datetime
    meetings: int
    users: int


def resolve(session: Session, wanted: str | int | None) -> Organization:
    """The organisation named (or numbered) ``wanted``; with none given, the only one there is. A Japanese
    InputError naming the choices when it is unknown or when several exist and none was given."""
    rows = store.organizations(session)
    wanted = str(wanted).strip() if wanted is not None else ""
    names = "、".join(f"{row.name}（ID {row.id}）" for row in rows)
    if not wanted:
        if len(rows) == 1:
            return rows[0]
        raise InputError(
            f"団体が複数あります。--org または MINUTES_ORG で団体を指定してください（団体: {names}）。",
            "several organizations and none chosen",
        )
    for row in rows:
        if row.name == wanted or str(row.id) == wanted:
            return row
    raise InputError(f"団体「{wanted}」はありません（団体: {names}）。", f"unknown organization {wanted!r}")


def _name(value: str) -> str:
    name = " ".join((value or "").split())
    if not name or len(name) > 100:
        raise InputError("団体名を 1〜100 文字で入力してください。", "bad organization name")
    return name


class OrganizationsService(Service):
    """The installation administrator's 団体 section of 管理, and ``minutes orgs``."""

    def organizations(self) -> list[OrganizationView]:
        require(self.user, Permission.MANAGE_ORGS)
        with Session(self.engine) as session:
            counts = store.organization_counts(session)
            return [
                OrganizationView(row.id, row.name, row.created_by, row.created_at, *counts.get(row.id, (0, 0)))
                for row in store.organizations(session)
            ]

    def own_name(self) -> str:
        """The name of the user's organisation when the installation has several ("" when it has one: a single
        town's screens stay as they were)."""
        with Session(self.engine) as session:
            rows = store.organizations(session)
        return next((row.name for row in rows if row.id == self.user.org_id), "") if len(rows) > 1 else ""

    def add(self, name: str, *, admin: str, password: str) -> OrganizationView:
        """A new organisation with its first administrator (管理者 of it, who must change ``password`` at the first
        sign-in). Both or neither: a taken user name leaves no organisation behind."""
        require(self.user, Permission.MANAGE_ORGS)
        name = _name(name)
        with Session(self.engine) as session:
            if store.organization_named(session, name=name) is not None:
                raise InputError(f"団体「{name}」はすでにあります。", f"organization {name!r} exists")
            row = store.add_organization(session, name=name, created_by=self.actor)
            org_id = row.id
            add_account(session, admin, Role.ADMIN, password, True, actor=self.actor, org_id=org_id)
            store.audit.record(
                session, actor=self.actor, action="org_add", target_type="org", target_id=org_id, after={"name": name}
            )
            session.commit()
        return next(view for view in self.organizations() if view.id == org_id)
