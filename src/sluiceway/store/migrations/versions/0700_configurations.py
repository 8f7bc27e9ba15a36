"""Configurations of the Alumio face: typed objects of a space, their history (one row per
saved state, keyed by a ULID) and the users' favourites.

Revision ID: 0700
Revises: 0300
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0700'
down_revision = '0600'


def upgrade() -> None:
    op.create_table(
        'configurations',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('workspace_id', sa.String(length=36), nullable=False),
        sa.Column('type', sa.String(length=64), nullable=False),
        sa.Column('identifier', sa.String(length=255), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('prototype', sa.String(length=64), nullable=False),
        sa.Column('object', sa.JSON(), nullable=False),
        sa.Column('context', sa.JSON(), nullable=True),
        sa.Column('owner', sa.String(length=255), nullable=True),
        sa.Column('removable', sa.Boolean(), nullable=False),
        sa.Column('resettable', sa.Boolean(), nullable=False),
        sa.Column('disabled', sa.Boolean(), nullable=False),
        sa.Column('labels', sa.JSON(), nullable=False),
        sa.Column('editor', sa.String(length=320), nullable=True),
        sa.Column('revision', sa.String(length=26), nullable=False),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.Column('updated_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name=op.f('fk_configurations_workspace_id_workspaces'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_configurations')),
        sa.UniqueConstraint('workspace_id', 'type', 'identifier',
                            name='uq_configurations_workspace_type_identifier'))
    op.create_table(
        'configuration_revisions',
        sa.Column('ulid', sa.String(length=26), nullable=False),
        sa.Column('workspace_id', sa.String(length=36), nullable=False),
        sa.Column('type', sa.String(length=64), nullable=False),
        sa.Column('identifier', sa.String(length=255), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('object', sa.JSON(), nullable=False),
        sa.Column('disabled', sa.Boolean(), nullable=False),
        sa.Column('labels', sa.JSON(), nullable=False),
        sa.Column('editor', sa.String(length=320), nullable=True),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name=op.f('fk_configuration_revisions_workspace_id_workspaces'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('ulid', name=op.f('pk_configuration_revisions')))
    op.create_index('ix_configuration_revisions_object', 'configuration_revisions',
                    ['workspace_id', 'type', 'identifier', 'ulid'])
    op.create_table(
        'configuration_favourites',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('workspace_id', sa.String(length=36), nullable=False),
        sa.Column('user_id', sa.String(length=36), nullable=False),
        sa.Column('type', sa.String(length=64), nullable=False),
        sa.Column('identifier', sa.String(length=255), nullable=False),
        sa.Column('tags', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.Column('updated_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_configuration_favourites_user_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name=op.f('fk_configuration_favourites_workspace_id_workspaces'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_configuration_favourites')),
        sa.UniqueConstraint('workspace_id', 'user_id', 'type', 'identifier',
                            name='uq_configuration_favourites_user_object'))


def downgrade() -> None:
    op.drop_table('configuration_favourites')
    op.drop_index('ix_configuration_revisions_object', table_name='configuration_revisions')
    op.drop_table('configuration_revisions')
    op.drop_table('configurations')
