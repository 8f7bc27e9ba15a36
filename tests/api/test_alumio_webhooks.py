"""``POST /webhook/{identifier}``: a call with the incoming's bearer token or an HMAC-SHA256
signature of its body queues the runs of the routes taking that incoming; without or with a
wrong secret it is 401, a body over the webhook's limit 413, and the secrets stay masked."""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sluiceway.store.models import AuditEntry, Configuration, Job
from tests.api.test_alumio_face import _error, _platform
from tests.api.test_alumio_routes import URL, E, _ok, _tasks, route, team  # noqa: F401
from tests.api.test_datasets import run_jobs

TOKEN, SECRET = "hook-token-5c1e", "signing-secret-77a0"
HOOK = "/api/v1/webhook/orders-in"


def _hook(client: TestClient, auth: dict[str, str], root: Path, **extra: Any) -> None:
    _ok(client.put(URL, headers=auth, json={
        "type": "incoming-configuration", "identifier": "orders-in", "name": "orders-in",
        "object": {"prototype": "sqlite", "parameters": {
            "configuration": {"path": str(root / "shop.db")}, "stream": "orders",
            "identifierField": "id",
            "webhook": {"token": TOKEN, "signingSecret": SECRET, **extra}}}}))


@pytest.fixture
def hooked(client: TestClient, team: dict[str, dict[str, str]],  # noqa: F811
           route: Path) -> Path:  # noqa: F811
    """The route's incoming accepts webhook calls (at most 200 bytes)."""
    _hook(client, team[E], route.parent, maxBytes=200)
    return route


def _jobs(client: TestClient) -> list[Job]:
    with _platform(client).db.session() as s:
        return list(s.scalars(select(Job).where(Job.config_type == "route")))


def test_the_token_queues_the_route_and_the_run_writes_its_entities(
        client: TestClient, hooked: Path) -> None:
    body = _ok(client.post(HOOK, content=b'{"changed": 1}',
                           headers={"Authorization": f"Bearer {TOKEN}"}))
    assert body["space"] == "team-a"
    assert body["routes"] == ["orders"]
    assert [j.id for j in _jobs(client)] == body["jobs"]
    run_jobs(client)
    with sqlite3.connect(hooked) as db:
        assert db.execute("SELECT count(*) FROM orders_out").fetchone()[0] == 2
    with _platform(client).db.session() as s:
        entry = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "webhook.receive")).one()
    assert entry.space == "team-a"
    assert "orders" in entry.message


def test_a_signature_of_the_body_is_accepted_and_a_wrong_one_refused(
        client: TestClient, hooked: Path) -> None:
    payload = b'{"id": 7}'
    good = hmac.new(SECRET.encode(), payload, hashlib.sha256).hexdigest()
    _ok(client.post(HOOK, content=payload, headers={"X-Signature-SHA256": f"sha256={good}"}))
    bad = hmac.new(b"another secret", payload, hashlib.sha256).hexdigest()
    _error(client.post(HOOK, content=payload, headers={"X-Signature-SHA256": bad}), 401)
    # the signature of another body does not carry over
    _error(client.post(HOOK, content=b'{"id": 8}', headers={"X-Signature-SHA256": good}), 401)
    assert len(_jobs(client)) == 1


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": f"Bearer {TOKEN}x"}])
def test_without_or_with_a_wrong_secret_is_401_and_queues_nothing(
        client: TestClient, hooked: Path, headers: dict[str, str]) -> None:
    _error(client.post(HOOK, content=b"{}", headers=headers), 401)
    assert _jobs(client) == []


def test_a_body_over_the_limit_is_413(client: TestClient, hooked: Path) -> None:
    r = client.post(HOOK, content=b"x" * 201, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 413, r.text
    assert _jobs(client) == []


def test_an_incoming_without_webhook_or_unknown_is_404(
        client: TestClient, route: Path) -> None:  # noqa: F811
    _error(client.post(HOOK, content=b"{}", headers={"Authorization": f"Bearer {TOKEN}"}),
           404)
    _error(client.post("/api/v1/webhook/nothing", content=b"{}"), 404)


def test_the_secrets_are_sealed_at_rest_and_masked(
        client: TestClient, hooked: Path, team: dict[str, dict[str, str]]) -> None:  # noqa: F811
    shown: Any = _ok(client.get(f"{URL}/incoming-configuration/orders-in?space=team-a",
                                headers=team[E]))
    text = str(shown)
    assert TOKEN not in text
    assert SECRET not in text
    with _platform(client).db.session() as s:
        stored = s.scalars(select(Configuration).where(
            Configuration.identifier == "orders-in")).one()
        assert TOKEN not in str(stored.object)
        assert SECRET not in str(stored.object)


def test_posted_entities_become_the_runs_tasks(
        client: TestClient, team: dict[str, dict[str, str]], route: Path) -> None:  # noqa: F811
    _hook(client, team[E], route.parent, entities=True)
    posted = [{"id": 10, "sku": "zz-10", "qty": 4}, {"id": 11, "sku": "yy", "qty": 0},
              {"id": 12, "qty": 1}]
    body = _ok(client.post(HOOK, json=posted, headers={"Authorization": f"Bearer {TOKEN}"}))
    assert len(body["jobs"]) == 1
    run_jobs(client)
    with sqlite3.connect(route) as db:  # only the posted entities, not the source's rows
        assert db.execute("SELECT code, qty FROM orders_out").fetchall() == [("ZZ-10", 4)]
    got = {t["entityIdentifier"]: t["status"] for t in _tasks(client, team[E])}
    assert got == {"10": "finished", "11": "skipped", "12": "failed"}
    bad = client.post(HOOK, content=b"[1, 2]", headers={"Authorization": f"Bearer {TOKEN}"})
    assert _error(bad, 400)["violations"][0]["propertyPath"] == "body[0]"
