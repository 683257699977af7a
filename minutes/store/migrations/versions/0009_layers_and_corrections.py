"""the layers of an utterance (素起こし, ケバ取り beside the 整文 text), correction rules and proposals

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

``utterance`` gains ``raw`` (素起こし) and ``kebatori``, NULL for meetings stored before (read as equal to the text:
nothing to backfill), and ``corrections`` (the rules the draft applied). ``correction`` holds the accepted rules
(誤→正, optionally in a context), ``correctionproposal`` the replacements seen in clerks' edits. The full-text index of
utterances covers the raw layer too where it differs from the text: its triggers are made again.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

PAD = "char(57344, 57344)"  # as in 0003: two U+E000 after every indexed text
_INDEXED = f"new.text || {PAD} || CASE WHEN new.raw IS NULL OR new.raw = new.text THEN '' ELSE new.raw || {PAD} END"
_INDEXED_BEFORE = f"new.text || {PAD}"


def _utterance_triggers(indexed: str, columns: str) -> None:
    for suffix in ("ai", "au"):
        op.execute(f"DROP TRIGGER IF EXISTS utterance_fts_{suffix}")
    op.execute(
        "CREATE TRIGGER utterance_fts_ai AFTER INSERT ON utterance BEGIN "
        f"INSERT INTO utterance_fts(rowid, text) VALUES (new.id, {indexed}); END"
    )
    op.execute(
        f"CREATE TRIGGER utterance_fts_au AFTER UPDATE OF {columns} ON utterance BEGIN "
        "DELETE FROM utterance_fts WHERE rowid = old.id; "
        f"INSERT INTO utterance_fts(rowid, text) VALUES (new.id, {indexed}); END"
    )


def upgrade() -> None:
    op.add_column('utterance', sa.Column('raw', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.add_column('utterance', sa.Column('kebatori', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.add_column('utterance', sa.Column('corrections', sa.JSON(), server_default='[]', nullable=False))
    op.create_table('correction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wrong', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('right', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('context', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('wrong', 'right', 'context')
    )
    op.create_table('correctionproposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wrong', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('right', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('places', sa.JSON(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('wrong', 'right')
    )
    if op.get_bind().dialect.name == "sqlite":
        _utterance_triggers(_INDEXED, "id, text, raw")
    else:  # PostgreSQL: the raw layer gets its own trigram index beside the text's (0003)
        op.execute("CREATE INDEX ix_utterance_raw_trgm ON utterance USING gin (raw gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _utterance_triggers(_INDEXED_BEFORE, "id, text")
    else:
        op.execute("DROP INDEX IF EXISTS ix_utterance_raw_trgm")
    op.drop_table('correctionproposal')
    op.drop_table('correction')
    with op.batch_alter_table('utterance', schema=None) as batch_op:
        batch_op.drop_column('corrections')
        batch_op.drop_column('kebatori')
        batch_op.drop_column('raw')
