"""Identity hardening: API tokens can be revoked; connector definitions made by a user other
than the admin belong to that user's workspace (names unique per workspace).

Revision ID: 0100
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0100'
down_revision = '0003'


def upgrade() -> None:
    with op.batch_alter_table('api_tokens') as batch:
        batch.add_column(sa.Column('revoked_at', sa.Float(), nullable=True))
    with op.batch_alter_table('connector_definitions') as batch:
        batch.add_column(sa.Column('workspace_id', sa.String(length=36), nullable=True))
        batch.create_foreign_key(
            batch.f('fk_connector_definitions_workspace_id_workspaces'), 'workspaces',
            ['workspace_id'], ['id'], ondelete='CASCADE')
        batch.create_index(batch.f('ix_connector_definitions_workspace_id'), ['workspace_id'])
        batch.drop_constraint('uq_connector_definitions_kind', type_='unique')
        batch.create_unique_constraint('uq_connector_definitions_kind_workspace_name',
                                       ['kind', 'workspace_id', 'name'])


def downgrade() -> None:
    # definitions of a workspace go with the column: the old schema cannot say whose they are
    op.execute(sa.text('DELETE FROM connector_definitions WHERE workspace_id IS NOT NULL'))
    with op.batch_alter_table('connector_definitions') as batch:
        batch.drop_constraint('uq_connector_definitions_kind_workspace_name', type_='unique')
        batch.create_unique_constraint('uq_connector_definitions_kind', ['kind', 'name'])
        batch.drop_index(batch.f('ix_connector_definitions_workspace_id'))
        batch.drop_constraint(batch.f('fk_connector_definitions_workspace_id_workspaces'),
                              type_='foreignkey')
        batch.drop_column('workspace_id')
    with op.batch_alter_table('api_tokens') as batch:
        batch.drop_column('revoked_at')
