"""Settings that refuse what cannot work: the celery executor's broker and metadata DB."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from sluiceway.core.settings import DEFAULT_BROKER, Settings

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/meta"


@pytest.mark.parametrize(("values", "reason"), [
    ({"executor": "celery"}, "needs a PostgreSQL metadata database"),
    ({"executor": "celery", "database_url": "sqlite:///x.db"},
     "needs a PostgreSQL metadata database"),
    ({"executor": "celery", "database_url": PG, "broker_url": "http://broker:5672"},
     "must start with one of amqp://"),
    ({"executor": "celery", "database_url": PG, "republish_seconds": 0},
     "more than 0 seconds"),
    ({"executor": "threads"}, "'local' or 'celery'"),
    ({"cancel_poll_seconds": 0}, "more than 0 seconds"),
])
def test_unworkable_celery_settings_are_refused(values: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        Settings(**values)


@pytest.mark.parametrize(("values", "broker"), [
    ({}, None),  # the local executor needs none
    ({"executor": "celery", "database_url": PG}, DEFAULT_BROKER),
    ({"executor": "celery", "database_url": PG, "broker_url": "redis://r:6379/1"},
     "redis://r:6379/1"),
])
def test_the_broker_in_use(values: dict[str, Any], broker: str | None) -> None:
    assert Settings(**values).broker == broker
