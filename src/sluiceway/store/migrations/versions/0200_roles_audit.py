"""Roles and the audit trail: a role per membership, system administrators, API token
descriptions, the audit entries and the spaces' environment variables.

Existing users keep what they could do: ``admin`` becomes a system administrator and every
membership (``users create --workspace`` and the workspaces a user made) an administrator.

Revision ID: 0200
Revises: 0100
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0200'
down_revision = '0100'


def upgrade() -> None:
    with op.batch_alter_table('workspaces') as batch:
        batch.alter_column('name', type_=sa.String(length=255),
                           existing_type=sa.String(length=200), existing_nullable=False)
        batch.alter_column('slug', type_=sa.String(length=255),
                           existing_type=sa.String(length=200), existing_nullable=False)
        batch.add_column(sa.Column('description', sa.Text(), nullable=False,
                                   server_default=''))
        batch.add_column(sa.Column('purpose', sa.String(length=8), nullable=False,
                                   server_default='prod'))
        batch.add_column(sa.Column('terms_agreed', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column('created_by', sa.String(length=320), nullable=True))
        batch.add_column(sa.Column('updated_at', sa.Float(), nullable=True))
    with op.batch_alter_table('workspaces') as batch:
        for column in ('description', 'purpose', 'terms_agreed'):
            batch.alter_column(column, server_default=None)
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('system_admin', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.execute(sa.text("UPDATE users SET system_admin = true WHERE username = 'admin'"))
    with op.batch_alter_table('users') as batch:
        batch.alter_column('system_admin', server_default=None)
    with op.batch_alter_table('memberships') as batch:
        batch.add_column(sa.Column('role', sa.String(length=32), nullable=False,
                                   server_default='ROLE_ADMINISTRATOR'))
    with op.batch_alter_table('memberships') as batch:
        batch.alter_column('role', server_default=None)
    with op.batch_alter_table('api_tokens') as batch:
        batch.add_column(sa.Column('description', sa.Text(), nullable=True))
    op.create_table(
        'audit_entries',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.Column('user_id', sa.String(length=36), nullable=True),
        sa.Column('user_name', sa.String(length=320), nullable=False),
        sa.Column('workspace_id', sa.String(length=36), nullable=True),
        sa.Column('space', sa.String(length=255), nullable=True),
        sa.Column('action', sa.String(length=100), nullable=False),
        sa.Column('category', sa.String(length=50), nullable=False),
        sa.Column('address', sa.String(length=100), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('request', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries')))
    op.create_index('ix_audit_entries_workspace_created', 'audit_entries',
                    ['workspace_id', 'created_at'])
    op.create_index('ix_audit_entries_created', 'audit_entries', ['created_at'])
    op.create_table(
        'environment_variables',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('workspace_id', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('description', sa.String(length=150), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('encrypted', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.Column('updated_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name=op.f('fk_environment_variables_workspace_id_workspaces'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_environment_variables')),
        sa.UniqueConstraint('workspace_id', 'name',
                            name='uq_environment_variables_workspace_name'))


def downgrade() -> None:
    op.drop_table('environment_variables')
    op.drop_index('ix_audit_entries_created', table_name='audit_entries')
    op.drop_index('ix_audit_entries_workspace_created', table_name='audit_entries')
    op.drop_table('audit_entries')
    with op.batch_alter_table('api_tokens') as batch:
        batch.drop_column('description')
    with op.batch_alter_table('memberships') as batch:
        batch.drop_column('role')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('system_admin')
    with op.batch_alter_table('workspaces') as batch:
        for column in ('updated_at', 'created_by', 'terms_agreed', 'purpose', 'description'):
            batch.drop_column(column)
        batch.alter_column('slug', type_=sa.String(length=200),
                           existing_type=sa.String(length=255), existing_nullable=False)
        batch.alter_column('name', type_=sa.String(length=200),
                           existing_type=sa.String(length=255), existing_nullable=False)
