"""The composition root: each app answers errors with the renderers it was built with, and
no family's body depends on which modules happen to be imported."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from sluiceway import bootstrap
from sluiceway.api import app as api_app
from sluiceway.api.errors import Problem, Renderers
from sluiceway.core.settings import Settings
from sluiceway.services.platform import Platform


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    p = bootstrap.open_platform(Settings(data_dir=tmp_path / "data",
                                         admin_password="admin-password-for-tests"))
    yield p
    p.close()


def _plain(_: Request, p: Problem) -> JSONResponse:
    return JSONResponse(status_code=p.status, content={"plain": p.message})


@pytest.mark.parametrize(("method", "path", "key"), [
    ("POST", "/api/v1/sources/get", "exceptionClassName"),  # Airbyte: paths of no family
    ("GET", "/v2/projects/p-1/backups", "type"),  # backups
    ("GET", "/exports", "errors"),  # datasets (JSON:API)
    ("GET", "/apis/x/dumps", "location"),  # dumps
    ("GET", "/api/v1/spaces", "violations"),  # the platform API's Error body
])
def test_each_family_answers_its_own_body(platform: Platform, method: str, path: str,
                                          key: str) -> None:
    with TestClient(bootstrap.create_app(platform=platform, run_jobs=False)) as c:
        r = c.request(method, path)  # no credentials
    assert r.status_code == 401, r.text
    assert key in r.json(), r.text


def test_apps_keep_the_renderers_they_were_built_with(platform: Platform) -> None:
    plain = api_app.build(platform, Renderers(default=_plain))
    full = bootstrap.create_app(platform=platform, run_jobs=False)
    with TestClient(plain) as a, TestClient(full) as b:
        assert a.get("/api/v1/spaces").json() == {
            "plain": "authentication required: HTTP Basic or a Bearer API token"}
        assert "violations" in b.get("/api/v1/spaces").json()
        assert a.post("/api/v1/sources/get").json().keys() == {"plain"}
