"""An index of attempts by when they ended: the web UI's overview groups a month of runs by
the day they ended, and reuses its figures until another attempt ends (a lookup of the
latest end).

Revision ID: 0610
Revises: 0700
"""

from __future__ import annotations

from alembic import op

revision = '0610'
down_revision = '0700'


def upgrade() -> None:
    op.create_index('ix_attempts_ended_at', 'attempts', ['ended_at'])


def downgrade() -> None:
    op.drop_index('ix_attempts_ended_at', table_name='attempts')
