"""The 用語辞書 page with AppTest on the real services and a temp SQLite: a clerk adds, edits, searches and deletes;
a reader reads and exports only."""

from __future__ import annotations

from minutes.pipeline.cleanup import CleanupOptions, clean_utterances
from minutes.records import Utterance
from tests import test_ui_pages
from tests.seeding import store_meeting
from tests.test_ui_pages import _app, _as, _engine

app_env = test_ui_pages.app_env  # the fixture: fresh data folder, cached services, fake pipeline

PAGE = "ui/pages/dictionary.py"


def _rows(at) -> list[str]:
    return list(at.dataframe[0].value["表記"]) if len(at.dataframe) else []


def _rules(at) -> list[str]:
    return next((list(d.value["誤"]) for d in at.dataframe if "誤" in d.value.columns), [])


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


def test_a_clerk_adds_and_deletes_a_rule_and_accepts_a_proposal_in_one_click(app_env):

    _app()  # migrate through the app
    engine = _engine(app_env)
    try:
        records = clean_utterances(
            [Utterance("SPEAKER_00", 0.0, 1.0, "長栄バスの便数"), Utterance("SPEAKER_00", 2.0, 3.0, "長栄バスは赤字")],
            CleanupOptions(),
        )
        meeting = store_meeting(engine, title="定例会", utterances=records, duration=4.0)
        clerk = _as(engine, app_env, "鈴木")
        for line in clerk.transcript.page(meeting).lines:
            clerk.transcript.edit_text(line.id, text=line.text.replace("長栄", "町営"), expected_version=line.version)
    finally:
        engine.dispose()
    at = _app(PAGE, user="鈴木", role="書記")
    assert any("「長栄」→「町営」　2 か所（1 会議）" in m.value for m in at.markdown)
    at.button(key=next(b.key for b in at.button if b.label == "ルールに採用")).click().run()
    assert not at.exception and any("補正ルールにしました" in s.value for s in at.success)
    assert _rules(at) == ["長栄"] and not [b for b in at.button if b.label == "ルールに採用"]

    at.text_input(key="rule_wrong").input("一観質問")
    at.text_input(key="rule_right").input("一般質問")
    next(b for b in at.button if b.label == "ルールを追加").click().run()
    assert not at.exception and _rules(at) == ["一観質問", "長栄"]
    next(b for b in at.button if b.label == "ルールを追加").click().run()  # empty now: refused in Japanese
    assert any("両方を入力" in e.value for e in at.error)
    engine = _engine(app_env)
    try:
        target = next(r.id for r in _as(engine, app_env).corrections.rules() if r.wrong == "一観質問")
    finally:
        engine.dispose()
    at.selectbox(key="rule_delete_choice").set_value(target).run()
    at.button(key="rule_delete").click().run()
    assert _rules(at) == ["長栄"]
    engine = _engine(app_env)
    try:
        assert [r.wrong for r in _as(engine, app_env).corrections.rules()] == ["長栄"]
    finally:
        engine.dispose()


def test_a_reader_sees_the_rules_but_no_form(app_env):
    _app()
    engine = _engine(app_env)
    try:
        _as(engine, app_env).corrections.add("長民", "町民")
    finally:
        engine.dispose()
    at = _app(PAGE, user="田中", role="閲覧者")
    assert _rules(at) == ["長民"]
    assert not [w for w in at.text_input if w.key == "rule_wrong"]
