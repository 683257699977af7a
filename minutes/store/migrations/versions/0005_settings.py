"""settings changed in the app, and the must-change-password flag

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

``appsetting`` holds the operational settings an administrator changes on the 管理 page (the environment still
wins). ``user.must_change_password`` is set with an initial or administrator-reset password; the user must choose a
new one after signing in. Added with plain ALTER TABLE ADD COLUMN, like 0004.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('appsetting',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.add_column('user', sa.Column('must_change_password', sa.Boolean(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
    op.drop_table('appsetting')
