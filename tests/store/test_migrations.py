"""Migrations against the models, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from sluiceway.store import migrate
from sluiceway.store.db import Database
from sluiceway.store.models import Base


@pytest.fixture
def db(metadata_url: str) -> Iterator[Database]:
    database = Database(metadata_url)
    yield database
    database.dispose()


def test_head_matches_the_models(db: Database) -> None:
    migrate.upgrade(db)
    assert migrate.current(db) == migrate.head()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    assert diff == []


def test_downgrade_to_base_and_up_again(db: Database) -> None:
    migrate.upgrade(db)
    migrate.downgrade(db, "base")
    assert migrate.current(db) is None
    assert "jobs" not in inspect(db.engine).get_table_names()
    migrate.upgrade(db)
    assert migrate.current(db) == migrate.head()


def test_a_database_made_by_the_first_migration_is_upgraded_without_losing_rows(
    db: Database,
) -> None:
    migrate.upgrade(db, "0001")
    assert "users" not in inspect(db.engine).get_table_names()
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO workspaces (id, customer_id, name, slug, initial_setup_complete, "
            "onboarding_complete, anonymous_data_collection, news, security_updates, created_at)"
            " VALUES ('w1', 'c1', 'Default', 'default', true, false, false, false, false, 1)"))
        conn.execute(text(
            "INSERT INTO connector_definitions (id, kind, name, docker_repository, "
            "docker_image_tag, builtin, created_at) "
            "VALUES ('d1', 'source', 'PostgreSQL', 'postgres', '0.1.0', true, 1)"))
        conn.execute(text(
            "INSERT INTO actors (id, workspace_id, definition_id, kind, name, config, tombstone,"
            " created_at, updated_at) VALUES ('a1', 'w1', 'd1', 'source', 'pg', "
            "'{\"host\": \"db\"}', false, 1, 1)"))
        conn.execute(text(
            "INSERT INTO jobs (workspace_id, config_type, scope, status, priority, input, "
            "max_attempts, cancel_requested, progress, scheduled_at, created_at, updated_at) "
            "VALUES ('w1', 'sync', 'x', 'succeeded', 0, '{}', 3, false, 1, 1, 1, 2)"))
    migrate.upgrade(db)
    assert migrate.current(db) == migrate.head()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT slug FROM workspaces")).scalar_one() == "default"
        assert conn.execute(text("SELECT name FROM actors WHERE id = 'a1'")).scalar_one() == "pg"
        assert conn.execute(text("SELECT status FROM jobs")).scalar_one() == "succeeded"
        assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 0
        # 0100 rebuilt connector_definitions (SQLite) under the actor that points at it
        assert conn.execute(text("SELECT name, workspace_id FROM connector_definitions")
                            ).one() == ("PostgreSQL", None)
        assert conn.execute(text("SELECT definition_id FROM actors")).scalar_one() == "d1"
