"""The paperless pages with AppTest on real services and a temp SQLite: materials, search, agenda in the editor,
archive versions on the meeting page."""

from __future__ import annotations

from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from minutes import store
from minutes.services.views import AgendaEntry, MeetingDetails
from tests import test_ui_pages
from tests.seeding import set_details
from tests.test_materials import make_docx, make_pdf
from tests.test_ui_pages import APP, TIMEOUT, _app, _as, _engine, _seeded, login_token

app_env = test_ui_pages.app_env  # the fixture: fresh data folder, cached services, fake pipeline


def _app_at(path: str, **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["auth_token"] = login_token()
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(path)
    at.run()
    assert not at.exception, at.exception
    return at


def _with_agenda(data, meeting_id: int) -> None:
    engine = _engine(data)
    agenda = (AgendaEntry("一般会計補正予算", 1, "議案第５号"), AgendaEntry("一般質問", 2, ""))
    set_details(engine, data, meeting_id, MeetingDetails(agenda=agenda))
    engine.dispose()


def test_materials_page_uploads_views_and_refuses(app_env):
    meeting_id = _seeded(app_env)
    _with_agenda(app_env, meeting_id)
    at = _app("ui/pages/materials.py", meeting_id)
    assert at.title[0].value == "資料"
    at.file_uploader(key="material_files").upload(
        "議案第５号.pdf", make_pdf([["Budget", "Page one"]]), "application/pdf"
    )
    at.selectbox(key="material_agenda").set_value(1)
    next(b for b in at.button if b.label == "追加する").click().run()
    assert not at.exception, at.exception
    assert any("議案第５号" in s.value for s in at.success)
    table = at.dataframe[0].value
    assert list(table["資料名"]) == ["議案第５号"] and list(table["種類"]) == ["PDF"]
    assert "日程第１" in table["議事日程"][0]
    assert len(at.get("image")) == 1  # the rendered page
    # a Word document shows its text; a lying extension is refused
    at.file_uploader(key="material_files").upload("概要.docx", make_docx(), "application/octet-stream")
    next(b for b in at.button if b.label == "追加する").click().run()
    at.file_uploader(key="material_files").upload("偽物.pdf", make_docx(), "application/pdf")
    next(b for b in at.button if b.label == "追加する").click().run()
    assert any("中身はWord 文書" in e.value for e in at.error)
    engine = _engine(app_env)
    listed = _as(engine, app_env).materials.list(meeting_id)
    assert [m.title for m in listed] == ["議案第５号", "概要"]
    at.selectbox(key="material_shown").set_value(listed[1].id).run()
    assert any("防災倉庫" in m.value for m in at.markdown)
    assert [b.label for b in at.get("download_button")] == ["ダウンロード"]
    # delete (not finalized)
    at.checkbox(key=f"sure-{listed[1].id}").check().run()
    at.button(key=f"delete-{listed[1].id}").click().run()
    assert [m.title for m in _as(engine, app_env).materials.list(meeting_id)] == ["議案第５号"]
    engine.dispose()


def test_materials_page_opens_a_material_at_a_page(app_env):
    meeting_id = _seeded(app_env)
    engine = _engine(app_env)
    pdf = _as(engine, app_env, "佐藤").materials.add(
        meeting_id, make_pdf([["One"], ["Two"], ["Three"]]), original_name="a.pdf"
    )
    engine.dispose()
    at = _app_at("ui/pages/materials.py", meeting=str(meeting_id), material=str(pdf.id), page="3")
    assert at.number_input(key=f"material_page-{pdf.id}").value == 3


def test_search_page_finds_and_opens_the_editor_at_the_utterance(app_env):
    meeting_id = _seeded(app_env, utterances=120)
    engine = _engine(app_env)
    target = _as(engine, app_env).transcript.page(meeting_id, 2, 20).lines[7]
    _as(engine, app_env, "佐藤").transcript.edit_text(
        target.id, text="河川改修の予算について伺います。", expected_version=1
    )
    engine.dispose()
    at = _app("ui/pages/search.py")
    assert at.title[0].value == "検索"
    at.text_input(key="search_text").input("河川改修")
    next(b for b in at.button if b.label == "検索").click().run()
    assert any("1 件" in s.value for s in at.subheader)
    assert any("河川改修</mark>" in h.proto.body for h in at.get("html"))
    # a two-character word, filtered by speaker
    at.text_input(key="search_text").input("予算")
    at.text_input(key="search_speaker").input("SPEAKER_01")
    next(b for b in at.button if b.label == "検索").click().run()
    assert not at.exception, at.exception
    assert any("件" in s.value and "発言" in s.value for s in at.subheader)
    at.text_input(key="search_speaker").input("")
    at.text_input(key="search_text").input("河川改修")
    next(b for b in at.button if b.label == "検索").click().run()
    at.button(key=f"open-{target.id}").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "発言の編集"
    assert at.number_input(key=f"page-{meeting_id}").value == 3
    assert any(":orange-background[検索結果]" in m.value for m in at.markdown)  # marked on the utterance
    assert any("から再生" in c.value and str(target.id) in c.value for c in at.sidebar.caption)


def test_editor_opens_at_a_time_and_suggests_agenda_items(app_env):
    meeting_id = _seeded(app_env, utterances=8)
    _with_agenda(app_env, meeting_id)
    engine = _engine(app_env)
    editing = _as(engine, app_env, "佐藤")
    lines = editing.transcript.page(meeting_id).lines
    chair = lines[0].speaker_id
    editing.transcript.edit_text(lines[0].id, text="日程第１、議案第５号を議題といたします。", expected_version=1)
    editing.transcript.edit_text(lines[4].id, text="次に、日程第二、一般質問を行います。", expected_version=1)
    editing.speakers.update_speaker(chair, role="議長")
    at = _app_at("ui/pages/editor.py", meeting=str(meeting_id), at=f"{lines[5].start + 0.1:.1f}")
    assert any(":orange-background[検索結果]" in m.value for m in at.markdown)  # marked on the utterance
    assert any("から再生" in c.value for c in at.sidebar.caption)
    at.button(key="apply_suggestions").click().run()
    assert not at.exception, at.exception
    orders = [line.agenda_order for line in editing.transcript.page(meeting_id).lines]
    assert orders == [1, 1, 1, 1, 2, 2, 2, 2]
    # one utterance by hand
    line = editing.transcript.page(meeting_id).lines[3]
    at.button(key=f"edit-{line.id}").click().run()
    at.selectbox(key=f"agenda-{line.id}-1").set_value(2).run()
    assert at.selectbox(key=f"agenda-{line.id}-2").value == 2  # drawn again with the order now stored
    assert (
        editing.transcript.line(line.id).agenda_order == 2 and editing.transcript.line(line.id).version == line.version
    )
    with Session(engine) as session:
        assert store.events_of(session, meeting_id=meeting_id)[-1].action == "agenda"
    engine.dispose()


def test_meeting_page_lists_and_verifies_archive_versions(app_env):
    meeting_id = _seeded(app_env)
    at = _app("ui/pages/meeting.py", meeting_id)
    at.checkbox(key="confirm_finalize").check().run()
    at.button(key="finalize").click().run()
    assert not at.exception, at.exception
    assert any("アーカイブ" in s.value for s in at.subheader)
    at.button(key="verify-1").click().run()
    assert any("検証OK" in s.value for s in at.success)
    folder = app_env / "archive" / str(meeting_id) / "v1"
    (folder / "会議録.txt").chmod(0o644)
    (folder / "会議録.txt").write_text("改ざん", encoding="utf-8")
    at.button(key="verify-1").click().run()
    assert any("検証NG" in e.value and "会議録.txt" in e.value for e in at.error)
    assert [b.label for b in at.download_button if b.key == "zip-1"] == ["ZIP をダウンロード"]  # one click
