"""Tasks of the Alumio face: one row per entity that entered a route, with its status.

Revision ID: 0800
Revises: 0700
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0800'
down_revision = '0610'

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'tasks',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('workspace_id', sa.String(length=36), nullable=False),
        sa.Column('route', sa.String(length=255), nullable=False),
        sa.Column('entity_type', sa.String(length=255), nullable=False),
        sa.Column('entity_identifier', sa.String(length=1000), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('entity', sa.JSON(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('log', sa.JSON(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('job_id', sa.BigInteger(), nullable=True),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.Column('updated_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name=op.f('fk_tasks_workspace_id_workspaces'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks')),
    )
    op.create_index('ix_tasks_route_status', 'tasks', ['workspace_id', 'route', 'status'])
    op.create_index('ix_tasks_workspace_updated', 'tasks', ['workspace_id', 'updated_at'])


def downgrade() -> None:
    op.drop_index('ix_tasks_workspace_updated', table_name='tasks')
    op.drop_index('ix_tasks_route_status', table_name='tasks')
    op.drop_table('tasks')
