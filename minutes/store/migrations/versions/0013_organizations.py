"""organisations (団体): several assemblies in one installation

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29

``organization`` with the default one (id 1, 「既定の団体」); ``org_id`` on the tables whose rows belong to one
(meeting, user, person, dictionaryterm, correction, correctionproposal, appsetting, auditevent), filled with 1 by the
column's default, so an existing database moves into the default organisation without an UPDATE (the audit trail's
triggers refuse UPDATE). The unique words of the dictionary and the correction rules become unique per organisation;
a setting is keyed by (org_id, key). Everything else belongs to an organisation through its meeting or person.
"""

from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

OWNED = ('meeting', 'user', 'person', 'dictionaryterm', 'correction', 'correctionproposal')
# (table, the unique constraint before, after: name and columns)
UNIQUE = (
    ('dictionaryterm', ('text',), 'uq_dictionaryterm_org_text', ('org_id', 'text')),
    ('correction', ('wrong', 'right', 'context'), 'uq_correction_org_rule', ('org_id', 'wrong', 'right', 'context')),
    ('correctionproposal', ('wrong', 'right'), 'uq_correctionproposal_org_pair', ('org_id', 'wrong', 'right')),
)
# SQLite's unique constraints have no names: the batch copy names the reflected ones by this convention
CONVENTION = {'uq': 'uq_%(table_name)s_%(column_0_N_name)s'}


def _old_name(dialect: str, table: str, columns: tuple[str, ...]) -> str:
    if dialect == 'postgresql':  # PostgreSQL's own name for an unnamed constraint (all within 63 characters)
        return f"{table}_{'_'.join(columns)}_key"
    return f"uq_{table}_{'_'.join(columns)}"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    organization = op.create_table('organization',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.bulk_insert(organization, [{'id': 1, 'name': '既定の団体', 'created_by': 'system', 'created_at': datetime.now(UTC)}])
    if dialect == 'postgresql':  # the explicit id does not advance the sequence
        op.execute("SELECT setval(pg_get_serial_sequence('organization', 'id'), 1)")
    for table in OWNED:
        op.add_column(table, sa.Column('org_id', sa.Integer(), nullable=False, server_default='1'))
        op.create_index(f'ix_{table}_org_id', table, ['org_id'], unique=False)
    op.add_column('auditevent', sa.Column('org_id', sa.Integer(), nullable=True, server_default='1'))
    op.create_index('ix_auditevent_org_id', 'auditevent', ['org_id'], unique=False)
    for table, before, name, after in UNIQUE:
        with op.batch_alter_table(table, naming_convention=CONVENTION) as batch_op:
            batch_op.drop_constraint(_old_name(dialect, table, before), type_='unique')
            batch_op.create_unique_constraint(name, list(after))
    _key_settings_by_organization()


def _key_settings_by_organization() -> None:
    op.rename_table('appsetting', 'appsetting_old')
    op.create_table('appsetting',
    sa.Column('org_id', sa.Integer(), nullable=False, server_default='1'),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('org_id', 'key')
    )
    op.execute('INSERT INTO appsetting (org_id, key, value, updated_by, updated_at) '
               'SELECT 1, key, value, updated_by, updated_at FROM appsetting_old')
    op.drop_table('appsetting_old')


def downgrade() -> None:
    raise NotImplementedError('organisations cannot be merged back into one: restore a backup taken before 0013')
