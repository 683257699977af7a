"""Each page shows only what the signed-in user's role can do (AppTest on the real services and a temp SQLite).

The services refuse what a role may not do (tests/test_auth.py); these tests check that the pages do not offer it:
a role that can never do something gets no widget for it (and, where a user would look for it, a line saying who
can), a state that forbids it (a finalized meeting) gets the widget disabled.
"""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from minutes import store
from minutes.services import Principal, Role
from minutes.services.views import AgendaEntry, MeetingDetails, Person
from tests import test_ui_pages
from tests.seeding import set_details
from tests.test_materials import make_pdf
from tests.test_ui_pages import ROOT, TIMEOUT, _app, _engine, _seeded
from tests.test_ui_pages import _as as _services

app_env = test_ui_pages.app_env  # the fixture: fresh data folder, cached services, fake pipeline

USERS = {"管理者": "佐藤", "書記": "鈴木", "編集者": "高橋", "閲覧者": "田中"}
DRAFT_READERS = ("管理者", "書記", "編集者")  # 閲覧者 does not see a meeting before it is finalized
CLERKS = ("管理者", "書記")
WHO_FINALIZES = "確定と書き出しは書記・管理者が行います。"


def _as(role: str, page: str | None = None, meeting_id: int | None = None) -> AppTest:
    return _app(page, meeting_id, user=USERS[role], role=role)


def _finalize(data, meeting_id: int) -> None:
    engine = _engine(data)
    try:
        _services(engine, data, "課長").details.finalize(meeting_id, expected_version=1)
    finally:
        engine.dispose()


def _set_job(data, meeting_id: int, **fields) -> None:
    engine = _engine(data)
    try:
        with Session(engine) as session:
            job = store.latest_job(session, meeting_id=meeting_id)
            for name, value in fields.items():
                setattr(job, name, value)
            session.add(job)
            session.commit()
    finally:
        engine.dispose()


def _keys(at: AppTest, kind: str, prefix: str = "") -> list[str]:
    """The keys of the widgets of one kind (``button``, ``text_input``…) that start with ``prefix``."""
    return [w.key for w in getattr(at, kind) if w.key and w.key.startswith(prefix)]


def _button(at: AppTest, label: str):
    return next((b for b in at.button if b.label == label), None)


def _captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def _subheaders(at: AppTest) -> list[str]:
    return [s.value for s in at.subheader]


# ---------------------------------------------------------------- 会議の情報・確定


@pytest.mark.parametrize("role", DRAFT_READERS)
def test_meeting_page_on_a_draft_offers_finalize_and_export_only_to_clerks(app_env, role):
    meeting_id = _seeded(app_env)
    at = _as(role, "ui/pages/meeting.py", meeting_id)
    assert at.title[0].value == "令和７年第４回定例会"
    clerk = role in CLERKS
    assert ("finalize" in _keys(at, "button")) is clerk
    assert ("confirm_finalize" in _keys(at, "checkbox")) is clerk
    assert ("export-docx" in _keys(at, "download_button")) is clerk
    assert ("export-txt" in _keys(at, "download_button")) is clerk
    assert ("確定" in _subheaders(at)) is clerk and ("書き出し" in _subheaders(at)) is clerk
    assert (WHO_FINALIZES in _captions(at)) is not clerk
    assert ("access_closed" in _keys(at, "checkbox")) is clerk  # 非公開 needs MANAGE_ACCESS
    # every role that reads drafts here may edit the header
    save = _button(at, "見出しを保存")
    assert save is not None and not save.disabled
    assert all(not t.disabled for t in at.text_input if t.label == "会議名 *")
    assert at.button(key="open_editor").label == "発言を編集する"


@pytest.mark.parametrize("role", USERS)
def test_meeting_page_on_a_finalized_meeting(app_env, role):
    meeting_id = _seeded(app_env)
    _finalize(app_env, meeting_id)
    at = _as(role, "ui/pages/meeting.py", meeting_id)
    assert not at.exception, at.exception
    assert any("確定済み" in i.value for i in at.info)
    clerk = role in CLERKS
    assert (_button(at, "確定を解除する") is not None) is clerk
    assert any(t.label == "確定を解除する理由 *" for t in at.text_input) is clerk
    assert ("export-docx" in _keys(at, "download_button")) is clerk
    assert ("zip-1" in _keys(at, "download_button")) is clerk  # the archive as a ZIP is an export
    assert "verify-1" in _keys(at, "button")  # checking the archive changes nothing: everyone may
    assert (WHO_FINALIZES in _captions(at)) is not clerk
    save = _button(at, "見出しを保存")
    if role == "閲覧者":
        # no inputs at all: the header as text and tables
        assert save is None
        assert not at.text_input and not at.number_input and not at.date_input and not at.time_input
        assert not at.data_editor and not at.checkbox
        assert at.button(key="open_editor").label == "発言を見る"
    else:
        # the finalized state: the form is there, disabled
        assert save is not None and save.disabled
        assert all(t.disabled for t in at.text_input if t.label == "会議名 *")
        assert at.data_editor  # the rosters and the agenda, as (disabled) editors


def test_meeting_page_header_is_text_for_the_viewer(app_env):
    meeting_id = _seeded(app_env)
    engine = _engine(app_env)
    details = MeetingDetails(
        assembly="大磯町議会",
        session=4,
        attendees=(Person("大磯一郎", 1),),
        agenda=(AgendaEntry("一般質問", 1, ""),),
    )
    set_details(engine, app_env, meeting_id, details)
    editing = _services(engine, app_env, "課長")
    editing.details.finalize(meeting_id, expected_version=editing.details.meeting(meeting_id).edit_version)
    engine.dispose()
    at = _as("閲覧者", "ui/pages/meeting.py", meeting_id)
    assert any("大磯町議会" in m.value and "第4回" in m.value for m in at.markdown)
    tables = [d.value for d in at.dataframe]
    assert any("大磯一郎" in list(t.get("氏名", [])) for t in tables)
    assert any("一般質問" in list(t.get("件名", [])) for t in tables)


@pytest.mark.parametrize("role", ["書記", "編集者"])
def test_retry_and_cancel_only_for_those_who_create_meetings(app_env, role):
    meeting_id = _seeded(app_env)
    _set_job(app_env, meeting_id, status="failed", error_message="音声が含まれていません。", stage="decode")
    at = _as(role, "ui/pages/meeting.py", meeting_id)
    assert any("音声が含まれていません。" in e.value for e in at.error)
    assert ("retry_job" in _keys(at, "button")) is (role == "書記")
    assert any("再試行は書記・管理者が行います。" in c for c in _captions(at)) is (role == "編集者")

    _set_job(app_env, meeting_id, status="cancelled", error_message=None)
    at.run()
    assert ("retry_job" in _keys(at, "button")) is (role == "書記")

    _set_job(app_env, meeting_id, status="running", stage="transcribe", progress=40.0)
    at.run()
    assert not at.exception, at.exception
    assert "処理の進み具合" in _subheaders(at)
    assert ("cancel_job" in _keys(at, "button")) is (role == "書記")


# ---------------------------------------------------------------- 発言の編集


@pytest.mark.parametrize("role", DRAFT_READERS)
def test_editor_on_a_draft_is_editable_by_every_role_that_edits(app_env, role):
    meeting_id = _seeded(app_env)
    at = _as(role, "ui/pages/editor.py", meeting_id)
    assert "find" in _keys(at, "text_input")
    edit = sorted(_keys(at, "button", "edit-"))[0]
    assert at.button(key=edit).label == "編集"
    at.button(key=edit).click().run()
    areas = [t for t in at.text_area if t.key.startswith("text-")]
    assert areas and not any(t.disabled for t in areas)
    assert _keys(at, "selectbox", "speaker-") and _keys(at, "button", "tools-")


@pytest.mark.parametrize("role", USERS)
def test_editor_on_a_finalized_meeting(app_env, role):
    meeting_id = _seeded(app_env)
    _finalize(app_env, meeting_id)
    engine = _engine(app_env)
    lines = _services(engine, app_env).transcript.page(meeting_id).lines
    engine.dispose()
    at = _as(role, "ui/pages/editor.py", meeting_id)
    assert len(_keys(at, "button", "play-")) == len(lines)  # everyone may listen
    notice = next(i.value for i in at.info if "確定済み" in i.value)
    assert at.title[0].value == ("発言" if role == "閲覧者" else "発言の編集")
    if role == "閲覧者":
        # the transcript as text: no inputs, no tools, no find and replace
        assert not at.text_area and not _keys(at, "selectbox", "speaker-") and not _keys(at, "button", "tools-")
        assert not _keys(at, "button", "edit-")
        assert "find" not in _keys(at, "text_input") and "show_marks" not in _keys(at, "toggle")
        assert any(lines[0].text in m.value for m in at.markdown)
        assert "解除" not in notice
    else:
        assert not at.text_area and at.button(key=f"edit-{lines[0].id}").label == "詳細"
        at.button(key=f"edit-{lines[0].id}").click().run()
        areas = [t for t in at.text_area if t.key.startswith("text-")]
        assert areas and all(t.disabled for t in areas)
        assert _keys(at, "button", "tools-")
        if role == "編集者":
            assert "書記・管理者に確定の解除を依頼" in notice
        else:
            assert "確定を解除してください" in notice


# ---------------------------------------------------------------- 話者


@pytest.mark.parametrize("role", DRAFT_READERS)
def test_speakers_page_on_a_draft_is_editable_by_every_role_that_edits(app_env, role):
    meeting_id = _seeded(app_env)
    at = _as(role, "ui/pages/speakers.py", meeting_id)
    saves = [b for b in at.button if (b.key or "").startswith("sp-save-")]
    assert saves and not any(b.disabled for b in saves)
    assert _keys(at, "text_input", "sp-name-")
    merge = at.button(key="merge_speakers")
    assert not merge.disabled


@pytest.mark.parametrize("role", ["編集者", "閲覧者"])
def test_speakers_page_on_a_finalized_meeting(app_env, role):
    meeting_id = _seeded(app_env)
    engine = _engine(app_env)
    editing = _services(engine, app_env, "佐藤")
    chair = editing.speakers.speakers(meeting_id)[0]
    editing.speakers.update_speaker(chair.id, name="大磯一郎", yomi="おおいそいちろう", seat=14)
    engine.dispose()
    _finalize(app_env, meeting_id)
    at = _as(role, "ui/pages/speakers.py", meeting_id)
    assert len(at.get("vega_lite_chart")) == 2  # the pictures are for everyone
    if role == "閲覧者":
        assert not at.main.text_input and not at.main.number_input and not at.main.selectbox
        assert "merge_speakers" not in _keys(at, "button") and not _keys(at, "button", "sp-save-")
        assert "話者の名前や役職の変更は、編集者・書記・管理者が行います。" in _captions(at)
        assert any("おおいそいちろう" in c and "14" in c for c in _captions(at))
    else:
        saves = [b for b in at.button if (b.key or "").startswith("sp-save-")]
        assert saves and all(b.disabled for b in saves)
        assert at.button(key="merge_speakers").disabled


def test_speaker_name_is_not_rendered_as_html(app_env):
    meeting_id = _seeded(app_env)
    engine = _engine(app_env)
    editing = _services(engine, app_env, "佐藤")
    speaker = editing.speakers.speakers(meeting_id)[0]
    editing.speakers.update_speaker(speaker.id, name="<img src=x onerror=alert(1)>")
    engine.dispose()
    at = _as("管理者", "ui/pages/speakers.py", meeting_id)
    heads = [m for m in at.markdown if "img" in m.value]
    assert heads, [m.value for m in at.markdown]
    for head in heads:
        assert not head.allow_html
        assert not re.search(r"(?<!\\)<", head.value)  # every < escaped: shown as text, never parsed as a tag
    assert any(r"\<img src=x onerror=alert\(1\)\>" in m.value for m in heads)


# ---------------------------------------------------------------- 資料


def _with_material(data, meeting_id: int) -> int:
    engine = _engine(data)
    try:
        added = _services(engine, data, "佐藤").materials.add(meeting_id, make_pdf([["One"]]), original_name="a.pdf")
        return added.id
    finally:
        engine.dispose()


@pytest.mark.parametrize("role", DRAFT_READERS)
def test_materials_page_on_a_draft_offers_upload_and_delete(app_env, role):
    meeting_id = _seeded(app_env)
    material_id = _with_material(app_env, meeting_id)
    at = _as(role, "ui/pages/materials.py", meeting_id)
    assert "material_files" in _keys(at, "file_uploader")
    assert f"delete-{material_id}" in _keys(at, "button") and f"do-move-{material_id}" in _keys(at, "button")
    assert [b.label for b in at.get("download_button")] == ["ダウンロード"]


@pytest.mark.parametrize("role", ["書記", "閲覧者"])
def test_materials_page_on_a_finalized_meeting(app_env, role):
    meeting_id = _seeded(app_env)
    material_id = _with_material(app_env, meeting_id)
    _finalize(app_env, meeting_id)
    at = _as(role, "ui/pages/materials.py", meeting_id)
    assert not _keys(at, "file_uploader") and f"delete-{material_id}" not in _keys(at, "button")
    assert [b.label for b in at.get("download_button")] == ["ダウンロード"]  # reading is for everyone
    if role == "閲覧者":
        assert "資料の追加・削除は編集者・書記・管理者が行います。" in _captions(at)
        assert not any("確定を解除" in i.value for i in at.info)
    else:
        assert any("確定を解除してください" in i.value for i in at.info)


# ---------------------------------------------------------------- 会議一覧, 新しい会議, 検索


@pytest.mark.parametrize("role", USERS)
def test_meetings_list_by_role(app_env, role):
    empty = _as(role)
    assert ("new_meeting" in _keys(empty, "button")) is (role in CLERKS)
    meeting_id = _seeded(app_env)
    _finalize(app_env, meeting_id)
    at = _as(role)
    assert list(at.dataframe[0].value["ID"]) == [meeting_id]
    assert at.button(key="open_editor").label == ("発言を見る" if role == "閲覧者" else "発言を編集")


@pytest.mark.parametrize("role", USERS)
def test_new_meeting_page_only_for_those_who_create_meetings(app_env, role):
    at = _as(role)
    if role in CLERKS:
        at.switch_page("ui/pages/new_meeting.py").run()
        assert at.title[0].value == "新しい会議"
        assert _button(at, "登録して文字起こしを開始") is not None and at.file_uploader
        return
    with pytest.raises(ValueError, match="new_meeting"):  # not in this role's menu
        at.switch_page("ui/pages/new_meeting.py")
    # and the page itself, run without the router (an old link), offers nothing but who registers meetings
    page = AppTest.from_file(str(ROOT / "ui" / "pages" / "new_meeting.py"), default_timeout=TIMEOUT)
    page.session_state["user"] = Principal(1, USERS[role], Role(role))
    page.run()
    assert not page.exception, page.exception
    assert not page.file_uploader and not page.text_input and _button(page, "登録して文字起こしを開始") is None
    assert any("書記・管理者が行います" in i.value for i in page.info)


@pytest.mark.parametrize("role", ["編集者", "閲覧者"])
def test_search_page_says_when_drafts_are_left_out(app_env, role):
    at = _as(role, "ui/pages/search.py")
    assert at.title[0].value == "検索"
    said = any("確定済みの会議録だけを探します" in c for c in _captions(at))
    assert said is (role == "閲覧者")
