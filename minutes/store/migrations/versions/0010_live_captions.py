"""live captions

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

``livecaption``: the committed text of a meeting transcribed live (``minutes live``), in order, kept after 散会 to
compare with the batch draft that replaces it.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0010'
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('livecaption',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('start', sa.Float(), nullable=False),
    sa.Column('end', sa.Float(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('heard', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_livecaption_meeting_position', 'livecaption', ['meeting_id', 'position'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_livecaption_meeting_position', table_name='livecaption')
    op.drop_table('livecaption')
