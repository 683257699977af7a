"""Engine creation and schema migrations (Alembic, from the first version)."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlmodel import create_engine

from minutes.redact import protect_sql_logs

MIGRATIONS = Path(__file__).with_name("migrations")
WRITE_LOCK_KEY = 0x6D696E75  # "minu": the advisory lock that stands for SQLite's write lock on PostgreSQL
AUDIT_HEAD_KEY = 0x6D696E76  # the audit trail's head, under meeting locks (see chain_lock)
MIGRATION_LOCK_KEY = 0x6D696E77  # one process migrates at a time (see migrate)
PROPOSALS_LOCK_KEY = 0x6D696E78  # with an organisation's id: its correction proposals (corrections.lock_proposals)
_MEETING_LOCKED = "minutes_meeting_lock"  # connection.info: (transaction, meeting id, shared) of a meeting lock


DEFAULT_POOL_SIZE = 20


def make_engine(url: str, pool_size: int = DEFAULT_POOL_SIZE) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a generous busy timeout (several processes share it);
    PostgreSQL (``postgresql+psycopg://…``) sessions run in UTC.

    The process keeps at most ``pool_size`` connections (``MINUTES_DATABASE_POOL_SIZE``), opened as needed and kept
    open; a service call that finds them all in use waits up to 30 s for one. Threads waiting for a connection are not
    served in turn (a newcomer may take one returned while others wait), so under sustained demand above the pool
    one of them can wait out the 30 s: size it for the clerks who work at once (README, Shared installation)."""
    protect_sql_logs()
    pool = {"pool_size": pool_size, "max_overflow": 0}
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: SQL logs and errors never carry transcript text or password hashes
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True, **pool
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    if url.startswith("postgresql"):
        # UTC sessions: a meeting's day (date(held_at)) is the same as SQLite's, which stores UTC text
        return create_engine(
            url, pool_pre_ping=True, hide_parameters=True, connect_args={"options": "-c TimeZone=UTC"}, **pool
        )
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, **pool)


def alembic_config(engine: Engine):
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # configparser interpolates "%": a percent-encoded password or socket path must be doubled
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (creates it in an empty database). One process at a time: the app,
    a worker and a command started together on a new database would each create the tables (and all but one fail on
    "table already exists"); the others wait, then find the schema current."""
    with _migration_lock(engine) as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection  # PostgreSQL: the locked one (a pool of 1 has no second)
        command.upgrade(config, "head")


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection | None]:
    """Held across processes while migrating: a lock file beside a SQLite database (its own DDL does not wait for
    other writers), a session-level advisory lock on PostgreSQL, on the connection it yields for the migrations."""
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        with open(f"{engine.url.database}.migrate-lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield None
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    if engine.dialect.name != "postgresql":
        yield None
        return
    with engine.connect() as connection:
        connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")
        connection.commit()
        try:
            yield connection
        finally:
            connection.rollback()  # whatever a failed migration left open
            connection.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")
            connection.commit()


def known_revisions() -> list[str]:
    """The schema versions this software knows, oldest first (``0001`` … the newest migration)."""
    script = ScriptDirectory(str(MIGRATIONS))
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


def write_lock(connection: Connection) -> None:
    """Make the transaction of ``connection`` hold the database's write lock from now on (SQLite: ``BEGIN
    IMMEDIATE`` unless a write already began it), so that what it reads next stays current until it commits: no
    other writer can come in between (the audit trail's hash chain, finalize's re-check). Waits up to the busy
    timeout for another writer to finish. PostgreSQL: a transaction-level advisory lock that every caller of this
    function takes (held until commit or rollback); under READ COMMITTED each later statement then sees what the
    previous holder committed. It also waits for every transaction holding a :func:`meeting_lock`, and they for it."""
    if connection.dialect.name == "postgresql":
        if _meeting_lock_held(connection) is not None:
            # shared → exclusive while others hold it shared: two such transactions would wait for each other
            raise RuntimeError("write_lock after meeting_lock in one transaction: take write_lock first")
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
        return
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def meeting_lock(connection: Connection, meeting_id: int, *, shared: bool = False) -> None:
    """Like :func:`write_lock` for a change within one meeting's transcript: what the transaction reads of that
    meeting from now on stays current until it commits. On SQLite this is the write lock.

    On PostgreSQL clerks of different meetings do not wait for each other: the write lock is taken shared (every
    :func:`write_lock` holder still excludes them, and they it) and the meeting's own advisory lock exclusively (a
    split, merge or replace) or ``shared`` (a change of one utterance, which then locks that row: clerks saving
    different lines of one meeting do not wait for each other either). The audit trail's head is locked only for the
    append (:func:`chain_lock`). Lock order: the write lock, the meeting, its rows, the organisation's correction
    proposals, the meeting's row, the audit trail's head; after this, the transaction must not call
    :func:`write_lock` or ask for the meeting exclusively."""
    if connection.dialect.name != "postgresql":
        write_lock(connection)
        return
    mark = connection.info.get(_MEETING_LOCKED)
    if _meeting_lock_held(connection) is not None:
        if mark[1] != meeting_id:
            raise RuntimeError("meeting_lock: one meeting per transaction")
        if mark[2] and not shared:  # two transactions would each wait for the other's shared lock
            raise RuntimeError("meeting_lock: shared, then exclusive in one transaction: take it exclusively first")
        return
    how = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock_shared({WRITE_LOCK_KEY})")
    connection.exec_driver_sql(f"SELECT {how}({WRITE_LOCK_KEY}, {int(meeting_id)})")
    connection.info[_MEETING_LOCKED] = (connection.get_transaction(), meeting_id, shared)


def chain_lock(connection: Connection) -> None:
    """Hold the audit trail's head until the transaction ends, so that two appends never fork the hash chain: the
    write lock, or under a :func:`meeting_lock` (which already excludes every write-lock holder) the head's own
    advisory lock, held only from the append to the commit."""
    if connection.dialect.name == "postgresql" and _meeting_lock_held(connection) is not None:
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({AUDIT_HEAD_KEY})")
        return
    write_lock(connection)


def _meeting_lock_held(connection: Connection) -> bool | None:
    """Whether the current transaction of ``connection`` took a :func:`meeting_lock`: None if not, else whether
    shared (the mark names the transaction, so it lapses at commit or rollback)."""
    mark = connection.info.get(_MEETING_LOCKED)
    transaction = connection.get_transaction()
    if mark is None or transaction is None or mark[0] is not transaction:
        return None
    return mark[2]
