"""Several assemblies (団体) in one installation: two organisations seeded, a clerk of each; nothing crosses over.

The key tests run on SQLite and on PostgreSQL (``both_backends``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy
from alembic import command
from sqlmodel import Session, update

from minutes import store
from minutes.cli import main
from minutes.errors import InputError, NotFoundError, PermissionDenied
from minutes.pipeline import PipelineOptions
from minutes.services import DEFAULT_ORG, Principal, Role, Runtime, Services
from minutes.services.corrections import with_cleanup
from minutes.services.dictionary import recognition_terms
from minutes.services.search import SearchQuery
from minutes.store.engine import alembic_config, make_engine, migrate
from minutes.store.tables import Job, JobStatus
from tests.seeding import seed_transcript

PASSWORD = "correct horse battery"
EAST = "東町議会"


class Towns:
    """The default organisation (西: id 1) and 東町議会, each with a clerk and a meeting about 補正予算."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        root = runtime.operator("root", DEFAULT_ORG)
        self.east_id = root.organizations.add(EAST, admin="東管理", password=PASSWORD).id
        self.west_clerk = root.accounts.create_user("西書記", Role.CLERK, PASSWORD)
        self.east_admin = self._user("東管理")
        self.east_clerk = runtime.services(self.east_admin).accounts.create_user("東書記", Role.CLERK, PASSWORD)
        engine = runtime.engine
        self.west_meeting = seed_transcript(
            engine, title="西町 本会議", kind="本会議", lines=[("A", "補正予算について西町から質問します")]
        )
        self.east_meeting = seed_transcript(
            engine,
            title="東町 委員会",
            kind="常任委員会",
            lines=[("A", "補正予算について東町から説明します")],
            org_id=self.east_id,
        )

    def _user(self, name: str) -> Principal:
        return self.runtime.sign_in.authenticate(name, PASSWORD)

    @property
    def west(self) -> Services:
        return self.runtime.services(self.west_clerk)

    @property
    def east(self) -> Services:
        return self.runtime.services(self.east_clerk)


@pytest.fixture
def towns(runtime) -> Towns:
    return Towns(runtime)


# ---------------------------------------------------------------- meetings, search, exports, archives, jobs


@pytest.mark.both_backends
def test_each_clerk_lists_and_searches_only_their_own_meetings(towns):
    assert [m.id for m in towns.west.meetings.meetings()] == [towns.west_meeting]
    assert [m.id for m in towns.east.meetings.meetings()] == [towns.east_meeting]
    for services, own in ((towns.west, towns.west_meeting), (towns.east, towns.east_meeting)):
        for word in ("補正予算", "質問", "説明", "町"):  # long words (the index) and 1–2 characters (a scan)
            hits = services.search.search(SearchQuery(word)).utterances
            assert {h.meeting_id for h in hits} <= {own}
        assert {h.meeting_id for h in services.search.search(SearchQuery("補正予算")).utterances} == {own}
    assert towns.west.search.search(SearchQuery("説明")).utterances == ()  # only the east meeting says it
    assert towns.west.search.kinds() == ["本会議"] and towns.east.search.kinds() == ["常任委員会"]
    with pytest.raises(NotFoundError):
        towns.west.search.search(SearchQuery("補正予算", meeting_id=towns.east_meeting))


@pytest.mark.both_backends
def test_another_organisations_meeting_is_not_there(towns):
    """Reading, editing, exporting (open data too) and jobs: the same answer as a meeting that does not exist."""
    east, west = towns.east_meeting, towns.west_meeting
    line = towns.east.transcript.page(east).lines[0]
    for call in (
        lambda: towns.west.details.meeting(east),
        lambda: towns.west.transcript.page(east),
        lambda: towns.west.transcript.line(line.id),
        lambda: towns.west.transcript.edit_text(line.id, text="書き換え", expected_version=line.version),
        lambda: towns.west.exports.export(east, "docx"),
        lambda: towns.west.exports.export(east, "json"),
        lambda: towns.west.exports.export(east, "csv"),
        lambda: towns.west.materials.list(east),
        lambda: towns.west.search.locate(line.id),
    ):
        with pytest.raises(NotFoundError, match="見つかりません"):
            call()
    assert towns.east.exports.export(east, "json").data  # the owner exports it
    assert towns.west.exports.export(west, "json").data
    with Session(towns.runtime.engine) as session:
        job_id = store.latest_job(session, meeting_id=east).id
    for call in (
        lambda: towns.west.meetings.job(job_id),
        lambda: towns.west.meetings.retry_job(job_id),
        lambda: towns.west.meetings.cancel_job(job_id),
    ):
        with pytest.raises(NotFoundError):
            call()
    assert towns.east.meetings.job(job_id).id == job_id
    with pytest.raises(InputError, match="この団体の利用者だけ"):  # a closed meeting's members: its own users
        towns.east.details.set_access(east, closed=True, members=[towns.west_clerk.id])


@pytest.mark.both_backends
def test_archives_never_cross_organisations(towns):
    east = towns.east_meeting
    towns.east.details.finalize(east, expected_version=1)
    [archive] = towns.east.archive.list(east)
    assert towns.east.archive.verify(archive.path).ok
    for call in (
        lambda: towns.west.archive.list(east),
        lambda: towns.west.archive.verify(archive.path),
        lambda: towns.west.archive.zip_bytes(archive.path),
        # the operating-system user acting within the default organisation, too
        lambda: towns.runtime.operator("root", DEFAULT_ORG).archive.verify(archive.path),
    ):
        with pytest.raises(NotFoundError):
            call()


@pytest.mark.both_backends
def test_audit_is_viewed_and_verified_per_organisation(towns):
    west_admin = towns.runtime.operator("root", DEFAULT_ORG)
    east_admin = towns.runtime.services(towns._user("東管理"))
    towns.east.transcript.edit_text(
        towns.east.transcript.page(towns.east_meeting).lines[0].id, text="補正予算の説明です", expected_version=1
    )
    west_events, east_events = west_admin.audit.events(), east_admin.audit.events()
    assert {e.action for e in east_events} >= {"user_add", "utterance_edit"}
    assert "utterance_edit" not in {e.action for e in west_events}
    assert "org_add" in {e.action for e in west_events}  # the installation administrator's own organisation
    assert {e.target_id for e in east_events if e.action == "user_add"} == {
        str(towns.east_admin.id),
        str(towns.east_clerk.id),
    }
    assert not {e.id for e in west_events} & {e.id for e in east_events}
    west_report, east_report = west_admin.audit.verify(), east_admin.audit.verify()
    assert west_report.ok and east_report.ok
    assert (west_report.events, east_report.events) == (len(west_events), len(east_events))
    assert east_report.last_id == east_events[-1].id


@pytest.mark.both_backends
def test_the_jobs_list_and_the_workers_jobs_are_per_organisation(towns):
    """The worker processes are the installation's; the jobs they run are shown only to their organisation."""
    engine = towns.runtime.engine
    with Session(engine) as session:
        jobs = {m: store.latest_job(session, meeting_id=m).id for m in (towns.west_meeting, towns.east_meeting)}
        session.exec(update(Job).values(status=JobStatus.QUEUED))
        store.beat_worker(session, name="w:4242:x", host="w", pid=4242, mode="celery", queues="cpu", concurrency=2)
        session.commit()
    for job_id in jobs.values():
        assert store.claim_job(engine, job_id=job_id, worker_id="w:4242:x")
    west_admin = towns.runtime.operator("root", DEFAULT_ORG)
    east_admin = towns.runtime.services(towns.east_admin)
    for services, own in ((west_admin, jobs[towns.west_meeting]), (east_admin, jobs[towns.east_meeting])):
        assert [j.id for j in services.operations.jobs()] == [own]
        [worker] = services.operations.workers()
        assert worker.running_jobs == (own,)


# ---------------------------------------------------------------- roster, dictionary, rules, users, settings, jobs


@pytest.mark.both_backends
def test_roster_dictionary_and_rules_belong_to_one_organisation(towns):
    for services in (towns.west, towns.east):  # the same name and word in both: no clash
        services.people.add("高橋一郎", kind="議員", seat=1)
        services.dictionary.add("町営バス", kind="事業")
    towns.east.dictionary.add("東循環線", kind="事業")
    towns.east.corrections.add("長栄バス", "町営バス")
    assert [p.name for p in towns.west.people.people()] == ["高橋一郎"]
    assert [t.text for t in towns.west.dictionary.terms()] == ["町営バス"]
    assert towns.west.corrections.rules() == [] and len(towns.east.corrections.rules()) == 1
    east_person = towns.east.people.find("高橋一郎").id
    east_term = next(t.id for t in towns.east.dictionary.terms() if t.text == "東循環線")
    for call in (
        lambda: towns.west.people.person(east_person),
        lambda: towns.west.people.update(east_person, group="無所属"),
        lambda: towns.west.voices.profile(east_person),
        lambda: towns.west.dictionary.delete(east_term),
        lambda: towns.west.corrections.delete(towns.east.corrections.rules()[0].id),
    ):
        with pytest.raises(NotFoundError):
            call()
    with Session(towns.runtime.engine) as session:  # what a job of each organisation is given
        east_terms = {t.text for t in recognition_terms(session, org_id=towns.east_id, builtin=False)}
        west_terms = {t.text for t in recognition_terms(session, org_id=DEFAULT_ORG, builtin=False)}
        east_rules = with_cleanup(session, towns.runtime.settings, PipelineOptions(), towns.east_id).cleanup.rules
        west_rules = with_cleanup(session, towns.runtime.settings, PipelineOptions(), DEFAULT_ORG).cleanup.rules
    assert east_terms == {"町営バス", "東循環線", "高橋一郎"} and west_terms == {"町営バス", "高橋一郎"}
    assert [(r.wrong, r.right) for r in east_rules] == [("長栄バス", "町営バス")] and west_rules == ()


def test_users_and_settings_are_per_organisation(towns):
    east_admin = towns.runtime.services(towns._user("東管理"))
    assert {u.name for u in east_admin.accounts.users()} == {"東管理", "東書記"}
    with pytest.raises(InputError, match="見つかりません"):
        east_admin.accounts.update_user(towns.west_clerk.id, active=False)
    with pytest.raises(PermissionDenied, match="全体管理者"):
        east_admin.accounts.create_user("東の全体", Role.INSTALLATION_ADMIN, PASSWORD)
    assert Role.INSTALLATION_ADMIN not in east_admin.accounts.roles()
    east_admin.admin.update({"fillers": "ほら"})
    assert towns.runtime.settings_for(towns.east_id).fillers == "ほら"
    assert towns.runtime.settings_for(DEFAULT_ORG).fillers != "ほら"
    assert towns.runtime.services(towns.east_clerk).settings.fillers == "ほら"


def test_the_installation_administrator_creates_organisations_and_no_one_else(towns):
    with pytest.raises(PermissionDenied, match="団体の管理"):
        towns.runtime.services(towns._user("東管理")).organizations.organizations()
    root = towns.runtime.operator("root", DEFAULT_ORG)
    boss = root.accounts.create_user("全体", Role.INSTALLATION_ADMIN, PASSWORD)
    services = towns.runtime.services(boss)
    with pytest.raises(InputError, match="すでにあります"):
        services.organizations.add(EAST, admin="別の人", password=PASSWORD)
    with pytest.raises(InputError, match="すでに登録"):  # the administrator's name is taken: no organisation either
        services.organizations.add("北町議会", admin="東書記", password=PASSWORD)
    north = services.organizations.add("北町議会", admin="北管理", password=PASSWORD)
    listed = {(o.name, o.meetings, o.users) for o in services.organizations.organizations()}
    assert listed == {("既定の団体", 1, 2), (EAST, 1, 2), ("北町議会", 0, 1)}
    first = towns._user("北管理")
    assert (first.org_id, first.role, first.must_change_password) == (north.id, Role.ADMIN, True)
    assert towns.runtime.services(first).meetings.meetings() == []


# ---------------------------------------------------------------- the command line


def test_the_command_line_acts_within_the_chosen_organisation(runtime, monkeypatch, capsys):
    monkeypatch.setenv("MINUTES_DATA_DIR", str(runtime.base_settings.data_dir))
    monkeypatch.setenv("MINUTES_DATABASE_URL", runtime.base_settings.database_url)
    monkeypatch.delenv("MINUTES_ORG", raising=False)
    assert main(["user", "list"]) == 0  # one organisation: no flag needed
    monkeypatch.setattr("sys.stdin", _Lines(PASSWORD))
    assert main(["orgs", "add", EAST, "--admin", "東管理"]) == 0
    assert main(["orgs", "list"]) == 0
    assert f"2\t{EAST}\t会議 0\t利用者 1" in capsys.readouterr().out
    assert main(["user", "list"]) == 2
    assert "団体が複数あります。--org または MINUTES_ORG で団体を指定してください" in capsys.readouterr().err
    assert main(["user", "list", "--org", EAST]) == 0
    assert "東管理" in capsys.readouterr().out
    assert main(["--org", "1", "user", "list"]) == 0
    assert "東管理" not in capsys.readouterr().out
    monkeypatch.setenv("MINUTES_ORG", "2")
    assert main(["user", "list"]) == 0
    assert "東管理" in capsys.readouterr().out
    assert main(["user", "list", "--org", "南町"]) == 2
    assert "団体「南町」はありません" in capsys.readouterr().err


class _Lines:
    def __init__(self, *lines: str) -> None:
        self.lines = list(lines)

    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        return self.lines.pop(0) + "\n"


# ---------------------------------------------------------------- the migration


@pytest.mark.both_backends
def test_migration_0013_moves_an_existing_database_into_the_default_organisation(tmp_path: Path, database_url):
    engine = make_engine(database_url(tmp_path / "minutes.db", migrated=False))
    command.upgrade(alembic_config(engine), "0011")
    statements = (
        "INSERT INTO meeting (title, kind, place, language, created_at, updated_at, version, edit_version, details, "
        "closed) VALUES ('本会議', '', '', 'ja', '2026-04-01 10:00:00', '2026-04-01 10:00:00', 1, 1, '{}', FALSE)",
        "INSERT INTO dictionaryterm (text, reading, kind, created_by, created_at, updated_by, updated_at) "
        "VALUES ('町営バス', '', 'その他', '佐藤', '2026-04-01 10:00:00', '佐藤', '2026-04-01 10:00:00')",
        "INSERT INTO appsetting (key, value, updated_by, updated_at) "
        "VALUES ('fillers', '{\"value\": \"ほら\"}', '佐藤', '2026-04-01 10:00:00')",
    )
    event = {"id": 1, "at": dt.datetime(2026, 4, 1, 10, tzinfo=dt.UTC), "actor": "佐藤", "actor_kind": "app"}
    event |= {"action": "login", "target_type": "user", "target_id": "1", "before": None, "after": None, "ip": None}
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(sqlalchemy.text(statement))
        connection.execute(  # an event chained as 0011 wrote them (no organisation)
            sqlalchemy.text(
                "INSERT INTO auditevent (id, at, actor, actor_kind, action, target_type, target_id, prev_hash, hash) "
                "VALUES (1, '2026-04-01 10:00:00.000000', '佐藤', 'app', 'login', 'user', '1', '', :hash)"
            ),
            {"hash": store.audit.chain_hash("", event)},
        )
    migrate(engine)
    with engine.connect() as connection:
        for table in ("meeting", "dictionaryterm", "appsetting", "auditevent"):
            assert connection.execute(sqlalchemy.text(f"SELECT org_id FROM {table}")).scalars().all() == [1]
    with Session(engine) as session:
        assert [o.name for o in store.organizations(session)] == ["既定の団体"]
        assert store.app_settings(session, org_id=DEFAULT_ORG) == {"fillers": "ほら"}
        assert store.audit.verify(session).ok
        store.add_organization(session, name=EAST, created_by="root")  # the id sequence moved past the default
        session.commit()
        assert [o.id for o in store.organizations(session)] == [1, 2]
    engine.dispose()


@pytest.mark.both_backends
def test_a_break_in_another_organisations_events_is_told_without_them(towns):
    from tests.test_audit_chain import _tamper

    east_admin = towns.runtime.services(towns._user("東管理"))
    east_ids = [e.id for e in east_admin.audit.events()]
    _tamper(towns.runtime.engine, f"UPDATE auditevent SET actor = '改ざん' WHERE id = {east_ids[-1]}")
    west = towns.runtime.operator("root", DEFAULT_ORG).audit.verify()
    assert not west.ok and west.broken.kind == "elsewhere" and "ほかの団体" in west.broken.message
    assert str(east_ids[-1]) not in west.broken.message
    east = east_admin.audit.verify()
    assert not east.ok and east.broken.kind == "changed" and f"id {east_ids[-1]}" in east.broken.message
