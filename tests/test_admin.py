"""管理: settings changed in the app (stored, audited, pinned by the environment), models, and self-runtime passwords.

Real services on a temp SQLite database; no models are loaded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil

import pytest

from minutes.cli import main
from minutes.errors import AuthError, InputError, PermissionDenied
from minutes.services import Role, Runtime
from minutes.services.accounts import SignInService
from minutes.settings import ENVIRONMENT, Settings
from tests.seeding import seed_meeting
from tests.test_auth import PASSWORD, Clock


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    runtime = Runtime(Settings(data_dir=data, database_url=f"sqlite:///{data / 'minutes.db'}", device="cpu"))
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def admin(runtime):
    return runtime.operator("system").accounts.create_user("管理者", Role.ADMIN, PASSWORD, must_change_password=False)


def test_a_changed_setting_applies_to_every_process_and_is_audited(runtime, admin, tmp_path):
    settings = runtime.services(admin).admin
    assert settings.update({"lockout_attempts": 5, "max_material_mb": 200}) == []  # nothing changed
    changed = settings.update({"max_upload_mb": 1, "session_idle_minutes": 10, "language": "auto"})
    assert changed == ["録音の最大サイズ", "操作がないときに自動でログアウトするまで", "文字起こしの言語"]
    assert runtime.settings.max_upload_mb == 1 and runtime.settings.language == "auto"

    # another process (the CLI, a second app) on the same database sees the stored values
    other = Runtime(runtime.base_settings)
    assert other.settings.session_idle_minutes == 10
    assert other.operator("system").meetings.pipeline_options().transcription.language == "auto"
    with pytest.raises(InputError, match="1 MB"):  # the upload limit is in force
        _upload(other, 2 << 20)
    other.engine.dispose()

    views = {v.spec.field: v for v in settings.views()}
    assert views["max_upload_mb"].source == "管理画面" and views["max_upload_mb"].value == 1
    assert views["lockout_attempts"].source == "既定"
    entries = [e for e in runtime.operator("system").audit.events() if e.action == "setting_update"]
    assert {e.target_id for e in entries} == {"max_upload_mb", "session_idle_minutes", "language"}
    upload = next(e for e in entries if e.target_id == "max_upload_mb")
    assert (
        upload.before == {"max_upload_mb": 4096} and upload.after == {"max_upload_mb": 1} and upload.actor == "管理者"
    )

    settings.reset("max_upload_mb")
    assert runtime.settings.max_upload_mb == 4096
    assert [e.action for e in runtime.operator("system").audit.events()][-1] == "setting_reset"


def _upload(runtime, size: int):
    import io

    return runtime.operator("system").meetings.create(
        io.BytesIO(b"\0" * size), title="大きな録音", original_name="a.wav"
    )


def test_values_are_checked_and_the_environment_wins(runtime, admin, monkeypatch):
    settings = runtime.services(admin).admin
    with pytest.raises(InputError, match="3〜20 回"):
        settings.update({"lockout_attempts": 1})
    with pytest.raises(InputError, match="日本語・自動判定"):
        settings.update({"language": "en"})
    with pytest.raises(InputError, match="画面から変更できません"):
        settings.update({"database_url": "sqlite:///elsewhere.db"})
    with pytest.raises(InputError, match="数値"):
        settings.update({"lockout_minutes": "すぐ"})
    assert runtime.settings.lockout_attempts == 5  # nothing stored by the refused updates

    monkeypatch.setenv("MINUTES_LOCKOUT_ATTEMPTS", "7")
    pinned = Runtime(dataclasses.replace(runtime.base_settings, lockout_attempts=7))
    fixed = pinned.services(admin).admin
    view = next(v for v in fixed.views() if v.spec.field == "lockout_attempts")
    assert view.fixed and view.value == 7
    with pytest.raises(InputError, match="環境変数 MINUTES_LOCKOUT_ATTEMPTS"):
        fixed.update({"lockout_attempts": 4})
    pinned.engine.dispose()


def test_only_administrators_manage_settings(runtime, admin):
    clerk = runtime.services(admin).accounts.create_user("佐藤", Role.CLERK, PASSWORD)
    for call in (
        lambda s: s.views(),
        lambda s: s.update({"language": "auto"}),
        lambda s: s.reset("language"),
        lambda s: s.model_choices(),
        lambda s: s.check_models(),
    ):
        with pytest.raises(PermissionDenied, match="設定・モデル"):
            call(runtime.services(clerk).admin)
    assert runtime.settings.language == "ja"


def test_lockout_follows_the_changed_setting_at_once(runtime, admin):
    clock = Clock()
    auth = SignInService(runtime.engine, runtime.settings_for, clock=clock)
    runtime.services(admin).accounts.create_user("佐藤", Role.CLERK, PASSWORD)
    runtime.services(admin).admin.update({"lockout_attempts": 3, "lockout_minutes": 1})
    for _ in range(3):
        with pytest.raises(AuthError, match="違います"):
            auth.login("佐藤", "wrong password!")
    with pytest.raises(AuthError, match="ロック"):
        auth.login("佐藤", PASSWORD)
    clock.advance(minutes=2)
    auth.login("佐藤", PASSWORD)


def test_sign_in_follows_the_settings_of_the_users_own_organisation(runtime, admin):
    """An organisation's administrator changes lockout and session length on their 管理 page: their users get them,
    another organisation's users keep theirs (before, sign-in read the default organisation's settings for all)."""
    clock = Clock()
    auth = SignInService(runtime.engine, runtime.settings_for, clock=clock)
    east = runtime.operator("root").organizations.add("東町議会", admin="東管理", password=PASSWORD).id
    east_admin = runtime.services(runtime.sign_in.authenticate("東管理", PASSWORD))
    east_admin.accounts.create_user("東書記", Role.CLERK, PASSWORD)
    runtime.services(admin).accounts.create_user("西書記", Role.CLERK, PASSWORD)
    east_admin.admin.update({"lockout_attempts": 3, "lockout_minutes": 1, "session_idle_minutes": 5})
    assert runtime.settings_for(east).lockout_attempts == 3 and runtime.settings.lockout_attempts == 5
    for _ in range(3):
        for name in ("東書記", "西書記"):
            with pytest.raises(AuthError, match="違います"):
                auth.login(name, "wrong password!")
    with pytest.raises(AuthError, match="ロック"):
        auth.login("東書記", PASSWORD)
    west_token, _ = auth.login("西書記", PASSWORD)  # three failures are not five
    clock.advance(minutes=2)
    east_token, _ = auth.login("東書記", PASSWORD)
    clock.advance(minutes=6)  # past the east's 5 idle minutes, within the default 30
    assert auth.validate(east_token) is None and auth.validate(west_token) is not None


def test_materials_limit_and_archive_recording_come_from_the_stored_settings(runtime, admin):
    data = runtime.base_settings.data_dir
    meeting = seed_meeting(runtime.engine)
    runtime.services(admin).admin.update({"max_material_mb": 1, "archive_recording": True})
    with pytest.raises(InputError, match="上限 1 MB"):
        runtime.services(admin).materials.add(meeting, b"a" * (2 << 20), original_name="big.txt")
    (data / "recordings").mkdir(parents=True, exist_ok=True)
    (data / "recordings" / "sample.wav").write_bytes(b"RIFF....WAVE")
    runtime.services(admin).details.finalize(meeting, expected_version=1)
    archive = runtime.services(admin).archive.list(meeting)[0]
    assert (archive.path / "録音" / "会議.wav").is_file()


def test_a_whisper_model_folder_can_be_chosen(runtime, admin):
    settings = runtime.services(admin).admin
    folder = runtime.base_settings.models_dir / "whisper"
    good, broken = folder / "large-v3-ja", folder / "half-copied"
    good.mkdir(parents=True)
    broken.mkdir()
    for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"):
        (good / name).write_text("{}")
    (broken / "model.bin").write_text("")
    choices = {c.name: c for c in settings.model_choices()}
    assert choices[""].label.startswith("base") and not choices["large-v3-ja"].problem
    assert "tokenizer.json" in choices["half-copied"].problem
    with pytest.raises(InputError, match=r"tokenizer\.json"):
        settings.update({"whisper_model": "half-copied"})
    with pytest.raises(InputError, match="ありません"):
        settings.update({"whisper_model": "not-there"})
    with pytest.raises(InputError, match="フォルダ名"):
        settings.update({"whisper_model": "../../etc"})

    settings.update({"whisper_model": "large-v3-ja"})
    assert runtime.whisper_model_path() == good  # the next job uses it
    assert next(v for v in settings.views() if v.spec.field == "whisper_model").value == "large-v3-ja"
    shutil.rmtree(good)  # removed behind the app's back: the job fails with a clear message, not silently
    from minutes.errors import ModelError

    runtime._model_paths.clear()
    with pytest.raises(ModelError, match="見つかりません"):
        runtime.whisper_model_path()


def test_check_models_reports_the_diarization_weights(runtime, admin, monkeypatch):
    monkeypatch.setattr(
        "minutes.services.admin.describe_model",
        lambda models_dir, configured: (_ for _ in ()).throw(InputError("Whisper モデルがありません。", "none")),
    )
    report = runtime.services(admin).admin.check_models()
    assert report.whisper_problem == "Whisper モデルがありません。" and not report.ok
    assert len(report.diarization) == 2  # segmentation-3.0 and CAM++
    assert all(len(f[3]) == 64 and f[4] for f in report.diarization)  # real files, real hashes, matching


# ---------------------------------------------------------------- passwords


def test_initial_passwords_must_be_changed_and_change_ends_other_sessions(runtime, admin):
    auth = runtime.sign_in
    clerk = runtime.services(admin).accounts.create_user("佐藤", Role.CLERK, PASSWORD)
    assert clerk.must_change_password
    here, user = auth.login("佐藤", PASSWORD)
    elsewhere, _ = auth.login("佐藤", PASSWORD)
    assert user.must_change_password and len(runtime.services(user).accounts.sessions()) == 2

    with pytest.raises(AuthError, match="違います"):
        runtime.services(user).accounts.change_password("not my password", "a brand new secret", keep_token=here)
    with pytest.raises(InputError, match="今と違う"):
        runtime.services(user).accounts.change_password(PASSWORD, PASSWORD, keep_token=here)
    with pytest.raises(InputError, match="10 文字以上"):
        runtime.services(user).accounts.change_password(PASSWORD, "short", keep_token=here)
    runtime.services(user).accounts.change_password(PASSWORD, "a brand new secret", keep_token=here)

    assert auth.validate(here) is not None and not auth.validate(here).must_change_password
    assert auth.validate(elsewhere) is None  # the other computer is signed out
    with pytest.raises(AuthError):
        auth.login("佐藤", PASSWORD)
    auth.login("佐藤", "a brand new secret")
    actions = [e.action for e in runtime.operator("system").audit.events()]
    assert "password_change" in actions and actions.count("login_failed") == 2  # wrong current + old password

    runtime.services(admin).accounts.update_user(user.id, password="reset by the admin")  # a password the admin knows
    assert auth.login("佐藤", "reset by the admin")[1].must_change_password


def test_wrong_current_passwords_lock_the_account(runtime, admin):
    auth = runtime.sign_in
    runtime.services(admin).accounts.create_user("佐藤", Role.CLERK, PASSWORD)
    token, user = auth.login("佐藤", PASSWORD)
    for _ in range(5):
        with pytest.raises(AuthError):
            runtime.services(user).accounts.change_password("guessing.....", "a brand new secret", keep_token=token)
    with pytest.raises(AuthError, match="ロック"):
        auth.login("佐藤", PASSWORD)


def test_end_other_sessions(runtime, admin):
    auth = runtime.sign_in
    here, _ = auth.login("管理者", PASSWORD)
    there, _ = auth.login("管理者", PASSWORD)
    runtime.services(admin).accounts.end_other_sessions(here)
    assert auth.validate(here) is not None and auth.validate(there) is None
    started, _seen, _ip = runtime.services(admin).accounts.sessions()[0]
    assert started <= dt.datetime.now(dt.UTC)


def test_cli_password_reset_for_a_forgotten_admin_password(runtime, admin, monkeypatch, capsys):
    data = runtime.base_settings.data_dir
    monkeypatch.setenv("MINUTES_DATA_DIR", str(data))
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("a password from the console\n"))
    assert main(["user", "password", "管理者"]) == 0
    assert "再設定しました" in capsys.readouterr().err
    _, user = runtime.sign_in.login("管理者", "a password from the console")
    assert user.must_change_password
    event = [e for e in runtime.operator("system").audit.events() if e.action == "user_update"][-1]
    assert event.actor not in ("", "不明") and event.after["password"] is True
    assert json.dumps(event.after).find("a password from the console") == -1


def test_audit_days_are_counted_in_the_given_time_zone(runtime):
    from zoneinfo import ZoneInfo

    from sqlmodel import Session

    from minutes.store.tables import AuditEvent

    late = dt.datetime(2026, 4, 1, 23, 30, tzinfo=dt.UTC)  # 08:30 on 2 April in Japan
    with Session(runtime.engine) as session:
        session.add(AuditEvent(at=late, actor="佐藤", actor_kind="app", action="login"))
        session.commit()
    day = dt.date(2026, 4, 2)
    assert not runtime.operator("system").audit.events(date_from=day, date_to=day)
    tokyo = runtime.operator("system").audit.events(date_from=day, date_to=day, tz=ZoneInfo("Asia/Tokyo"))
    assert [e.at for e in tokyo] == [late]


def test_cli_user_add_bootstraps_an_administrator_and_gives_others_initial_passwords(tmp_path, monkeypatch, capsys):
    import io

    monkeypatch.setenv("MINUTES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr("sys.stdin", io.StringIO("the operator's password\n"))
    assert main(["user", "add", "管理者", "--role", "管理者"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("an initial password\n"))
    assert main(["user", "add", "佐藤", "--role", "書記"]) == 0
    assert "最初のログインで本人がパスワードを変更します" in capsys.readouterr().err
    runtime = Runtime()
    auth = runtime.sign_in
    assert not auth.login("管理者", "the operator's password")[1].must_change_password
    assert auth.login("佐藤", "an initial password")[1].must_change_password
    runtime.engine.dispose()
