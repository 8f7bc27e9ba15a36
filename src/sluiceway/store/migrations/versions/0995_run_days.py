"""What each space's syncs did per UTC day (rows, bytes, run time, attempts, failed ones),
added to when an attempt ends: the overview's chart reads 30 rows instead of grouping a
month of attempts. Filled here from the attempts that have ended.

Revision ID: 0995
Revises: 0940
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0995'
down_revision = '0940'


def upgrade() -> None:
    op.create_table(
        'run_days',
        sa.Column('workspace_id', sa.String(36), nullable=False),
        sa.Column('day', sa.Integer(), nullable=False),
        sa.Column('records', sa.BigInteger(), nullable=False),
        sa.Column('bytes', sa.BigInteger(), nullable=False),
        sa.Column('seconds', sa.Float(), nullable=False),
        sa.Column('runs', sa.Integer(), nullable=False),
        sa.Column('failed', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name='fk_run_days_workspace_id_workspaces',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('workspace_id', 'day', name='pk_run_days'),
    )
    # the UTC day: SQLite's CAST truncates (the floor of a positive time), PostgreSQL's rounds
    day = ('CAST(floor(a.ended_at / 86400) AS INTEGER)'
           if op.get_bind().dialect.name == 'postgresql'
           else 'CAST(a.ended_at / 86400 AS INTEGER)')
    op.execute(
        'INSERT INTO run_days (workspace_id, day, records, bytes, seconds, runs, failed) '
        f'SELECT j.workspace_id, {day}, COALESCE(SUM(a.records_synced), 0), '
        'COALESCE(SUM(a.bytes_synced), 0), COALESCE(SUM(a.ended_at - a.created_at), 0), '
        "COUNT(a.id), SUM(CASE WHEN a.status = 'failed' THEN 1 ELSE 0 END) "
        'FROM attempts a JOIN jobs j ON j.id = a.job_id '
        "WHERE j.config_type = 'sync' AND a.ended_at IS NOT NULL "
        f'GROUP BY j.workspace_id, {day}')


def downgrade() -> None:
    op.drop_table('run_days')
