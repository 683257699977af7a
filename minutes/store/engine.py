"""Engine creation and schema migrations (Alembic, from the first version)."""

from __future__ import annotations

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


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a generous busy timeout (several processes share it);
    PostgreSQL (``postgresql+psycopg://…``) sessions run in UTC."""
    protect_sql_logs()
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: SQL logs and errors never carry transcript text or password hashes
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True)

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
        return create_engine(url, pool_pre_ping=True, hide_parameters=True, connect_args={"options": "-c TimeZone=UTC"})
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def alembic_config(engine: Engine):
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # configparser interpolates "%": a percent-encoded password or socket path must be doubled
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (creates it in an empty database)."""
    command.upgrade(alembic_config(engine), "head")


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
    previous holder committed."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
        return
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
