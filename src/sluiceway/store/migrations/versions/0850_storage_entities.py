"""Storages' entities: a storage configuration keeps JSON values by key, each with its size
and, when the storage has a time to live, when it expires.

Revision ID: 0850
Revises: 0700
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0850'
down_revision = '0800'

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'storage_entities',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('workspace_id', sa.String(length=36), nullable=False),
        sa.Column('storage', sa.String(length=255), nullable=False),
        sa.Column('key', sa.String(length=1000), nullable=False),
        sa.Column('value', sa.JSON(), nullable=True),
        sa.Column('sealed', sa.Text(), nullable=True),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.Column('updated_at', sa.Float(), nullable=False),
        sa.Column('expires_at', sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name=op.f('fk_storage_entities_workspace_id_workspaces'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_storage_entities')),
        sa.UniqueConstraint('workspace_id', 'storage', 'key',
                            name='uq_storage_entities_workspace_storage_key'))
    op.create_index('ix_storage_entities_storage_updated', 'storage_entities',
                    ['workspace_id', 'storage', 'updated_at'])
    op.create_index('ix_storage_entities_expires', 'storage_entities', ['expires_at'])


def downgrade() -> None:
    op.drop_index('ix_storage_entities_expires', table_name='storage_entities')
    op.drop_index('ix_storage_entities_storage_updated', table_name='storage_entities')
    op.drop_table('storage_entities')
