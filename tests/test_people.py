"""The assembly's roster (名簿) on real SQLite: people and titles by date, a meeting's speaker linked to a person (the
会議録 line through the real exports renderer), the CSV file (BOM, Shift_JIS, bad rows, re-import), the header's lists
from the roster, permissions and the audit trail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from minutes import store
from minutes.errors import EditConflict, FinalizedError, InputError, NotFoundError, PermissionDenied
from minutes.services import Principal, Services
from minutes.services.people import PersonView, TitleView, speaker_fields
from minutes.services.permissions import Role
from minutes.settings import Settings
from tests.seeding import seed_transcript

pytestmark = pytest.mark.both_backends  # on SQLite and on PostgreSQL (tests/conftest.py)

DAY = dt.date(2025, 12, 2)  # tests.seeding.HELD_AT


@pytest.fixture
def as_(engine: Engine, tmp_path: Path) -> Callable[..., Services]:
    settings = Settings(data_dir=tmp_path)
    return lambda name="書記", role=None: Services.for_user(
        engine, settings, Principal.operator(name) if role is None else Principal(7, name, role)
    )


def audit_actions(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return [e.action for e in store.audit.events(session)]


# ---------------------------------------------------------------- titles by date (pure)


def test_title_held_on_a_day_and_the_most_recent_one_wins():
    chair = TitleView(1, "議長", dt.date(2023, 5, 1), dt.date(2025, 4, 30))
    vice = TitleView(2, "副議長", dt.date(2021, 5, 1), None)
    always = TitleView(3, "委員", None, None)
    assert chair.held_on(dt.date(2023, 5, 1)) and chair.held_on(dt.date(2025, 4, 30))  # both ends inclusive
    assert not chair.held_on(dt.date(2023, 4, 30)) and not chair.held_on(dt.date(2025, 5, 1))
    assert not chair.held_on(None)  # None is today, after the end
    assert vice.held_on(None) and always.held_on(dt.date(1990, 1, 1))
    person = PersonView(1, "高橋一郎", "", "議員", 10, "", False, (always, vice, chair))
    assert person.title_on(dt.date(2024, 1, 1)) == "議長"  # started most recently
    assert person.title_on(dt.date(2022, 1, 1)) == "副議長"
    assert person.title_on(dt.date(2020, 1, 1)) == "委員"
    assert PersonView(2, "佐藤花子", "", "議員", 5, "", False).title_on(None) == ""


def test_speaker_fields_follow_the_title_of_the_day():
    chair = PersonView(1, "高橋一郎", "たかはし", "議員", 10, "みらい", False, (TitleView(1, "議長", DAY, None),))
    assert speaker_fields(chair, DAY) == {
        "name": "高橋一郎", "role": "議長", "seat": 10, "kind": "議員", "yomi": "たかはし", "group": "みらい",
    }  # fmt: skip
    assert speaker_fields(chair, DAY - dt.timedelta(days=1))["role"] == ""  # not yet 議長: printed by seat


# ---------------------------------------------------------------- the roster


def test_add_find_update_retire_and_titles(as_, engine):
    people = as_().people
    added = people.add(
        "高橋　一郎君", yomi="たかはしいちろう", seat="１０", group="みらい会", titles=[("議長", "令和5年5月1日", None)]
    )
    assert (added.name, added.kind, added.seat, added.titles[0].starts) == ("高橋一郎", "議員", 10, dt.date(2023, 5, 1))
    assert people.find("高橋一郎議員").id == added.id
    with pytest.raises(NotFoundError, match="名簿に「山田太郎」という人はいません"):
        people.find("山田 太郎")
    with pytest.raises(InputError, match="すでに名簿にいます"):
        people.add("高橋一郎")
    with pytest.raises(InputError, match="議席番号 10 はすでに 高橋一郎 さんの議席です"):
        people.add("佐藤花子", seat=10)
    with pytest.raises(InputError, match="区分は"):
        people.add("佐藤花子", kind="町長")
    with pytest.raises(InputError, match=r"退任日.*より前"):
        people.add("佐藤花子", titles=[("議長", "2024/04/01", "2024/03/31")])
    assert [p.name for p in people.people()] == ["高橋一郎"]  # nothing half-done
    mayor = people.add("鈴木健二", kind="説明員")
    mayor = people.add_title(mayor.id, "町長", dt.date(2023, 4, 1))
    with pytest.raises(InputError, match="すでに同じ期間"):
        people.add_title(mayor.id, "町長", "2023/04/01")
    assert people.update(mayor.id, yomi="すずきけんじ").yomi == "すずきけんじ"
    without = people.remove_title(mayor.titles[0].id)
    assert without.titles == ()
    people.retire(mayor.id)
    assert [p.name for p in people.people()] == ["高橋一郎"]
    assert [p.name for p in people.people(include_retired=True)] == ["高橋一郎", "鈴木健二"]
    assert people.retire(mayor.id, retired=False).retired is False
    assert audit_actions(engine) == [
        "person_add", "person_title_add", "person_add", "person_title_add", "person_update", "person_title_remove",
        "person_retire", "person_retire",
    ]  # fmt: skip


@pytest.mark.parametrize("role", [Role.EDITOR, Role.VIEWER])
def test_only_clerks_and_administrators_change_the_roster(as_, role):
    clerk = as_("書記", Role.CLERK).people
    person = clerk.add("佐藤花子", seat=5)
    other = as_("他の人", role).people
    assert [p.name for p in other.people()] == ["佐藤花子"]  # reading is for everyone
    for change in (
        lambda: other.add("山田太郎"),
        lambda: other.update(person.id, yomi="さとう"),
        lambda: other.retire(person.id),
        lambda: other.add_title(person.id, "副議長"),
        lambda: other.import_csv("氏名\n山田太郎\n".encode()),
    ):
        with pytest.raises(PermissionDenied, match="名簿の管理"):
            change()
    assert [p.name for p in clerk.people()] == ["佐藤花子"]


# ---------------------------------------------------------------- a speaker linked to a person


def _council(engine: Engine) -> int:
    return seed_transcript(
        engine,
        title="令和７年第４回定例会",
        lines=[
            ("SPEAKER_00", "ただいまから会議を開きます。"),
            ("SPEAKER_01", "防災について伺います。"),
            ("SPEAKER_02", "お答えします。"),
        ],
    )


def test_linked_speakers_print_as_the_assembly_does(as_, engine):
    services = as_()
    people = services.people
    chair = people.add("高橋一郎", seat=10, titles=[("議長", "2023/05/01", None)])
    member = people.add("佐藤花子", seat=5)
    mayor = people.add("鈴木健二", kind="説明員", titles=[("町長", "2023/04/01", None)])
    meeting_id = _council(engine)
    speakers = {s.label: s for s in services.speakers.speakers(meeting_id)}
    for label, person in (("SPEAKER_00", chair), ("SPEAKER_01", member), ("SPEAKER_02", mayor)):
        linked = services.speakers.link_person(speakers[label].id, person.id, expected=speakers[label])
        assert (linked.person_id, linked.person_confirmed, linked.name) == (person.id, True, person.name)
    # the 話者 page and the editor name them as the 会議録 heads their lines (a member without a title by seat)
    shown = [s.display for s in services.speakers.speakers(meeting_id)]
    assert shown == ["議長 高橋一郎", "５番 佐藤花子", "町長 鈴木健二"]
    text = services.exports.export(meeting_id, "txt").data.decode("utf-8")
    assert "○議長（高橋一郎君）" in text
    assert "○５番（佐藤花子君）" in text
    assert "○町長（鈴木健二君）" in text
    # a later change of the roster does not alter the meeting's record
    people.update(member.id, seat=6)
    assert "○５番（佐藤花子君）" in services.exports.export(meeting_id, "txt").data.decode("utf-8")
    assert audit_actions(engine).count("speaker_person") == 3


def test_unlink_keeps_the_names_and_conflicts_and_finalized_meetings_are_refused(as_, engine):
    services = as_()
    member = services.people.add("佐藤花子", seat=5)
    meeting_id = _council(engine)
    speaker = services.speakers.speakers(meeting_id)[1]
    linked = services.speakers.link_person(speaker.id, member.id)
    with pytest.raises(EditConflict):
        services.speakers.link_person(speaker.id, None, expected=speaker)  # as seen before the link
    unlinked = services.speakers.link_person(speaker.id, None, expected=linked)
    assert (unlinked.person_id, unlinked.person_confirmed, unlinked.name, unlinked.seat) == (None, False, "佐藤花子", 5)
    # renaming a linked speaker by hand ends the link: it is somebody else now
    linked = services.speakers.link_person(speaker.id, member.id)
    renamed = services.speakers.update_speaker(speaker.id, expected=linked, name="山田太郎")
    assert renamed.person_id is None
    with pytest.raises(PermissionDenied):
        as_("閲覧", Role.VIEWER).speakers.link_person(speaker.id, member.id)
    services.details.finalize(meeting_id, expected_version=1)
    with pytest.raises(FinalizedError):
        services.speakers.link_person(speaker.id, member.id)


# ---------------------------------------------------------------- the header's lists from the roster


def test_header_roster_on_the_meetings_date(as_, engine):
    people = as_().people
    people.add("佐藤花子", seat=5)
    people.add("高橋一郎", seat=10, titles=[("議長", "2023/05/01", None)])
    people.add("山田太郎", seat=1, titles=[("議長", "2019/05/01", "2023/04/30")])
    people.add("鈴木健二", kind="説明員", titles=[("町長", "2023/04/01", None)])
    people.add("田中次郎", kind="説明員", titles=[("総務課長", "2020/04/01", "2024/03/31")])  # not in office then
    people.add("大野秀樹", kind="職員", titles=[("議会事務局長", None, None)])
    gone = people.add("木村三郎", seat=7)
    people.retire(gone.id)
    roster = people.header_roster(_council(engine))
    assert roster.day == DAY
    assert [(p.seat, p.name, p.role) for p in roster.attendees] == [
        (1, "山田太郎", ""), (5, "佐藤花子", ""), (10, "高橋一郎", "議長"),
    ]  # fmt: skip
    assert [(p.name, p.role) for p in roster.explainers] == [("鈴木健二", "町長")]
    assert [(p.name, p.role) for p in roster.staff] == [("大野秀樹", "議会事務局長")]


# ---------------------------------------------------------------- CSV

ROSTER = (
    "氏名,よみ,区分,議席番号,会派,職名,就任日,退任日,状態\r\n"
    "高橋一郎,たかはしいちろう,議員,10,みらい会,議長,2023/05/01,,\r\n"
    "佐藤花子,さとうはなこ,議員,５,,,,,\r\n"
    "鈴木健二,すずきけんじ,説明員,,,町長,令和5年4月1日,,\r\n"
    "田中次郎,たなかじろう,説明員,,,総務課長,2023/04/01,2024/03/31,\r\n"
    "田中次郎,,,,,企画課長,R6.4.1,,\r\n"
)


def test_import_with_a_bom_and_again_changes_nothing(as_, engine):
    people = as_().people
    report = people.import_csv(("\ufeff" + ROSTER).encode("utf-8"))
    assert report.added == ("高橋一郎", "佐藤花子", "鈴木健二", "田中次郎") and report.titles_added == 4
    tanaka = people.find("田中次郎")
    assert tanaka.title_on(dt.date(2024, 1, 1)) == "総務課長" and tanaka.title_on(dt.date(2024, 4, 1)) == "企画課長"
    assert people.find("佐藤花子").seat == 5
    events = len(audit_actions(engine))
    again = people.import_csv(ROSTER.encode("cp932"))  # Excel's 「CSV」 on Japanese Windows
    assert again.added == () and again.updated == () and len(again.unchanged) == 4
    assert len(audit_actions(engine)) == events
    # a changed 退任日 updates the title rather than adding one
    changed = people.import_csv(ROSTER.replace("町長,令和5年4月1日,,", "町長,令和5年4月1日,2027/03/31,").encode())
    assert changed.updated == ("鈴木健二",) and changed.titles_updated == 1
    assert [(t.title, t.ends) for t in people.find("鈴木健二").titles] == [("町長", dt.date(2027, 3, 31))]


def test_export_reimports_as_it_is(as_):
    people = as_().people
    people.import_csv(ROSTER.encode())
    people.retire(people.find("田中次郎").id)
    exported = people.export_csv()
    assert exported.startswith("\ufeff氏名,よみ,区分,議席番号,会派,職名,就任日,退任日,状態".encode())
    before = people.people(include_retired=True)
    report = people.import_csv(exported)
    assert report.added == () and report.updated == ()
    assert people.people(include_retired=True) == before


def test_bad_rows_are_all_reported_and_nothing_is_imported(as_, engine):
    people = as_().people
    people.add("木村三郎", seat=7)
    bad = (
        "氏名,区分,議席番号,職名,就任日,退任日\n"
        "山田太郎,議員,3,,,\n"
        ",議員,4,,,\n"
        "佐藤花子,町長,5,,,\n"
        "高橋一郎,議員,千,,,\n"
        "鈴木健二,説明員,,町長,2023/13/01,\n"
        "田中次郎,説明員,,,2023/04/01,\n"
        "大野秀樹,議員,7,,,\n"
    )
    preview = people.preview_csv(bad.encode())
    assert preview.problems == (
        "3 行目: 氏名がありません。",
        "4 行目: 区分「町長」は 議員・説明員・職員・その他 のどれかにしてください。",
        "5 行目: 議席番号「千」は 1〜999 の整数で入力してください。",
        "6 行目: 就任日: 日付「2023/13/01」を読み取れません。"
        "2024/09/10、20240910、令和6年9月10日 のように入力してください。",
        "7 行目: 就任日・退任日があるのに職名がありません。",
        "8 行目: 議席番号 7 が 木村三郎・大野秀樹 の 2 人以上になります。",
    )
    with pytest.raises(InputError, match="6 件の問題があるため、何も取り込みませんでした") as error:
        people.import_csv(bad.encode())
    assert "- 4 行目: 区分「町長」" in error.value.message
    assert [p.name for p in people.people()] == ["木村三郎"]
    assert audit_actions(engine) == ["person_add"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("名前,よみ\n高橋一郎,たかはし\n".encode(), "「氏名」の列がありません"),
        ("氏名,議席\n高橋一郎,10\n".encode(), "「議席」は名簿の列ではありません"),
        ("氏名\n".encode(), "名簿の行がありません"),
        (b"\x81\xff\xfe\x00", "文字コードを読み取れません"),
        ("氏名,議席番号\n高橋一郎,10\n高橋一郎,11\n".encode(), "3 行目: 「高橋一郎」の議席番号が 2 行目と違います"),
    ],
)
def test_unreadable_files_say_why(as_, data, message):
    with pytest.raises(InputError, match=message):
        as_().people.import_csv(data)
