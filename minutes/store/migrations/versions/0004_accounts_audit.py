"""accounts, roles, closed meetings and the append-only audit trail

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

Local accounts (user, with auth_provider for SSO later), signed-in sessions (usersession, token hashes only), closed
meetings (meeting.closed and meetingaccess, the users allowed to see them) and the audit trail (auditevent). The
audit trail is append-only: triggers raise on UPDATE and DELETE. ``meeting.closed`` is added with plain ALTER TABLE
ADD COLUMN (no batch rebuild), so the FTS triggers of 0003 stay untouched.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


# PostgreSQL: one function refuses UPDATE, DELETE (per row) and TRUNCATE (per statement) on the trail
POSTGRES_APPEND_ONLY = (
    "CREATE FUNCTION auditevent_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'auditevent is append-only'; END $$",
    "CREATE TRIGGER auditevent_no_update BEFORE UPDATE ON auditevent "
    "FOR EACH ROW EXECUTE FUNCTION auditevent_append_only()",
    "CREATE TRIGGER auditevent_no_delete BEFORE DELETE ON auditevent "
    "FOR EACH ROW EXECUTE FUNCTION auditevent_append_only()",
    "CREATE TRIGGER auditevent_no_truncate BEFORE TRUNCATE ON auditevent "
    "FOR EACH STATEMENT EXECUTE FUNCTION auditevent_append_only()",
)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('auth_provider', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_login_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('usersession',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('token_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('ip', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_sha256')
    )
    op.create_index('ix_usersession_user_id', 'usersession', ['user_id'], unique=False)
    op.create_table('meetingaccess',
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('meeting_id', 'user_id')
    )
    op.create_table('auditevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('actor_kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('target_type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('target_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('ip', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_auditevent_at', 'auditevent', ['at'], unique=False)
    op.add_column('meeting', sa.Column('closed', sa.Boolean(), server_default='0', nullable=False))
    if op.get_bind().dialect.name != "sqlite":
        for statement in POSTGRES_APPEND_ONLY:
            op.execute(statement)
        return
    op.execute(
        "CREATE TRIGGER auditevent_no_update BEFORE UPDATE ON auditevent "
        "BEGIN SELECT RAISE(ABORT, 'auditevent is append-only'); END"
    )
    op.execute(
        "CREATE TRIGGER auditevent_no_delete BEFORE DELETE ON auditevent "
        "BEGIN SELECT RAISE(ABORT, 'auditevent is append-only'); END"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS auditevent_no_delete" + ("" if _sqlite() else " ON auditevent"))
    op.execute("DROP TRIGGER IF EXISTS auditevent_no_update" + ("" if _sqlite() else " ON auditevent"))
    if not _sqlite():
        op.execute("DROP TRIGGER IF EXISTS auditevent_no_truncate ON auditevent")
        op.execute("DROP FUNCTION IF EXISTS auditevent_append_only()")
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_column('closed')
    op.drop_index('ix_auditevent_at', table_name='auditevent')
    op.drop_table('auditevent')
    op.drop_table('meetingaccess')
    op.drop_index('ix_usersession_user_id', table_name='usersession')
    op.drop_table('usersession')
    op.drop_table('user')
