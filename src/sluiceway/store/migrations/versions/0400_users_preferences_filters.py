"""The platform API's user settings and list indexes: a user's preferences and when they
accepted the terms, a user's preferences per space, saved table filters, and the indexes the
lists need: a space's members, a user's tokens, and the installation-wide audit trail
filtered by action, category, user or space (newest first, and its total by an index-only
scan instead of reading every entry).

Revision ID: 0400
Revises: 0300
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0400'
down_revision = '0300'


#: (index, column) of the audit trail's filters, each with created_at
_AUDIT = (('ix_audit_entries_action_created', 'action'),
          ('ix_audit_entries_category_created', 'category'),
          ('ix_audit_entries_user_created', 'user_name'),
          ('ix_audit_entries_space_created', 'space'))


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('preferences', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('terms_accepted_at', sa.Float(), nullable=True))
    with op.batch_alter_table('memberships') as batch:
        batch.add_column(sa.Column('preferences', sa.JSON(), nullable=True))
    op.create_index('ix_memberships_workspace_user', 'memberships',
                    ['workspace_id', 'user_id'])
    op.create_index('ix_api_tokens_user_created', 'api_tokens', ['user_id', 'created_at'])
    op.create_table(
        'table_filters',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('user_id', sa.String(length=36), nullable=False),
        sa.Column('table_key', sa.String(length=255), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('filter', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.Column('updated_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_table_filters_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_table_filters')))
    op.create_index('ix_table_filters_user_table', 'table_filters', ['user_id', 'table_key'])
    for name, column in _AUDIT:
        op.create_index(name, 'audit_entries', [column, 'created_at'])


def downgrade() -> None:
    for name, _ in _AUDIT:
        op.drop_index(name, table_name='audit_entries')
    op.drop_index('ix_table_filters_user_table', table_name='table_filters')
    op.drop_table('table_filters')
    op.drop_index('ix_api_tokens_user_created', table_name='api_tokens')
    op.drop_index('ix_memberships_workspace_user', table_name='memberships')
    with op.batch_alter_table('memberships') as batch:
        batch.drop_column('preferences')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('terms_accepted_at')
        batch.drop_column('preferences')
