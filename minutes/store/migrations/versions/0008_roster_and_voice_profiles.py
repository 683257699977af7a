"""the assembly's roster (person, persontitle), voice profiles (voicesample), speakers linked to persons

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

``person`` is one person of the roster, ``persontitle`` a title held for a period (議長 from–to), ``voicesample`` one
speaker embedding of a person's voice (never audio). ``speaker`` gains the person it is linked to, the suggested one,
the identification score and whether a clerk confirmed the link; added with plain ALTER TABLE ADD COLUMN, like 0004
(a batch rebuild of ``speaker`` is not needed for nullable columns).
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('yomi', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('seat', sa.Integer(), nullable=True),
    sa.Column('group', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('retired', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_person_name', 'person', ['name'], unique=False)
    op.create_table('persontitle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('starts', sa.Date(), nullable=True),
    sa.Column('ends', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_persontitle_person_id', 'persontitle', ['person_id'], unique=False)
    op.create_table('voicesample',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('embedding', sa.LargeBinary(), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=True),
    sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_voicesample_person_id', 'voicesample', ['person_id'], unique=False)
    _add_person_link('person_id')
    op.add_column('speaker', sa.Column('person_score', sa.Float(), nullable=True))
    _add_person_link('suggested_person_id')
    op.add_column('speaker', sa.Column('person_confirmed', sa.Boolean(), server_default='0', nullable=False))


def _add_person_link(column: str) -> None:
    """A nullable speaker column referring to person. SQLite adds a column with its REFERENCES clause in one ALTER
    TABLE (Alembic would want a batch rebuild for the separate constraint); other databases add both."""
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'ALTER TABLE speaker ADD COLUMN {column} INTEGER REFERENCES person (id) ON DELETE SET NULL')
    else:
        op.add_column('speaker', sa.Column(column, sa.Integer(), nullable=True))
        op.create_foreign_key(f'fk_speaker_{column}', 'speaker', 'person', [column], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('speaker', schema=None) as batch_op:
        batch_op.drop_column('person_confirmed')
        batch_op.drop_column('suggested_person_id')
        batch_op.drop_column('person_score')
        batch_op.drop_column('person_id')
    op.drop_index('ix_voicesample_person_id', table_name='voicesample')
    op.drop_table('voicesample')
    op.drop_index('ix_persontitle_person_id', table_name='persontitle')
    op.drop_table('persontitle')
    op.drop_index('ix_person_name', table_name='person')
    op.drop_table('person')
