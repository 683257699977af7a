"""Accounts, roles, closed meetings, the audit trail and hardening, on real services and a temp SQLite database."""

from __future__ import annotations

import datetime as dt
import io
import logging
import tomllib
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy
from sqlmodel import Session, select

from minutes.errors import AuthError, InputError, PermissionDenied
from minutes.services import Permission, Principal, Role, Runtime, Services, audit
from minutes.services.accounts import SignInService
from minutes.services.documents import safe_filename
from minutes.services.permissions import require
from minutes.services.search import SearchQuery
from minutes.settings import Settings
from minutes.store.tables import UserSession
from tests.conftest import ROOT
from tests.media import write_wav
from tests.seeding import seed_meeting

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def env(tmp_path):
    """A migrated data folder with a draft and a finalized meeting; the services, unbound (the local OS user)."""
    data = tmp_path / "data"
    settings = Settings(data_dir=data, database_url=f"sqlite:///{data / 'minutes.db'}", device="cpu")
    runtime = Runtime(settings)
    engine = runtime.engine
    draft = seed_meeting(engine, title="総務常任委員会")
    final = seed_meeting(engine, title="本会議 第１日")
    runtime.operator("課長").materials.add(final, "資料 補正予算".encode(), original_name="資料.txt")
    runtime.operator("課長").details.finalize(final, expected_version=1)
    yield runtime, draft, final
    engine.dispose()


def _local(runtime: Runtime) -> Services:
    """The services for the local operating-system user (the CLI)."""
    return runtime.operator("system")


def _user(runtime, role: Role, name: str | None = None) -> Principal:
    return _local(runtime).accounts.create_user(name or f"user-{role.value}", role, PASSWORD)


def _wav(folder: Path) -> Path:
    t = np.arange(16_000 * 2) / 16_000
    return write_wav(folder / "会議.wav", 0.3 * np.sin(2 * np.pi * 220 * t))


# ---------------------------------------------------------------- the permission matrix


def _actions():
    """action name -> (roles allowed, call(runtime, user, draft, final))."""

    def editing(runtime, user):
        return runtime.services(user)

    def first_line(runtime, user, meeting):
        return _local(runtime).transcript.page(meeting).lines[0]

    def speaker(runtime, meeting):
        return _local(runtime).speakers.speakers(meeting)[0]

    return {
        "read_finalized": (set(Role), lambda s, u, d, f: editing(s, u).details.meeting(f)),
        "read_draft": ({Role.ADMIN, Role.CLERK, Role.EDITOR}, lambda s, u, d, f: editing(s, u).transcript.page(d)),
        "create_meeting": (
            {Role.ADMIN, Role.CLERK},
            lambda s, u, d, f: s.services(u).meetings.create(_wav(s.settings.data_dir.parent), title="臨時会"),
        ),
        "edit_text": (
            {Role.ADMIN, Role.CLERK, Role.EDITOR},
            lambda s, u, d, f: editing(s, u).transcript.edit_text(
                first_line(s, u, d).id, text="修正しました。", expected_version=1
            ),
        ),
        "rename_speaker": (
            {Role.ADMIN, Role.CLERK, Role.EDITOR},
            lambda s, u, d, f: editing(s, u).speakers.update_speaker(speaker(s, d).id, name="山田太郎"),
        ),
        "upload_material": (
            {Role.ADMIN, Role.CLERK, Role.EDITOR},
            lambda s, u, d, f: s.services(u).materials.add(d, "議案の説明".encode(), original_name="説明.txt"),
        ),
        "finalize": (
            {Role.ADMIN, Role.CLERK},
            lambda s, u, d, f: editing(s, u).details.finalize(d, expected_version=1),
        ),
        "reopen": (
            {Role.ADMIN, Role.CLERK},
            lambda s, u, d, f: editing(s, u).details.reopen(
                f, reason="訂正", expected_version=_local(s).details.meeting(f).edit_version
            ),
        ),
        "export": (
            {Role.ADMIN, Role.CLERK},
            lambda s, u, d, f: s.services(u).exports.export(f, "txt"),
        ),
        "manage_access": (
            {Role.ADMIN, Role.CLERK},
            lambda s, u, d, f: editing(s, u).details.set_access(d, closed=True, members=[]),
        ),
        "manage_users": ({Role.ADMIN}, lambda s, u, d, f: s.services(u).accounts.users()),
        "view_audit": ({Role.ADMIN}, lambda s, u, d, f: s.services(u).audit.events()),
        "archive_listing": (set(Role), lambda s, u, d, f: s.services(u).archive.list(f)),
        "archive_verify": (
            set(Role),
            lambda s, u, d, f: s.services(u).archive.verify(_local(s).archive.list(f)[0].path),
        ),
        "archive_zip": (
            {Role.ADMIN, Role.CLERK},
            lambda s, u, d, f: s.services(u).archive.zip_bytes(_local(s).archive.list(f)[0].path),
        ),
        "manage_settings": ({Role.ADMIN}, lambda s, u, d, f: s.services(u).admin.views()),
        "search_drafts": (
            {Role.ADMIN, Role.CLERK, Role.EDITOR},
            lambda s, u, d, f: s.services(u).search.search(SearchQuery("補正予算", meeting_id=d)),
        ),
    }


# the installation administrator may do in their own organisation whatever its 管理者 may
ACTIONS = {
    name: (allowed | ({Role.INSTALLATION_ADMIN} if Role.ADMIN in allowed else set()), call)
    for name, (allowed, call) in _actions().items()
}


@pytest.mark.parametrize("role", list(Role), ids=[r.name for r in Role])
@pytest.mark.parametrize("action", list(ACTIONS))
def test_permission_matrix(env, role, action):
    runtime, draft, final = env
    allowed, call = ACTIONS[action]
    user = _user(runtime, role)
    if role in allowed:
        call(runtime, user, draft, final)
    else:
        with pytest.raises(PermissionDenied):
            call(runtime, user, draft, final)


def test_viewer_lists_only_finalized_meetings(env):
    runtime, draft, final = env
    viewer = _user(runtime, Role.VIEWER)
    assert [m.id for m in runtime.services(viewer).meetings.meetings()] == [final]
    assert {m.id for m in runtime.services(_user(runtime, Role.EDITOR)).meetings.meetings()} == {draft, final}
    hits = runtime.services(viewer).search.search(SearchQuery("補正予算")).utterances
    assert hits and {h.meeting_id for h in hits} == {final}


def test_who_can_follows_the_permission_table(monkeypatch):
    from minutes.services.permissions import PERMISSIONS, who_can

    assert who_can(Permission.FINALIZE) == "書記・管理者"
    assert who_can(Permission.EDIT) == "編集者・書記・管理者"
    assert who_can(Permission.READ) == "閲覧者・編集者・書記・管理者"
    monkeypatch.setitem(PERMISSIONS, Role.EDITOR, PERMISSIONS[Role.EDITOR] | {Permission.EXPORT})
    assert who_can(Permission.EXPORT) == "編集者・書記・管理者"  # the messages follow a change of the table


def test_require_without_user_is_the_local_operator():
    require(
        Principal.operator("cli"), Permission.MANAGE_USERS
    )  # the CLI: whoever runs it on the server already has the database file


# ---------------------------------------------------------------- closed meetings


def test_closed_meeting_is_invisible_to_everyone_not_listed(env):
    runtime, _draft, final = env
    clerk = _user(runtime, Role.CLERK, "書記A")
    other = _user(runtime, Role.CLERK, "書記B")
    admin = _user(runtime, Role.ADMIN, "管理者C")
    member = _user(runtime, Role.VIEWER, "委員D")
    runtime.services(clerk).details.set_access(final, closed=True, members=[member.id])

    for outsider in (other, admin):
        editing = runtime.services(outsider)
        assert final not in [m.id for m in editing.meetings.meetings()]
        results = runtime.services(outsider).search.search(SearchQuery("補正予算"))
        assert final not in {h.meeting_id for h in results.utterances}
        assert final not in {h.meeting_id for h in results.materials}
        with pytest.raises(PermissionDenied):
            editing.details.meeting(final)
        with pytest.raises(PermissionDenied):
            runtime.services(outsider).exports.export(final, "docx")
        with pytest.raises(PermissionDenied):
            runtime.services(outsider).archive.list(final)
        archive_path = _local(runtime).archive.list(final)[0].path
        with pytest.raises(PermissionDenied):
            runtime.services(outsider).archive.zip_bytes(archive_path)
        with pytest.raises(PermissionDenied):
            runtime.services(outsider).archive.verify(archive_path)
        with pytest.raises(PermissionDenied):
            runtime.services(outsider).materials.list(final)
        with pytest.raises(PermissionDenied):
            runtime.services(outsider).search.search(SearchQuery("補正予算", meeting_id=final))

    for insider in (clerk, member):
        assert final in [m.id for m in runtime.services(insider).meetings.meetings()]
        results = runtime.services(insider).search.search(SearchQuery("補正予算"))
        assert final in {h.meeting_id for h in results.utterances}
        assert final in {h.meeting_id for h in results.materials}
        assert runtime.services(insider).archive.list(final)
    assert runtime.services(clerk).exports.export(final, "txt").data
    # and opened again: visible to everyone allowed by role
    runtime.services(clerk).details.set_access(final, closed=False, members=[])
    assert final in [m.id for m in runtime.services(other).meetings.meetings()]


# ---------------------------------------------------------------- sign-in, lockout, sessions


def test_lockout_after_repeated_failures(env):
    runtime, _, _ = env
    clock = Clock()
    settings = Settings(lockout_attempts=5, lockout_minutes=15)
    auth = SignInService(runtime.engine, settings, clock=clock)
    Services.for_user(runtime.engine, settings, Principal.operator("system"), clock=clock).accounts.create_user(
        "佐藤", Role.CLERK, PASSWORD
    )
    for _ in range(4):
        with pytest.raises(AuthError):
            auth.login("佐藤", "wrong password!")
    auth.login("佐藤", PASSWORD)  # a success resets the count
    for _ in range(5):
        with pytest.raises(AuthError):
            auth.login("佐藤", "wrong password!")
    with pytest.raises(AuthError, match="ロック"):
        auth.login("佐藤", PASSWORD)  # locked: even the right password
    clock.advance(minutes=14)
    with pytest.raises(AuthError, match="ロック"):
        auth.login("佐藤", PASSWORD)
    clock.advance(minutes=2)
    token, user = auth.login("佐藤", PASSWORD)
    assert auth.validate(token) == user
    with pytest.raises(AuthError):
        auth.login("だれか", PASSWORD)  # unknown names fail the same way
    actions = [e.action for e in _local(runtime).audit.events()]
    assert actions.count("login_failed") == 4 + 5 + 2 + 1
    assert actions.count("login") == 2


def test_session_idle_and_absolute_expiry_and_logout(env):
    runtime, _, _ = env
    clock = Clock()
    settings = Settings(session_idle_minutes=30, session_max_hours=12)
    auth = SignInService(runtime.engine, settings, clock=clock)
    accounts = Services.for_user(runtime.engine, settings, Principal.operator("system"), clock=clock).accounts
    accounts.create_user("佐藤", Role.CLERK, PASSWORD)

    token, user = auth.login("佐藤", PASSWORD)
    clock.advance(minutes=29)
    assert auth.validate(token) == user
    clock.advance(minutes=31)
    assert auth.validate(token) is None  # idle too long
    assert auth.validate(token) is None  # and revoked for good

    token, user = auth.login("佐藤", PASSWORD)
    for _ in range(35):  # active every 20 minutes: 11 h 40 min
        clock.advance(minutes=20)
        assert auth.validate(token) == user
    clock.advance(minutes=20)
    assert auth.validate(token) is None  # 12 hours after sign-in, whatever the activity

    token, _ = auth.login("佐藤", PASSWORD)
    auth.logout(token)
    assert auth.validate(token) is None
    assert auth.validate("forged") is None and auth.validate(None) is None

    token, user = auth.login("佐藤", PASSWORD)
    admin = accounts.create_user("管理者", Role.ADMIN, PASSWORD)
    Services.for_user(runtime.engine, settings, admin, clock=clock).accounts.update_user(user.id, active=False)
    assert auth.validate(token) is None  # disabling a user ends their sessions


def test_a_session_is_marked_active_at_most_once_a_minute(env):
    """Every page run validates the token; only one a minute writes (the database has one writer at a time)."""
    runtime, _, _ = env
    clock = Clock()
    settings = Settings(session_idle_minutes=30, session_max_hours=12)
    auth = SignInService(runtime.engine, settings, clock=clock)
    accounts = Services.for_user(runtime.engine, settings, Principal.operator("system"), clock=clock).accounts
    accounts.create_user("佐藤", Role.CLERK, PASSWORD)
    token, user = auth.login("佐藤", PASSWORD)

    def last_seen():
        with Session(runtime.engine) as session:
            return session.exec(select(UserSession.last_seen_at)).one()

    signed_in = last_seen()
    clock.advance(seconds=30)
    assert auth.validate(token) == user and last_seen() == signed_in  # read only
    clock.advance(seconds=31)
    assert auth.validate(token) == user and last_seen() > signed_in  # a minute on: marked
    clock.advance(minutes=29, seconds=30)
    assert auth.validate(token) == user  # 29.5 minutes after the mark, still live


def test_passwords_are_argon2_hashed_and_first_admin_only_once(env):
    runtime, _, _ = env
    auth = runtime.sign_in
    assert not auth.has_users()
    admin = auth.create_first_admin("管理者", PASSWORD)
    assert admin.role == Role.ADMIN
    with pytest.raises(PermissionDenied):
        auth.create_first_admin("もう一人", PASSWORD)
    with pytest.raises(InputError):
        runtime.services(admin).accounts.create_user("短い", Role.CLERK, "short")
    with runtime.engine.connect() as connection:
        stored = connection.execute(sqlalchemy.text("select password_hash from user")).scalar()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


# ---------------------------------------------------------------- the audit trail


def test_every_action_is_audited_and_the_trail_is_append_only(env, tmp_path):
    runtime, draft, final = env
    auth = runtime.sign_in
    clerk = _local(runtime).accounts.create_user("佐藤", Role.CLERK, PASSWORD)
    with pytest.raises(AuthError):
        auth.login("佐藤", "wrong password!")
    auth.login("佐藤", PASSWORD)
    with audit.acting_as(audit.APP, "192.0.2.7"):
        runtime.services(clerk).meetings.create(_wav(tmp_path), title="臨時会")
        editing = runtime.services(clerk)
        line = editing.transcript.page(draft).lines[0]
        editing.transcript.edit_text(line.id, text="開会します。", expected_version=line.version)
        editing.speakers.update_speaker(editing.speakers.speakers(draft)[0].id, name="山田太郎")
        runtime.services(clerk).materials.add(draft, "説明".encode(), original_name="説明.txt")
        editing.details.finalize(draft, expected_version=editing.details.meeting(draft).edit_version)
        editing.details.reopen(draft, reason="訂正", expected_version=editing.details.meeting(draft).edit_version)
        runtime.services(clerk).exports.export(final, "docx")

    entries = _local(runtime).audit.events()
    actions = {e.action for e in entries}
    expected = {"user_add", "login_failed", "login", "create", "upload", "utterance_edit", "speaker_details"}
    assert expected | {"material_add", "finalize", "archive", "reopen", "export"} <= actions
    edit = next(e for e in entries if e.action == "utterance_edit")
    assert (edit.actor, edit.actor_kind, edit.ip) == ("佐藤", "app", "192.0.2.7")
    assert edit.before["text"] == "ただいまから本日の会議を開きます。" and edit.after["text"] == "開会します。"

    with runtime.engine.begin() as connection, pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"):
        connection.execute(sqlalchemy.text("update auditevent set actor = 'x'"))
    with runtime.engine.begin() as connection, pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"):
        connection.execute(sqlalchemy.text("delete from auditevent"))
    assert len(_local(runtime).audit.events()) == len(entries)

    data = audit.to_csv(entries).decode("utf-8-sig")
    assert data.splitlines()[0].startswith("id,at,actor,actor_kind,action") and "開会します。" in data


def test_cli_user_add_and_audit_export(env, tmp_path, monkeypatch, capsys):
    from minutes import cli

    runtime, _, _ = env
    monkeypatch.setenv("MINUTES_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.delenv("MINUTES_DATABASE_URL", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    monkeypatch.setattr("getpass.getuser", lambda: "operator")
    assert cli.main(["user", "add", "鈴木", "--role", "管理者"]) == 0
    assert runtime.sign_in.authenticate("鈴木", PASSWORD).role == Role.ADMIN
    target = tmp_path / "audit.csv"
    assert cli.main(["audit", "export", "--from", "2000-01-01", "-o", str(target)]) == 0
    text = target.read_text(encoding="utf-8-sig")
    assert "user_add" in text and "operator,cli" in text


# ---------------------------------------------------------------- hardening


def test_streamlit_server_settings_are_safe():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["browser"]["gatherUsageStats"] is False
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["enableCORS"] is True
    assert config["client"]["showErrorDetails"] == "none"


def test_user_supplied_names_never_become_paths(env, tmp_path):
    runtime, draft, _final = env
    data = runtime.settings.data_dir
    hostile = "../../../../tmp/evil/../会議.wav"
    meeting_id, _ = _local(runtime).meetings.create(_wav(tmp_path), title="../../etc/passwd", original_name=hostile)
    material = runtime.operator("x").materials.add(draft, b"memo", original_name="../../../../tmp/evil.txt")
    with Session(runtime.engine) as session:
        from minutes import store

        recording = store.recording_of(session, meeting_id=meeting_id)
    for stored in (recording.stored_path, str(material.path.relative_to(data))):
        assert ".." not in stored and "evil" not in stored and "passwd" not in stored
        assert (data / stored).resolve().is_relative_to(data.resolve())
    assert not Path("/tmp/evil").exists() and not Path("/tmp/evil.txt").exists()
    exported = runtime.operator("x").exports.export(meeting_id, "txt")
    assert "/" not in exported.filename and "\\" not in exported.filename and ".." not in safe_filename("../..")


def test_recordings_respect_the_upload_limit(tmp_path):
    data = tmp_path / "data"
    settings = Settings(data_dir=data, database_url=f"sqlite:///{data / 'minutes.db'}", device="cpu", max_upload_mb=0)
    runtime = Runtime(settings)
    try:
        with pytest.raises(InputError):
            _local(runtime).meetings.create(io.BytesIO(_wav(tmp_path).read_bytes()), title="大きすぎる")
        assert not list((data / "recordings").rglob("*.wav")) if (data / "recordings").exists() else True
    finally:
        runtime.engine.dispose()


def test_no_transcript_text_or_password_in_logs(env, tmp_path, monkeypatch, caplog):
    from minutes.services.worker import Worker
    from tests.test_ui_pages import fake_pipeline

    runtime, _, _ = env
    monkeypatch.setattr("minutes.services.worker.run_pipeline", fake_pipeline)
    monkeypatch.setattr(Runtime, "whisper_model_path", lambda self, override=None, settings=None: tmp_path)
    caplog.set_level(logging.DEBUG)
    secret_password = "Very-Secret-Passw0rd"
    auth = runtime.sign_in
    clerk = _local(runtime).accounts.create_user("佐藤", Role.CLERK, secret_password)
    with pytest.raises(AuthError):
        auth.login("佐藤", secret_password + "x")
    auth.login("佐藤", secret_password)
    meeting_id, job_id = runtime.services(clerk).meetings.create(_wav(tmp_path), title="臨時会")
    assert Worker(runtime).run_job(job_id) == "succeeded"
    editing = runtime.services(clerk)
    line = editing.transcript.page(meeting_id).lines[0]
    editing.transcript.edit_text(line.id, text="秘密の修正文です。", expected_version=line.version)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)  # the worst case: every statement logged
    try:
        line = editing.transcript.page(meeting_id).lines[1]
        editing.transcript.edit_text(line.id, text="二つ目の秘密の修正文です。", expected_version=line.version)
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "UPDATE utterance" in logged  # the statements were logged, their parameters not
    for secret in ("ただいまから", "質問します", "秘密の修正文", secret_password):
        assert secret not in logged


def test_redaction_masks_secrets():
    from minutes.redact import redact

    assert redact("login password=hunter2hunter2 ok") == "login password=*** ok"
    assert "abc" not in redact("token: abc") and "$argon2…" in redact("hash $argon2id$v=19$m=65536$xyz")
