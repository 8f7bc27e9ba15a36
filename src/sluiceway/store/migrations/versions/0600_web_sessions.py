"""Browser sessions of the web UI: one row per signed-in browser, keyed by the SHA-256 of its
cookie, with its CSRF token, the space it looks at and when it was last seen; and cron
schedules of connections (an expression and its time zone).

Revision ID: 0600
Revises: 0300
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0600'
down_revision = '0500'


def upgrade() -> None:
    op.create_table(
        'web_sessions',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=36), nullable=False),
        sa.Column('csrf', sa.String(length=64), nullable=False),
        sa.Column('workspace_id', sa.String(length=36), nullable=True),
        sa.Column('address', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.Column('last_seen_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_web_sessions_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions')),
    )
    with op.batch_alter_table('web_sessions') as batch:
        batch.create_index(batch.f('ix_web_sessions_user_id'), ['user_id'])
        batch.create_index(batch.f('ix_web_sessions_last_seen_at'), ['last_seen_at'])
    with op.batch_alter_table('connections') as batch:
        batch.add_column(sa.Column('schedule_cron', sa.String(length=255), nullable=True))
        batch.add_column(sa.Column('schedule_timezone', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('connections') as batch:
        batch.drop_column('schedule_timezone')
        batch.drop_column('schedule_cron')
    with op.batch_alter_table('web_sessions') as batch:
        batch.drop_index(batch.f('ix_web_sessions_last_seen_at'))
        batch.drop_index(batch.f('ix_web_sessions_user_id'))
    op.drop_table('web_sessions')
