"""The 管理 and アカウント pages and the forced password change, with AppTest on the real services and database."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from minutes import store
from minutes.services import Role, Services
from minutes.services.accounts import SignInService
from minutes.store.tables import User
from tests import test_ui_pages
from tests.test_ui_pages import APP, TIMEOUT, _app, _as, _engine

app_env = test_ui_pages.app_env  # the fixture: fresh data folder, cached services, fake pipeline


def _labels(at: AppTest) -> set[str]:
    widgets = [*at.button, *at.number_input, *at.selectbox, *at.toggle, *at.text_input]
    return {w.label for w in widgets}


def test_admin_page_saves_a_setting_and_shows_the_models(app_env):
    at = _app("ui/pages/admin.py")
    assert at.title[0].value == "管理（設定・モデル）"
    attempts = next(n for n in at.number_input if n.label.startswith("ロックまでのログイン失敗回数"))
    assert attempts.value == 5 and not attempts.disabled
    attempts.set_value(4)
    next(b for b in at.button if b.label == "設定を保存").click()
    at.run()
    assert not at.exception
    assert any("ロックまでのログイン失敗回数" in s.value for s in at.success)
    engine = _engine(app_env)
    try:
        event = [e for e in _as(engine, app_env).audit.events() if e.action == "setting_update"][-1]
    finally:
        engine.dispose()
    assert (event.target_id, event.before, event.after) == ("lockout_attempts", {"lockout_attempts": 5}, {
        "lockout_attempts": 4
    })  # fmt: skip
    assert "「ロックまでのログイン失敗回数」を既定値に戻す" in _labels(at)
    models = at.dataframe[0].value
    first = models.iloc[0]
    assert first["状態"] == "使用中" and first["文字起こしモデル"].startswith("base")
    assert "モデルを検査" in _labels(at)


def test_a_setting_pinned_by_the_environment_is_shown_fixed(app_env, monkeypatch):
    monkeypatch.setenv("MINUTES_LANGUAGE", "auto")
    at = _app("ui/pages/admin.py")
    language = next(s for s in at.selectbox if s.label.startswith("文字起こしの言語"))
    assert language.disabled and language.value == "auto" and "環境変数で固定" in language.label


def test_admin_page_is_for_administrators_only(app_env):
    at = _app(user="佐藤", role="書記")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("ui/pages/admin.py")  # not in a clerk's navigation at all (the service refuses anyway)
    at.switch_page("ui/pages/account.py")  # everyone has their own account page
    at.run()
    assert at.title[0].value == "アカウント"


def test_a_user_with_an_initial_password_must_change_it_first(app_env):
    at = _app(user="管理者", role="管理者")  # creates the database and the administrator
    data = Path(os.environ["MINUTES_DATA_DIR"])
    engine = _engine(data)
    try:
        auth = SignInService(engine)
        with Session(engine) as session:
            admin = session.exec(select(User).where(User.name == "管理者")).one()
        Services.for_user(
            engine, _settings(data), auth.authenticate(admin.name, "correct horse battery")
        ).accounts.create_user("鈴木", Role.EDITOR, "initial password")
        token, _ = auth.login("鈴木", "initial password")
    finally:
        engine.dispose()

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["auth_token"] = token
    at.query_params["meeting"] = "1"
    at.run()
    assert not at.exception
    assert at.title[0].value == "アカウント"  # whatever page was asked for
    assert any("初期パスワード" in w.value for w in at.warning)
    at.text_input(key="current_password").input("initial password")
    at.text_input(key="new_password").input("my own secret phrase")
    at.text_input(key="new_password_again").input("my own secret phrase")
    next(b for b in at.button if b.label == "パスワードを変更").click()
    at.run()
    assert not at.exception
    assert any("変更しました" in s.value for s in at.success)
    at.switch_page("ui/pages/meetings.py")
    at.run()
    assert at.title[0].value != "アカウント"  # the app opens up


def test_account_page_refuses_a_wrong_current_password(app_env):
    at = _app("ui/pages/account.py", user="佐藤", role="閲覧者")
    at.text_input(key="current_password").input("not the password")
    at.text_input(key="new_password").input("my own secret phrase")
    at.text_input(key="new_password_again").input("my own secret phrase")
    next(b for b in at.button if b.label == "パスワードを変更").click()
    at.run()
    assert any("違います" in e.value for e in at.error)
    assert len(at.dataframe[0].value) == 1  # this session


def test_users_page_adds_a_user_and_resets_a_forgotten_password(app_env):
    at = _app("ui/pages/users.py")
    at.text_input(key="new_user_name").input("鈴木")
    at.selectbox(key="new_user_role").set_value("編集者")
    at.text_input(key="new_user_password").input("initial password")
    next(b for b in at.button if b.label == "追加する").click()
    at.run()
    assert not at.exception
    assert any("鈴木" in s.value for s in at.success)
    at.run()
    users = at.dataframe[0].value.set_index("利用者名")
    assert users.loc["鈴木", "役割"] == "編集者" and users.loc["鈴木", "パスワード"] == "初期（未変更）"
    assert users.loc["佐藤", "パスワード"] == "本人が設定"

    at.selectbox(key="edit_user").set_value(int(users.loc["鈴木", "ID"]))
    at.run()
    at.text_input(key="reset_password").input("short")
    next(b for b in at.button if b.label == "パスワードを再設定").click()
    at.run()
    assert any("10 文字以上" in e.value for e in at.error)
    at.text_input(key="reset_password").input("another initial one")
    next(b for b in at.button if b.label == "パスワードを再設定").click()
    at.run()
    assert any("再設定しました" in s.value for s in at.success)
    engine = _engine(app_env)
    try:
        auth = SignInService(engine)
        assert auth.login("鈴木", "another initial one")[1].must_change_password
        actions = [e.action for e in _as(engine, app_env).audit.events()]
    finally:
        engine.dispose()
    assert actions.count("user_add") == 2 and "user_update" in actions


def test_audit_page_lists_events_and_offers_csv(app_env):
    at = _app("ui/pages/audit.py")
    rows = at.dataframe[0].value
    assert {"ログイン", "利用者の追加"} <= set(rows["操作"]) and "佐藤" in set(rows["操作者"])
    at.selectbox(key="audit_action").set_value("user_add")
    at.run()
    assert set(at.dataframe[0].value["操作"]) == {"利用者の追加"}
    assert at.get("download_button")


def test_new_meeting_and_materials_pages_state_the_limits_in_force(app_env):
    from minutes.services import Principal
    from tests.seeding import seed_meeting

    at = _app()
    engine = _engine(app_env)
    try:
        admin = Principal(1, "佐藤", Role.ADMIN)
        Services.for_user(engine, _settings(app_env), admin, fixed=frozenset()).admin.update(
            {"max_upload_mb": 100, "max_duration_hours": 3.5, "max_material_mb": 20}
        )
        meeting = seed_meeting(engine)
    finally:
        engine.dispose()
    at.switch_page("ui/pages/new_meeting.py")
    at.run()
    assert "最大 100 MB、3.5 時間まで" in at.get("file_uploader")[0].proto.help
    at.query_params["meeting"] = str(meeting)
    at.switch_page("ui/pages/materials.py")
    at.run()
    assert "1 ファイル 20 MB まで" in at.get("file_uploader")[0].proto.label


def _settings(data: Path):
    from minutes.settings import Settings

    return Settings(data_dir=data, database_url=f"sqlite:///{data / 'minutes.db'}")


def test_admin_page_shows_the_workers_health(app_env):
    at = _app("ui/pages/admin.py")  # the database made and migrated
    engine = _engine(app_env)
    try:
        with Session(engine) as session:
            store.beat_worker(
                session, name="gpu1:4242:abcd", host="gpu1", pid=4242, mode="celery", queues="gpu,cpu", concurrency=2
            )
            session.commit()
    finally:
        engine.dispose()
    at.run()
    assert not at.exception
    assert "ワーカーの状態" in [h.value for h in at.subheader]
    rows = next(frame.value for frame in at.dataframe if "ホスト" in frame.value.columns)
    row = rows[rows["ホスト"] == "gpu1"].iloc[0]
    assert (row["状態"], row["キュー"], row["同時処理数"], row["方式"]) == ("稼働中", "gpu、cpu", 2, "ジョブキュー")


def test_the_organisations_section_is_the_installation_administrators_only(app_env):
    at = _app("ui/pages/admin.py")  # an organisation's 管理者: no 団体 section
    assert "団体（共同利用）" not in [h.value for h in at.subheader]
    at = _app("ui/pages/admin.py", user="全体", role=Role.INSTALLATION_ADMIN.value)
    assert "団体（共同利用）" in [h.value for h in at.subheader]
    form = {t.label: t for t in at.text_input}
    form["団体名"].set_value("東町議会")
    form["最初の管理者の利用者名"].set_value("東管理")
    form["初期パスワード（10 文字以上）"].set_value("correct horse battery")
    next(b for b in at.button if b.label == "団体を追加する").click()
    at.run()
    assert not at.exception and any("東町議会" in s.value for s in at.success)
    assert at.dataframe[-1].value["団体名"].tolist() == ["既定の団体", "東町議会"]
    engine = _engine(app_env)
    try:
        with Session(engine) as session:
            admin = session.exec(select(User).where(User.name == "東管理")).one()
            assert (admin.org_id, admin.role, admin.must_change_password) == (2, "管理者", True)
    finally:
        engine.dispose()
    assert "東町議会　全体（全体管理者）" not in [t.value for t in at.sidebar.text]  # the default organisation's
    assert "既定の団体　全体（全体管理者）" in [t.value for t in at.sidebar.text]
