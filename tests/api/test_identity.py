"""Tokens that expire or are revoked, definitions that belong to a workspace, and what
``/debug`` shows to whom, over the API."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from sluiceway.services import auth
from sluiceway.services.platform import Platform
from sluiceway.store.db import now
from sluiceway.store.models import ApiToken
from tests.api.conftest import Api

MALLORY = ("mallory", "mallory-password")
BOB = ("bob", "bob-password-1")


def _platform(api: Api) -> Platform:
    platform: Platform = api.client.app.state.platform  # type: ignore[attr-defined]
    return platform


def _bearer(api: Api, token: str) -> int:
    r = api.client.post("/api/v1/source_definitions/list",
                        headers={"Authorization": f"Bearer {token}"})
    return r.status_code


@pytest.mark.parametrize(("expires_in", "revoke", "status"), [
    (None, False, 200),
    (3600.0, False, 200),
    (-1.0, False, 401),
    (None, True, 401),
    (3600.0, True, 401),
], ids=["never-expires", "not-yet-expired", "expired", "revoked", "revoked-before-expiry"])
def test_a_token_answers_401_once_expired_or_revoked(api: Api, expires_in: float | None,
                                                     revoke: bool, status: int) -> None:
    p = _platform(api)
    token = auth.create_token(p, "admin", "ci",
                              None if expires_in is None else now() + expires_in)
    if revoke:
        (view,) = auth.list_tokens(p, "admin")
        assert auth.revoke_token(p, view.id).status(now()) == "revoked"
    assert _bearer(api, token) == status
    (view,) = auth.list_tokens(p, "admin")
    assert (view.last_used_at is not None) == (status == 200)


def test_a_token_keeps_its_last_use_and_revoking_stops_it_at_once(api: Api) -> None:
    p = _platform(api)
    token = auth.create_token(p, "admin", "ci")
    before = now()
    assert _bearer(api, token) == 200
    with p.db.session() as s:
        used = s.scalars(select(ApiToken.last_used_at)).one()
    assert used is not None
    assert used >= before
    (view,) = auth.list_tokens(p)
    assert (view.username, view.name, view.status(now())) == ("admin", "ci", "active")
    auth.revoke_token(p, view.id)
    assert _bearer(api, token) == 401


def _make_definition(api: Api, kind: str, name: str, who: Any, status: int = 200) -> Any:
    return api(f"/{kind}_definitions/create", {
        "name": name, "dockerRepository": "postgres", "dockerImageTag": "custom",
        "documentationUrl": "https://example.com/docs"}, status, auth=who)


@pytest.mark.parametrize("kind", ["source", "destination"])
def test_a_definition_made_by_a_user_belongs_to_their_workspace(api: Api, kind: str) -> None:
    p = _platform(api)
    auth.create_user(p, *MALLORY, "mallory-team")
    auth.create_user(p, *BOB, "bob-team")
    mine = _make_definition(api, kind, "Team PG", MALLORY)
    shared = _make_definition(api, kind, "Shared PG", "default")  # the admin's
    key = f"{kind}DefinitionId"

    def listed(who: Any) -> set[str]:
        return {d["name"] for d in api(f"/{kind}_definitions/list", auth=who)
                [f"{kind}Definitions"]}

    assert {"Team PG", "Shared PG"} <= listed(MALLORY)
    assert "Shared PG" in listed(BOB)
    assert "Team PG" not in listed(BOB)
    assert "Team PG" in listed("default")  # a system administrator lists every space's
    api(f"/{kind}_definitions/get", {key: mine[key]}, auth=MALLORY)
    api(f"/{kind}_definitions/get", {key: shared[key]}, auth=BOB)
    api(f"/{kind}_definitions/get", {key: mine[key]}, 404, auth=BOB)
    api(f"/{kind}_definition_specifications/get", {key: mine[key]}, 404, auth=BOB)
    # the admin, a system administrator, acts in every space
    api(f"/{kind}_definitions/get", {key: mine[key]}, auth="default")
    # a name taken in another workspace is free here (and says nothing about that one)
    _make_definition(api, kind, "Team PG", BOB)
    bad = _make_definition(api, kind, "Shared PG", BOB, 422)
    assert bad["validationErrors"][0]["propertyPath"] == "name"
    # the shared one is the admin's to change
    r = api.client.post(f"/api/v1/{kind}_definitions/update",
                        json={key: shared[key], "dockerImageTag": "other"}, auth=MALLORY)
    assert r.status_code == 403, r.text
    api(f"/{kind}_definitions/update", {key: mine[key], "dockerImageTag": "v2"},
        auth=MALLORY)


def test_a_workspace_definition_cannot_be_used_from_another_workspace(api: Api) -> None:
    p = _platform(api)
    auth.create_user(p, *MALLORY, "mallory-team")
    auth.create_user(p, *BOB, "bob-team")
    mine = _make_definition(api, "source", "Team PG", MALLORY)
    bobs_ws = api("/workspaces/get_by_slug", {"slug": "bob-team"}, auth=BOB)["workspaceId"]
    api("/sources/create", {
        "workspaceId": bobs_ws, "sourceDefinitionId": mine["sourceDefinitionId"],
        "connectionConfiguration": {"host": "127.0.0.1", "port": 5432, "database": "d",
                                    "username": "u", "password": "secret-value"},
        "name": "pg"}, 404, auth=BOB)


def test_debug_shows_settings_to_the_admin_only(api: Api) -> None:
    auth.create_user(_platform(api), *MALLORY, "mallory-team")
    admin = api("/debug", method="GET")["info"]
    assert "settings" in admin
    assert admin["metadataDatabase"] in ("sqlite", "postgresql")
    other = api("/debug", method="GET", auth=MALLORY)["info"]
    assert other["versions"]["sluiceway"] == admin["versions"]["sluiceway"]
    assert "settings" not in other
    assert "metadataDatabase" not in other
