"""the audit trail's hash chain

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

``auditevent.prev_hash`` and ``auditevent.hash``: each event stores the previous event's hash and its own, over its
content and that hash (``minutes.store.audit.chain_hash``), so that a deleted or changed event shows
(``minutes audit verify``). The events already there are chained here, in id order. The append-only triggers of 0004
are dropped for that one UPDATE and made again; the columns are added with plain ALTER TABLE ADD COLUMN (a batch
rebuild would drop the triggers).
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel

from minutes.store.audit import GENESIS, chain_hash


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

NO_UPDATE = (
    "CREATE TRIGGER auditevent_no_update BEFORE UPDATE ON auditevent "
    "BEGIN SELECT RAISE(ABORT, 'auditevent is append-only'); END"
)

NO_UPDATE_POSTGRES = (  # the function is migration 0004's
    "CREATE TRIGGER auditevent_no_update BEFORE UPDATE ON auditevent "
    "FOR EACH ROW EXECUTE FUNCTION auditevent_append_only()"
)

# the columns as 0006 knows them, typed like the table (UTC times, JSON), so the hash sees what the store reads back
EVENTS = sa.table(
    'auditevent',
    sa.column('id', sa.Integer()),
    sa.column('at', sqlmodel.sql.sqltypes.UTCDateTime()),
    sa.column('actor', sa.String()),
    sa.column('actor_kind', sa.String()),
    sa.column('action', sa.String()),
    sa.column('target_type', sa.String()),
    sa.column('target_id', sa.String()),
    sa.column('before', sa.JSON()),
    sa.column('after', sa.JSON()),
    sa.column('ip', sa.String()),
    sa.column('prev_hash', sa.String()),
    sa.column('hash', sa.String()),
)


def upgrade() -> None:
    op.add_column('auditevent', sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.add_column('auditevent', sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    connection = op.get_bind()
    sqlite = connection.dialect.name == "sqlite"
    op.execute("DROP TRIGGER IF EXISTS auditevent_no_update" + ("" if sqlite else " ON auditevent"))
    update = (
        EVENTS.update()
        .where(EVENTS.c.id == sa.bindparam('key'))
        .values(prev_hash=sa.bindparam('prev'), hash=sa.bindparam('digest'))
    )
    prev, last_id = GENESIS, 0
    while True:  # in slices of 5,000, in id order: memory stays flat on a long trail
        rows = connection.execute(
            sa.select(EVENTS).where(EVENTS.c.id > last_id).order_by(EVENTS.c.id).limit(5000)
        ).mappings().all()
        if not rows:
            break
        batch = []
        for row in rows:
            digest = chain_hash(prev, row)
            batch.append({'key': row['id'], 'prev': prev, 'digest': digest})
            prev = digest
        connection.execute(update, batch)
        last_id = rows[-1]['id']
    op.execute(NO_UPDATE if sqlite else NO_UPDATE_POSTGRES)


def downgrade() -> None:
    op.drop_column('auditevent', 'hash')
    op.drop_column('auditevent', 'prev_hash')
