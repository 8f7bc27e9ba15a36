"""Where an encrypted variable may be sent (``allowed_targets``), and a space's worker
allocation (``workers``: ``NULL`` is the whole pool, no cap; ``worker_slots``: the pool's
slot numbers pinned to it, ``NULL`` for none).

Revision ID: 0210
Revises: 0200
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0210'
down_revision = '0200'


def upgrade() -> None:
    with op.batch_alter_table('environment_variables') as batch:
        batch.add_column(sa.Column('allowed_targets', sa.JSON(), nullable=True))
    with op.batch_alter_table('workspaces') as batch:
        batch.add_column(sa.Column('workers', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('worker_slots', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('workspaces') as batch:
        batch.drop_column('worker_slots')
        batch.drop_column('workers')
    with op.batch_alter_table('environment_variables') as batch:
        batch.drop_column('allowed_targets')
