"""Alembic environment: runs on the engine handed over in ``config.attributes`` (or the configured URL)."""

from alembic import context
from sqlmodel import SQLModel, create_engine

import minutes.store.live_tables
import minutes.store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """The full-text search tables (FTS5 and their shadow tables) are made by hand in migration 0003."""
    return not (type_ == "table" and name.startswith(("utterance_fts", "materialtext_fts")))


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        include_object=include_object,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode rebuilds tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


given = config.attributes.get("connection")  # minutes.store.engine.migrate's, which holds the migration lock
if given is not None:
    with given.begin():
        run(given)
else:
    with engine.begin() as connection:
        run(connection)
