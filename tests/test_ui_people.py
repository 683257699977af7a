"""The 名簿 page, linking speakers to the roster on the 話者 page and 「名簿から入れる」 on the meeting page, with
AppTest against the real services and a temp SQLite database (the model boundary faked, as in test_ui_pages)."""

from __future__ import annotations

import datetime as dt

from minutes.services.views import MeetingDetails
from tests.seeding import set_details
from tests.test_ui_pages import _app, _as, _engine, _seeded
from tests.test_ui_pages import app_env as app_env  # the fixture

ROSTER = (
    "氏名,よみ,区分,議席番号,会派,職名,就任日,退任日\n"
    "高橋一郎,たかはしいちろう,議員,10,みらい会,議長,2023/05/01,\n"
    "佐藤花子,さとうはなこ,議員,5,,,,\n"
    "鈴木健二,すずきけんじ,説明員,,,町長,2023/04/01,\n"
)


def _button(at, label: str):
    return next(b for b in at.button if b.label == label)


def test_people_page_add_edit_titles_retire_and_csv(app_env):
    at = _app("ui/pages/people.py", user="書記", role="書記")
    assert at.title[0].value == "名簿"
    assert any("まだ誰もいません" in i.value for i in at.info)
    at.text_input(key="add-name").input("高橋　一郎")
    at.text_input(key="add-yomi").input("たかはしいちろう")
    at.number_input(key="add-seat").set_value(10)
    at.text_input(key="add-title").input("議長")
    at.text_input(key="add-starts").input("令和5年5月1日")
    _button(at, "名簿に追加").click().run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["氏名"]) == ["高橋一郎"] and list(table["現在の職名"]) == ["議長"]
    # a bad day: said in Japanese, nothing added
    at.text_input(key="add-name").input("佐藤花子")
    at.text_input(key="add-title").input("副議長")
    at.text_input(key="add-starts").input("2024/13/01")
    _button(at, "名簿に追加").click().run()
    assert any("就任日: 日付「2024/13/01」を読み取れません" in e.value for e in at.error)
    engine = _engine(app_env)
    people = _as(engine, app_env).people
    assert [p.name for p in people.people()] == ["高橋一郎"]
    # edit: the group, a title, then retire
    takahashi = people.find("高橋一郎")
    group = next(t for t in at.text_input if (t.key or "").startswith("edit-") and t.key.endswith("-group"))
    group.input("みらい会")
    _button(at, "保存").click().run()
    assert people.find("高橋一郎").group == "みらい会"
    next(t for t in at.text_input if (t.key or "").startswith("title-") and t.key.endswith("-title")).input("委員長")
    _button(at, "職名を追加").click().run()
    assert [t.title for t in people.find("高橋一郎").titles] == ["委員長", "議長"]  # a title without a start first
    at.button(key=f"title-remove-{people.find('高橋一郎').titles[0].id}").click().run()
    assert [t.title for t in people.find("高橋一郎").titles] == ["議長"]
    at.button(key=f"retire-{takahashi.id}").click().run()
    assert people.find("高橋一郎").retired
    assert not at.dataframe  # hidden unless asked
    at.checkbox(key="show_retired").check().run()
    assert list(at.dataframe[0].value["状態"]) == ["退任"]
    # CSV: the problems first, nothing imported; then a good file
    at.file_uploader(key="people_csv-0").upload("名簿.csv", "氏名,区分\n山田太郎,町長\n".encode(), "text/csv").run()
    assert any("2 行目: 区分「町長」" in e.value for e in at.error)
    assert not any(b.label == "取り込む" for b in at.button)
    at.file_uploader(key="people_csv-0").upload("名簿.csv", ("\ufeff" + ROSTER).encode(), "text/csv").run()
    assert any("追加 2 人、更新 0 人、変更なし 1 人" in i.value for i in at.info)
    _button(at, "取り込む").click().run()
    assert not at.exception, at.exception
    assert [p.name for p in people.people()] == ["佐藤花子", "鈴木健二"]
    assert people.find("高橋一郎").retired  # the file has no 状態 column: left as it was
    engine.dispose()


def test_people_page_is_read_only_for_editors(app_env):
    at = _app("ui/pages/people.py", user="編集", role="編集者")
    assert not any(b.label == "名簿に追加" for b in at.button)
    assert any("名簿の変更は書記・管理者が行います" in c.value for c in at.caption)


def test_speakers_page_links_a_speaker_to_the_roster(app_env):
    meeting_id = _seeded(app_env)
    engine = _engine(app_env)
    services = _as(engine, app_env)
    services.people.import_csv(ROSTER.encode())
    chair = next(s for s in services.speakers.speakers(meeting_id) if s.label == "SPEAKER_00")
    takahashi = services.people.find("高橋一郎")
    at = _app("ui/pages/speakers.py", meeting_id)
    key = f"sp-person-{chair.id}-None-False"
    at.selectbox(key=f"{key}-choice").set_value(takahashi.id)
    at.button(key=f"{key}-link").click().run()
    assert not at.exception, at.exception
    linked = next(s for s in services.speakers.speakers(meeting_id) if s.id == chair.id)
    assert (linked.person_id, linked.person_confirmed, linked.display, linked.seat) == (
        takahashi.id, True, "議長 高橋一郎", 10,
    )  # fmt: skip
    assert any("名簿: １０番 議長 高橋一郎（確認済み）" in c.value.replace("\\", "") for c in at.caption)
    # a second speaker linked to the same person: the page says to merge them
    other = next(s for s in services.speakers.speakers(meeting_id) if s.label == "SPEAKER_01")
    services.speakers.link_person(other.id, takahashi.id)
    at.run()
    assert any("2 人の話者が名簿の同じ人（高橋一郎）になっています" in w.value for w in at.warning)
    services.speakers.link_person(other.id, None)
    at.run()
    # and back to nobody of the roster: the names stay
    key = f"sp-person-{chair.id}-{takahashi.id}-True"
    at.selectbox(key=f"{key}-choice").select_index(0)
    at.button(key=f"{key}-link").click().run()
    unlinked = next(s for s in services.speakers.speakers(meeting_id) if s.id == chair.id)
    assert (unlinked.person_id, unlinked.display) == (None, "議長 高橋一郎")
    engine.dispose()


def test_meeting_header_filled_from_the_roster_is_saved_only_by_the_clerk(app_env):
    meeting_id = _seeded(app_env)
    engine = _engine(app_env)
    services = _as(engine, app_env)
    services.people.import_csv(ROSTER.encode())
    set_details(engine, app_env, meeting_id, MeetingDetails(assembly="大磯町議会"))
    at = _app("ui/pages/meeting.py", meeting_id)
    at.button(key="header_from_roster").click().run()
    assert not at.exception, at.exception
    version = services.details.meeting(meeting_id).edit_version
    attendees = at.text_area(key=f"attendees-{meeting_id}-{version}").value
    assert attendees == "５番\u3000佐藤花子\n１０番\u3000高橋一郎（議長）"
    assert at.text_area(key=f"explainers-{meeting_id}-{version}").value == "町長\u3000鈴木健二"
    assert services.details.meeting(meeting_id).details.attendees == ()  # not saved silently
    _button(at, "見出しを保存").click().run()
    assert not at.exception, at.exception
    saved = services.details.meeting(meeting_id).details
    assert [(p.seat, p.name, p.role) for p in saved.attendees] == [(5, "佐藤花子", ""), (10, "高橋一郎", "議長")]
    assert [(p.name, p.role) for p in saved.explainers] == [("鈴木健二", "町長")]
    assert saved.assembly == "大磯町議会"
    assert dt.date(2025, 12, 2) == services.details.meeting(meeting_id).held_at.date()
    engine.dispose()


def _identified(engine, meeting_id: int, label: str, **fields) -> None:
    """What a transcription job stores for a speaker it identified by voice (``store.save_result`` speaker fields)."""
    from sqlmodel import Session, select

    from minutes.store.tables import Speaker

    with Session(engine) as session:
        speaker = session.exec(select(Speaker).where(Speaker.meeting_id == meeting_id, Speaker.label == label)).one()
        for name, value in fields.items():
            setattr(speaker, name, value)
        session.add(speaker)
        session.commit()


def test_speakers_page_shows_names_from_the_voices_and_accepts_them(app_env):
    meeting_id = _seeded(app_env)
    engine = _engine(app_env)
    services = _as(engine, app_env)
    services.people.import_csv(ROSTER.encode())
    takahashi, suzuki = services.people.find("高橋一郎"), services.people.find("鈴木健二")
    chair = {"person_id": takahashi.id, "person_score": 0.71, "name": "高橋一郎", "role": "議長"}
    _identified(engine, meeting_id, "SPEAKER_00", **chair)
    _identified(engine, meeting_id, "SPEAKER_01", suggested_person_id=suzuki.id, person_score=0.35)
    at = _app("ui/pages/speakers.py", meeting_id)
    assert not at.exception, at.exception
    assert any("声から特定（声の一致度 0.71、要確認）" in w.value.replace("\\", "") for w in at.warning)
    assert any("声から推定: 町長 鈴木健二（声の一致度 0.35" in c.value.replace("\\", "") for c in at.caption)
    # the unsure name is marked in the editor too
    editor = _app("ui/pages/editor.py", meeting_id)
    assert any("議長 高橋一郎（要確認）" in m.value for m in editor.markdown)
    _button(at, "推定の人にする").click().run()
    _button(at, "自動で付いた名前をすべて確認済みにする（1 人）").click().run()
    assert not at.exception, at.exception
    speakers = {s.label: s for s in services.speakers.speakers(meeting_id)}
    assert (speakers["SPEAKER_00"].person_id, speakers["SPEAKER_00"].person_confirmed) == (takahashi.id, True)
    assert (speakers["SPEAKER_01"].person_id, speakers["SPEAKER_01"].display) == (suzuki.id, "町長 鈴木健二")
    assert not speakers["SPEAKER_00"].unsure
    engine.dispose()
