"""Names of definitions, sources, destinations and connections hold 255 characters, as every
face allows.

Revision ID: 0300
Revises: 0210
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0300'
down_revision = '0210'

_TABLES = ('connector_definitions', 'actors', 'connections')


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column('name', existing_type=sa.String(length=200),
                               type_=sa.String(length=255), existing_nullable=False)


def downgrade() -> None:
    for table in _TABLES:
        op.execute(sa.text(f'UPDATE {table} SET name = SUBSTR(name, 1, 200) '
                           'WHERE LENGTH(name) > 200'))
        with op.batch_alter_table(table) as batch:
            batch.alter_column('name', existing_type=sa.String(length=255),
                               type_=sa.String(length=200), existing_nullable=False)
