"""editing: revisions, meeting events, speaker and meeting details

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Utterance edit history (utterancerevision), an audit trail of meeting actions (meetingevent), the 会議録 header
fields of a meeting (meeting.details JSON, meeting.edit_version for optimistic locking) and speaker details for the
Word export (seat, kind, yomi, group).
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('meetingevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('meetingevent', schema=None) as batch_op:
        batch_op.create_index('ix_meetingevent_meeting_at', ['meeting_id', 'at'], unique=False)

    op.create_table('utterancerevision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('utterance_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('speaker_id', sa.Integer(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('edited_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('edited_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['speaker_id'], ['speaker.id'], ),
    sa.ForeignKeyConstraint(['utterance_id'], ['utterance.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('utterance_id', 'version')
    )
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edit_version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('details', sa.JSON(), server_default='{}', nullable=False))

    with op.batch_alter_table('speaker', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seat', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('yomi', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.add_column(sa.Column('group', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('speaker', schema=None) as batch_op:
        batch_op.drop_column('group')
        batch_op.drop_column('yomi')
        batch_op.drop_column('kind')
        batch_op.drop_column('seat')

    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_column('details')
        batch_op.drop_column('edit_version')

    op.drop_table('utterancerevision')
    with op.batch_alter_table('meetingevent', schema=None) as batch_op:
        batch_op.drop_index('ix_meetingevent_meeting_at')

    op.drop_table('meetingevent')
