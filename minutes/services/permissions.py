"""Roles, permissions and who may see which meeting: the rules every service checks.

Roles (役割) and what they may do:

==========  =====================================================================================
全体管理者  the installation's administrator: everything below, plus the organisations (団体) and their first
            administrators (a shared installation serving several assemblies)
管理者      everything below, plus users, settings and models, and the audit log
書記        create meetings (upload recordings), edit, upload materials, finalize/reopen, export,
            mark a meeting closed and choose who may see it, edit the assembly's 用語辞書
編集者      read drafts, edit transcripts and meeting details, upload materials; not finalize, not export
閲覧者      read finalized minutes only
==========  =====================================================================================

Closed meetings (非公開・秘密会, ``Meeting.closed``) are visible only to the users listed for them, administrators
included only when listed: a secret session's record is not the system administrator's business. They are hidden
from lists, search, exports and archive listings (the services check :func:`require` and :func:`hidden_meetings`).

Organisations (団体, ``Principal.org_id``): every user acts within their own organisation. A meeting of another one
is answered like a missing meeting (:func:`check`), and lists and search leave them out (:func:`hidden_meetings`,
and the queries filter by ``org_id``). The installation administrator too acts within their own organisation; what
they have beyond a 管理者 is creating organisations (``minutes.services.organizations``).

The operating-system user (:meth:`Principal.operator`: the CLI and the job worker, which run on the server itself,
where whoever can run them can read the database file anyway) may do everything. They are recorded in the audit
trail as ``cli`` or ``system`` with the operating-system user's name.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session

from minutes.errors import InputError, NotFoundError, PermissionDenied
from minutes.store import meetings
from minutes.store.tables import DEFAULT_ORG, Meeting


class Role(StrEnum):
    INSTALLATION_ADMIN = "全体管理者"
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
    MANAGE_ROSTER = "manage_roster"  # the assembly's roster (名簿): people and their titles; enrolling voices
    DELETE_VOICES = "delete_voices"  # voice profiles are personal data: only administrators delete them
    MANAGE_DICTIONARY = "manage_dictionary"  # the assembly's 用語辞書 (reading it needs READ only)
    ISSUE_DISPLAY_LINK = "issue_display_link"  # 字幕表示 links (captions without an account): administrators only
    MANAGE_ORGS = "manage_orgs"  # organisations (団体) and their first administrators: the installation's only


_CLERK = {
    Permission.READ,
    Permission.READ_DRAFT,
    Permission.CREATE_MEETING,
    Permission.EDIT,
    Permission.UPLOAD_MATERIAL,
    Permission.FINALIZE,
    Permission.EXPORT,
    Permission.MANAGE_ACCESS,
    Permission.MANAGE_ROSTER,
    Permission.MANAGE_DICTIONARY,
}
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.INSTALLATION_ADMIN: frozenset(Permission),
    Role.ADMIN: frozenset(Permission) - {Permission.MANAGE_ORGS},
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
    Permission.MANAGE_ROSTER: "名簿の管理・声の登録",
    Permission.DELETE_VOICES: "声の登録の削除",
    Permission.MANAGE_DICTIONARY: "用語辞書の編集",
    Permission.ISSUE_DISPLAY_LINK: "字幕表示リンクの発行",
    Permission.MANAGE_ORGS: "団体の管理",
}


def who_can(permission: Permission) -> str:
    """The roles that have ``permission``, for messages: 「編集者・書記・管理者」 (narrowest role first; the
    全体管理者 is named only for what no 管理者 may do)."""
    roles = [role for role in reversed(Role) if permission in PERMISSIONS[role]]
    if len(roles) > 1:
        roles.remove(Role.INSTALLATION_ADMIN)
    return "・".join(role.value for role in roles)


OPERATOR_ID = 0  # the operating-system user has no account row


@dataclass(frozen=True)
class Principal:
    """Who is acting, as the services see it (never a live ORM row): a signed-in user, or the operating-system user
    running the CLI or the worker on the server (:meth:`operator`)."""

    id: int
    name: str
    role: Role
    auth_provider: str = "local"
    must_change_password: bool = False  # an initial or reset password: the app asks for a new one first
    local: bool = False  # the operating-system user: every permission, every meeting of its organisation
    org_id: int = DEFAULT_ORG  # the organisation (団体) the user belongs to and acts within

    @classmethod
    def operator(cls, name: str, org_id: int = DEFAULT_ORG) -> Principal:
        """The operating-system user (CLI, worker) acting within organisation ``org_id``: may do everything there;
        recorded under ``name`` (never blank: every change is recorded under somebody's name)."""
        name = (name or "").strip()[:100]
        if not name:
            raise InputError("編集者名（変更を記録する名前）が空です。名前を指定してください。", "empty operator name")
        return cls(OPERATOR_ID, name, Role.INSTALLATION_ADMIN, "os", local=True, org_id=org_id)

    def can(self, permission: Permission) -> bool:
        return self.local or permission in PERMISSIONS[self.role]


def can_see(user: Principal, meeting: Meeting, members: Collection[int] = ()) -> bool:
    """Whether ``user`` may see ``meeting`` at all (closed meetings: listed members only)."""
    if user.local:
        return True
    if meeting.closed and user.id not in members:
        return False
    return meeting.finalized_at is not None or user.can(Permission.READ_DRAFT)


def require(
    user: Principal, permission: Permission, meeting: Meeting | None = None, members: Collection[int] = ()
) -> None:
    """Raise PermissionDenied unless ``user`` may do ``permission`` (on ``meeting``, whose closed-list is
    ``members``). The operating-system user (CLI, worker) may."""
    if user.local:
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


def check(session: Session, user: Principal, permission: Permission, meeting_id: int) -> Meeting:
    """Load the meeting and :func:`require` ``permission`` on it; returns the meeting. Another organisation's meeting
    is not there for ``user`` (the same error as a missing one)."""
    meeting = meetings.get_meeting(session, meeting_id=meeting_id)
    if meeting.org_id != user.org_id:
        raise NotFoundError(
            f"会議（ID {meeting_id}）が見つかりません。", f"meeting {meeting_id} of org {meeting.org_id}"
        )
    if not user.local:
        require(
            user, permission, meeting, meetings.members_of(session, meeting_id=meeting_id) if meeting.closed else ()
        )
    return meeting


def hidden_meetings(session: Session, user: Principal) -> set[int]:
    """Ids of the meetings of ``user``'s organisation that they may not see (for lists and search, which also filter
    by the organisation)."""
    if user.local:
        return set()
    mine = meetings.meetings_of_member(session, user_id=user.id)
    return {
        meeting_id
        for meeting_id, closed, finalized_at in meetings.visibility(session, org_id=user.org_id)
        if (closed and meeting_id not in mine) or (finalized_at is None and not user.can(Permission.READ_DRAFT))
    }
