"""The audit trail's hash chain (issue 16 D): every event carries the previous event's hash and its own, a deleted or
changed event is found by ``minutes audit verify`` (and ``AuditService.verify``), concurrent writers never fork the
chain, and migration 0006 chains the events already there."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy
from alembic import command
from sqlmodel import Session, col, select

from minutes.cli import main
from minutes.errors import PermissionDenied
from minutes.services import Principal, Role, Services
from minutes.settings import Settings
from minutes.store import audit
from minutes.store.engine import alembic_config, make_engine, migrate
from minutes.store.tables import AuditEvent

pytestmark = pytest.mark.both_backends  # on SQLite and on PostgreSQL (tests/conftest.py)


def _record(engine, count: int, actor: str = "佐藤") -> None:
    with Session(engine) as session:
        for number in range(count):
            audit.record(
                session, actor=actor, action="login", target_type="user", target_id=number, after={"n": number}
            )
        session.commit()


def _report(engine) -> audit.ChainReport:
    with Session(engine) as session:
        return audit.verify(session)


def _tamper(engine, statement: str) -> None:
    """What anyone holding the database file (or PostgreSQL's superuser) can do: drop the append-only triggers and
    change rows."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE auditevent DISABLE TRIGGER USER")
            connection.exec_driver_sql(statement)
        return
    path = engine.url.database
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TRIGGER IF EXISTS auditevent_no_update")
        connection.execute("DROP TRIGGER IF EXISTS auditevent_no_delete")
        connection.execute(statement)


def test_every_event_is_chained_to_the_one_before(engine):
    _record(engine, 3)
    with Session(engine) as session:
        session.add(AuditEvent(actor="x", actor_kind="app", action="noop"))  # never this way: shows as unchained
        events = list(session.exec(select(AuditEvent).order_by(col(AuditEvent.id))))[:3]
    assert events[0].prev_hash == "" and all(len(e.hash) == 64 for e in events)
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    report = _report(engine)
    assert report.ok and report.events == 3 and report.last_id == 3 and report.last_hash == events[-1].hash


def test_a_deleted_event_is_the_first_broken_link(engine):
    _record(engine, 5)
    _tamper(engine, "DELETE FROM auditevent WHERE id = 3")
    report = _report(engine)
    assert not report.ok and report.broken.event_id == 4 and report.broken.kind == "deleted"
    assert "id 3 が削除されています" in report.broken.message and report.events == 2


def test_a_changed_event_and_a_cut_off_beginning_show(engine):
    _record(engine, 4)
    _tamper(engine, "UPDATE auditevent SET actor = '別人' WHERE id = 2")
    report = _report(engine)
    assert (report.broken.event_id, report.broken.kind) == (2, "changed")
    assert "id 2 の内容が記録時から変更されています" in report.broken.message


def test_the_first_events_deleted_show(engine):
    _record(engine, 4)
    _tamper(engine, "DELETE FROM auditevent WHERE id <= 2")
    report = _report(engine)
    assert (report.broken.event_id, report.broken.kind) == (3, "deleted_first")


def test_an_event_inserted_outside_the_chain_shows(engine):
    _record(engine, 2)
    _tamper(
        engine,
        "INSERT INTO auditevent (at, actor, actor_kind, action, target_type, target_id) "
        "VALUES ('2026-01-01 00:00:00.000000', '誰か', 'app', 'login', 'user', '1')",
    )
    _record(engine, 1)
    report = _report(engine)
    assert (report.broken.event_id, report.broken.kind) == (3, "unchained")


def test_cli_audit_verify_says_ok_or_names_the_first_broken_link(engine, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINUTES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MINUTES_DATABASE_URL", str(engine.url))
    _record(engine, 3)
    assert main(["audit", "verify"]) == 0
    assert "検証OK: 監査ログ 3 件" in capsys.readouterr().out
    _tamper(engine, "DELETE FROM auditevent WHERE id = 2")
    assert main(["audit", "verify"]) == 1
    captured = capsys.readouterr()
    assert "検証NG" in captured.out and "id 3" in captured.out
    assert captured.err.startswith("エラー: 監査ログの id 2 が削除されています")


def test_only_those_who_may_view_the_audit_log_verify_it(engine, tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    clerk = Principal(id=2, name="佐藤", role=Role.CLERK)
    with pytest.raises(PermissionDenied):
        Services.for_user(engine, settings, clerk).audit.verify()
    assert Services.for_user(engine, settings, Principal.operator("root")).audit.verify().ok


def test_concurrent_writers_never_fork_the_chain(tmp_path, database_url):
    """Several processes' worth of writers (separate engines, threads) appending at once: one straight chain."""
    url = database_url(tmp_path / "minutes.db")
    migrate(make_engine(url))
    engines = [make_engine(url) for _ in range(4)]
    errors: list[BaseException] = []

    def write(engine, actor: str) -> None:
        try:
            for _ in range(15):
                with Session(engine) as session:
                    audit.record(session, actor=actor, action="login", target_type="user", target_id=1)
                    time.sleep(0.001)  # a little work between the read of the last hash and the commit
                    session.commit()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(e, f"利用者{n}")) for n, e in enumerate(engines)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    report = _report(engines[0])
    assert report.ok and report.events == 60
    with Session(engines[0]) as session:
        prevs = [e.prev_hash for e in session.exec(select(AuditEvent))]
    assert len(set(prevs)) == 60  # no two events share a predecessor
    for engine in engines:
        engine.dispose()


def test_record_many_chains_a_large_batch_in_one_insert(engine):
    changes = [(number, {"text": "前"}, {"text": "後"}) for number in range(5000)]
    started = time.perf_counter()
    with Session(engine) as session:
        assert (
            audit.record_many(
                session, actor="佐藤", action="utterance_replace", target_type="utterance", changes=changes
            )
            == 5000
        )
        session.commit()
    elapsed = time.perf_counter() - started
    report = _report(engine)
    assert report.ok and report.events == 5000
    assert elapsed < 5, f"record_many of 5,000 events took {elapsed:.1f} s"


def test_migration_0006_chains_the_events_already_there(tmp_path: Path, database_url):
    engine = make_engine(database_url(tmp_path / "minutes.db", migrated=False))
    command.upgrade(alembic_config(engine), "0005")
    with engine.begin() as connection:
        for number in range(3):
            connection.execute(
                sqlalchemy.text(
                    "INSERT INTO auditevent (at, actor, actor_kind, action, target_type, target_id, before, after, ip) "
                    "VALUES (:at, '佐藤', 'app', 'utterance_edit', 'utterance', :id, :before, :after, '192.0.2.7')"
                ),
                {
                    "at": f"2026-04-0{number + 1} 10:00:00.123456",
                    "id": str(number),
                    "before": '{"text": "前"}',
                    "after": '{"text": "後", "n": 1.5}',
                },
            )
    migrate(engine)
    report = _report(engine)
    assert report.ok and report.events == 3
    _record(engine, 1)  # new events continue the chain
    assert _report(engine).events == 4
    with engine.begin() as connection, pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"):
        connection.execute(sqlalchemy.text("UPDATE auditevent SET actor = 'x'"))  # the triggers are back
    engine.dispose()
