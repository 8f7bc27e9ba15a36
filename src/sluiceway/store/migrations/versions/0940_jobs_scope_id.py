"""An index of jobs by what they act on and their id: the overview finds each connection's
latest sync or reset with one short backward walk of it instead of a pass over the space's
jobs.

Revision ID: 0940
Revises: 0850
"""

from __future__ import annotations

from alembic import op

revision = '0940'
down_revision = '0850'


def upgrade() -> None:
    op.create_index('ix_jobs_scope_id', 'jobs', ['scope', 'id'])


def downgrade() -> None:
    op.drop_index('ix_jobs_scope_id', table_name='jobs')
