"""An app per test over a fresh metadata DB (SQLite and PostgreSQL), and a client that checks
every response against the Airbyte v1 reference spec."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sluiceway.bootstrap import create_app
from sluiceway.core.settings import Settings
from tests.api.openapi_contract import Contract, contract_or_none, load_contract

ADMIN = ("admin", "admin-password-for-tests")
#: endpoints later Airbyte versions added, checked against the v1 operation of the same answer
EXTRAS = {"/v1/jobs/cancel": "/v1/jobs/get", "/v1/workspaces/create": "/v1/workspaces/get",
          "/v1/connections/list_paginated": "/v1/connections/list",
          "/v1/web_backend/connections/list_paginated": "/v1/web_backend/connections/list"}


class Api:
    """POSTs (or GETs) an Airbyte path, asserts the status and validates the body against
    the reference spec (when the reference folder is there)."""

    def __init__(self, client: TestClient, contract: Contract | None,
                 auth: Any = ADMIN) -> None:
        self.client = client
        self.contract = contract
        self.auth = auth
        self.seen: set[tuple[str, str]] = set()

    def __call__(self, path: str, body: Any = None, status: int = 200, *,
                 method: str = "POST", auth: Any = "default") -> Any:
        kw: dict[str, Any] = {"auth": self.auth if auth == "default" else auth}
        if body is not None:
            kw["json"] = body
        r = self.client.request(method, f"/api/v1{path}", **kw)
        assert r.status_code == status, (path, r.status_code, r.text)
        payload = r.json() if r.content else None
        if r.status_code != 401 and self.contract is not None:
            spec_path = EXTRAS.get(f"/v1{path}", f"/v1{path}")
            self.contract.validate_response(method, spec_path, r.status_code, payload)
        self.seen.add((method, f"/v1{path}"))
        return payload


def make_settings(tmp_path: Path, metadata_url: str, **kw: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data", "database_url": metadata_url,
        "admin_password": ADMIN[1], "lease_seconds": 30, "tick_seconds": 0.3,
        "retry_backoff_seconds": 0.2, "check_timeout_seconds": 10}
    return Settings(**(values | kw))


@pytest.fixture
def settings(tmp_path: Path, metadata_url: str) -> Settings:
    return make_settings(tmp_path, metadata_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, run_jobs=False)
    with TestClient(app) as c:
        yield c
    app.state.platform.close()


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client, contract_or_none())


@pytest.fixture
def contract() -> Contract:
    """The reference spec; a test that needs it skips with the reason when it is absent."""
    return load_contract()


@pytest.fixture
def workspace_id(api: Api) -> str:
    return str(api("/workspaces/get_by_slug", {"slug": "default"})["workspaceId"])


def definition_id(api: Api, kind: str, repository: str) -> str:
    listed = api(f"/{kind}_definitions/list")[f"{kind}Definitions"]
    return next(d[f"{kind}DefinitionId"] for d in listed if d["dockerRepository"] == repository)


# --- a space with one user of each role, for the platform API's tests ------------------------

V, E, A = "viewer@team.example", "editor@team.example", "admin@team.example"
ROLE = {V: "ROLE_USER", E: "ROLE_EDITOR", A: "ROLE_ADMINISTRATOR"}


def bearer(client: TestClient, email: str) -> dict[str, str]:
    """The Authorization header of a new API token of ``email``."""
    from sluiceway.services import auth, tokens

    p = client.app.state.platform  # type: ignore[attr-defined]
    token, _ = tokens.create(p, auth.caller_for(p, email, "testclient"), "tests")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def team(client: TestClient) -> dict[str, dict[str, str]]:
    """Space ``team-a`` with a viewer, an editor and an administrator (bearer JWTs each)."""
    r = client.post("/api/v1/spaces", auth=ADMIN, json={
        "object": {"identifier": "team-a", "name": "Team A", "purpose": "dev",
                   "termsAgreed": True},
        "users": [{"email": e, "roles": [ROLE[e]]} for e in (V, E, A)],
        "dataEngines": []})
    assert r.status_code == 200, r.text
    assert r.json()["object"]["termsAgreed"] == 1
    return {e: bearer(client, e) for e in (V, E, A)}
