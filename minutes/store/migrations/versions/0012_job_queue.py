"""the distributed job queue

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29

``job.queue`` and ``job.dispatched_at`` (with MINUTES_QUEUE_URL: the Celery queue a job's message went to and when;
NULL while not yet sent) and ``workerprocess`` (each worker process's heartbeat and queues).
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('job') as batch:
        batch.add_column(sa.Column('queue', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch.add_column(sa.Column('dispatched_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.create_table('workerprocess',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('host', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('mode', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('queues', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('concurrency', sa.Integer(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('heartbeat_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('stopped_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('workerprocess')
    with op.batch_alter_table('job') as batch:
        batch.drop_column('dispatched_at')
        batch.drop_column('queue')
