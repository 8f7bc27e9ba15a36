"""Scheduler entries' fired slots: one row per (space, entry, slot), unique, so a slot is
fired once whatever the number of schedulers or restarts; and how a job was asked to end
(``jobs.cancel_mode``: cancel, kill or stop).

Revision ID: 0920
Revises: 0850
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0920'
down_revision = '0850'

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'schedule_slots',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('workspace_id', sa.String(length=36), nullable=False),
        sa.Column('entry', sa.String(length=255), nullable=False),
        sa.Column('slot', sa.Float(), nullable=False),
        sa.Column('jobs', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name=op.f('fk_schedule_slots_workspace_id_workspaces'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_slots')),
        sa.UniqueConstraint('workspace_id', 'entry', 'slot',
                            name='uq_schedule_slots_workspace_entry_slot'))
    op.add_column('jobs', sa.Column('cancel_mode', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobs') as batch:
        batch.drop_column('cancel_mode')
    op.drop_table('schedule_slots')
