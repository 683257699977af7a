"""the assembly's dictionary (用語辞書)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

``dictionaryterm``: the words the assembly wants recognized (表記, 読み, 種別), managed on the 用語辞書 page and by
``minutes dictionary``; the pipeline gets them with every job (``minutes.services.dictionary``).
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dictionaryterm',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('reading', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('text')
    )


def downgrade() -> None:
    op.drop_table('dictionaryterm')
