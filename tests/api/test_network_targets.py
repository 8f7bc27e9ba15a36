"""Sources may not point at the server's own metadata database or at denied networks."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.api.conftest import Api, definition_id

pytestmark = pytest.mark.parametrize("metadata_url", ["postgresql"], indirect=True)


def _postgres_source(api: Api, config: dict[str, Any]) -> str:
    ws = api("/workspaces/get_by_slug", {"slug": "default"})["workspaceId"]
    return str(api("/sources/create", {
        "workspaceId": ws, "sourceDefinitionId": definition_id(api, "source", "postgres"),
        "connectionConfiguration": {"ssl_mode": "disable", **config},
        "name": "target"})["sourceId"])


def test_the_metadata_database_is_refused_as_a_source(api: Api, metadata_url: str) -> None:
    meta = urlsplit(metadata_url)
    source = _postgres_source(api, {"host": meta.hostname, "port": meta.port,
                                    "database": meta.path.lstrip("/"),
                                    "username": meta.username})
    got = api("/sources/check_connection", {"sourceId": source})
    assert got["status"] == "failed"
    assert "is the server's metadata database, which connectors may not use" in got["message"]
    bad = api("/sources/discover_schema", {"sourceId": source}, 422)
    assert [e["propertyPath"] for e in bad["validationErrors"]] == [
        "connectionConfiguration.host"]


def test_another_database_of_the_metadata_server_stays_usable(
        api: Api, pg_database: dict[str, Any]) -> None:
    source = _postgres_source(api, pg_database)
    assert api("/sources/check_connection", {"sourceId": source})["status"] == "succeeded"


def test_a_denied_network_is_refused_naming_the_host_field(api: Api) -> None:
    source = _postgres_source(api, {"host": "169.254.169.254", "port": 5432,
                                    "database": "d", "username": "u"})
    got = api("/sources/check_connection", {"sourceId": source})
    assert got["status"] == "failed"
    assert "169.254.169.254 is in a network that connectors may not reach" in got["message"]
    bad = api("/sources/discover_schema", {"sourceId": source}, 422)
    assert bad["validationErrors"][0]["propertyPath"] == "connectionConfiguration.host"
    assert bad["validationErrors"][0]["invalidValue"] == "169.254.169.254"
