"""The 用語辞書 page with AppTest on the real services and a temp SQLite: a clerk adds, edits, searches and deletes;
a reader reads and exports only."""

from __future__ import annotations

from tests import test_ui_pages
from tests.test_ui_pages import _app, _as, _engine

app_env = test_ui_pages.app_env  # the fixture: fresh data folder, cached services, fake pipeline

PAGE = "ui/pages/dictionary.py"


def _rows(at) -> list[str]:
    return list(at.dataframe[0].value["表記"]) if len(at.dataframe) else []


def test_a_clerk_adds_edits_searches_and_deletes_a_term(app_env):
    at = _app(PAGE, user="鈴木", role="書記")
    assert at.title[0].value == "用語辞書"
    at.text_input(key="dictionary_new_text").input("町営バス東循環線")
    at.text_input(key="dictionary_new_reading").input("ちょうえいばすひがしじゅんかんせん")
    at.selectbox(key="dictionary_new_kind").select("事業")
    at.button[0].click().run()  # the add form's button comes first
    assert not at.exception and any("追加しました" in s.value for s in at.success)
    assert _rows(at) == ["町営バス東循環線"]

    at.text_input(key="dictionary_new_text").input("chouchou")
    at.text_input(key="dictionary_new_reading").input("chouchou")
    at.button[0].click().run()
    assert any("ひらがな・カタカナ" in e.value for e in at.error)  # refused in Japanese, nothing stored

    next(w for w in at.text_input if w.label == "読み").input("ちょうえいバスひがしじゅんかんせん")
    next(b for b in at.button if b.label == "変更を保存").click().run()
    assert not at.exception and not at.error
    engine = _engine(app_env)
    try:
        assert _as(engine, app_env).dictionary.terms()[0].reading == "ちょうえいバスひがしじゅんかんせん"
    finally:
        engine.dispose()

    at.text_input(key="dictionary_query").input("ちょうえい").run()
    assert _rows(at) == ["町営バス東循環線"]
    at.text_input(key="dictionary_query").input("公民館").run()
    assert _rows(at) == [] and any("該当する用語はありません" in i.value for i in at.info)
    at.text_input(key="dictionary_query").input("").run()
    delete = next(b for b in at.button if b.label == "この用語を削除")
    delete.click().run()
    assert _rows(at) == []
    engine = _engine(app_env)
    try:
        assert _as(engine, app_env).dictionary.count() == 0
    finally:
        engine.dispose()


def test_a_reader_sees_and_exports_the_dictionary_but_cannot_change_it(app_env):
    _app()  # migrate through the app
    engine = _engine(app_env)
    try:
        _as(engine, app_env).dictionary.add("桜川町", reading="さくらがわまち", kind="地名")
    finally:
        engine.dispose()
    at = _app(PAGE, user="田中", role="閲覧者")
    assert _rows(at) == ["桜川町"]
    assert [b.label for b in at.get("download_button")] == ["CSV で書き出す"]
    assert not [w for w in at.text_input if w.key == "dictionary_new_text"]
    assert any("書記・管理者" in i.value for i in at.info)
