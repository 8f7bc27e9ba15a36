"""Many machines: the host that ran an attempt (``attempts.host``, beside ``worker`` and
``pid``), and when a job was last handed to the broker (``jobs.published_at``: ``NULL`` when
no message of it is known to wait).

Revision ID: 0500
Revises: 0300
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0500'
down_revision = '0400'


def upgrade() -> None:
    with op.batch_alter_table('attempts') as batch:
        batch.add_column(sa.Column('host', sa.String(length=255), nullable=True))
    with op.batch_alter_table('jobs') as batch:
        batch.add_column(sa.Column('published_at', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobs') as batch:
        batch.drop_column('published_at')
    with op.batch_alter_table('attempts') as batch:
        batch.drop_column('host')
