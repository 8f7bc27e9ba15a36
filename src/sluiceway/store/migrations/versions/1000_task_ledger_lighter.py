"""A route's task ledger and change hashes without a foreign key to their space, and the
storages' expiry index over the entities that expire only.

A route records every entity it reads as a task, and keeps a change hash for each entity
it writes: a foreign key made PostgreSQL look the space up once for each of those rows.
The route's ledger now holds its space's row (``FOR KEY SHARE``) once per transaction
instead, and deleting a space deletes its tasks and storage entities itself
(:func:`sluiceway.services.spaces.delete_space`). Most storage entities never expire (a
route's change hashes, a storage without a time to live): the expiry index leaves them out.

Revision ID: 1000
Revises: 0995
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '1000'
down_revision = '0995'

_LIVE = sa.text('expires_at IS NOT NULL')


def upgrade() -> None:
    with op.batch_alter_table('tasks') as batch:
        batch.drop_constraint('fk_tasks_workspace_id_workspaces', type_='foreignkey')
    with op.batch_alter_table('storage_entities') as batch:
        batch.drop_constraint('fk_storage_entities_workspace_id_workspaces',
                              type_='foreignkey')
    op.drop_index('ix_storage_entities_expires', table_name='storage_entities')
    op.create_index('ix_storage_entities_expires', 'storage_entities', ['expires_at'],
                    postgresql_where=_LIVE, sqlite_where=_LIVE)


def downgrade() -> None:
    op.drop_index('ix_storage_entities_expires', table_name='storage_entities')
    op.create_index('ix_storage_entities_expires', 'storage_entities', ['expires_at'])
    for table in ('tasks', 'storage_entities'):  # rows of a space deleted meanwhile
        op.execute(f"DELETE FROM {table} WHERE workspace_id NOT IN "
                   "(SELECT id FROM workspaces)")
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(f'fk_{table}_workspace_id_workspaces', 'workspaces',
                                     ['workspace_id'], ['id'], ondelete='CASCADE')
