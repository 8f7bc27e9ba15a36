"""Configurations on the platform API (#42, #48, #56-64) with their history (#43-44): schema
checks, secrets sealed and masked, labels, favourites per user, deletes refused while others
use a configuration, and the roles."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from sluiceway.secrets import unseal
from sluiceway.services.platform import Platform
from sluiceway.store.models import Configuration
from tests.api.conftest import A, E, V
from tests.api.test_alumio_face import _error, _platform

URL = "/api/v1/di/configurations"

RENAME = {"type": "transformer", "identifier": "rename-fields", "name": "Rename fields",
          "object": {"prototype": "rename", "parameters": {"mapping": {"nm": "name"}}}}
INCOMING = {"type": "incoming-configuration", "identifier": "orders-in", "name": "Orders",
            "object": {"prototype": "postgres", "parameters": {
                "stream": "orders", "configuration": {
                    "host": "db.example", "port": 5432, "database": "shop",
                    "username": "sync", "password": "pg-secret-value"}}}}



def _ok(r: Any) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


def test_a_configuration_round_trips_and_every_save_is_a_revision(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    made = _ok(client.post(URL, headers=team[E], json=RENAME))["object"]
    assert (made["type"], made["identifier"], made["editor"]) == (
        "transformer", "rename-fields", E)
    assert made["object"] == RENAME["object"]
    assert (made["disabled"], made["label"], made["tag"]) == (False, [], [])
    changed = {**RENAME, "name": "Renamer",
               "object": {"prototype": "rename", "parameters": {"mapping": {"a": "b"}}}}
    assert _ok(client.put(URL, headers=team[E], json=changed))["object"]["name"] == "Renamer"
    patched = _ok(client.patch(URL, headers=team[E], json={
        "type": "transformer", "identifier": "rename-fields", "description": "maps keys"}))
    assert patched["object"]["name"] == "Renamer"
    assert patched["object"]["description"] == "maps keys"
    got = _ok(client.get(f"{URL}/transformer/rename-fields", headers=team[V]))["object"]
    assert got["object"]["parameters"] == {"mapping": {"a": "b"}}

    history = _ok(client.get(f"{URL}/transformer/rename-fields/history", headers=team[V]))
    assert history["metadata"]["totalCount"] == 3
    ulids = [h["ulid"] for h in history["results"]]
    assert ulids == sorted(ulids, reverse=True)  # newest first, ULIDs ascend
    first = history["results"][-1]
    assert (first["name"], first["object"]) == ("Rename fields", RENAME["object"])

    restored = _ok(client.post(f"{URL}/transformer/rename-fields/restore", headers=team[E],
                               json={"ulid": first["ulid"]}))["object"]
    assert restored["ulid"] > ulids[0]
    assert restored["name"] == "Rename fields"
    got = _ok(client.get(f"{URL}/transformer/rename-fields", headers=team[V]))["object"]
    assert got["object"] == RENAME["object"]
    again = _ok(client.get(f"{URL}/transformer/rename-fields/history", headers=team[V]))
    assert again["metadata"]["totalCount"] == 4  # history is never rewritten
    assert [h["ulid"] for h in again["results"][1:]] == ulids


def test_a_configuration_is_created_with_an_identifier_made_from_its_name(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    body = {k: v for k, v in RENAME.items() if k != "identifier"} | {"name": "My Rename!"}
    assert _ok(client.post(URL, headers=team[E], json=body))["object"][
        "identifier"] == "my-rename"
    assert _ok(client.post(URL, headers=team[E], json=body))["object"][
        "identifier"] == "my-rename-2"
    _error(client.post(URL, headers=team[E], json=RENAME | {"identifier": "my-rename"}), 409)


BREAKS = [
    ({"object": {"prototype": "rename", "parameters": {}}}, "object.parameters.mapping"),
    ({"object": {"prototype": "rename", "parameters": {"mapping": {"a": 1}}}},
     "object.parameters.mapping.a"),
    ({"object": {"prototype": "teleport", "parameters": {}}}, "object.prototype"),
    ({"type": "listener"}, "type"),
    ({"identifier": "Not Valid"}, "identifier"),
    ({"name": ""}, "name"),
]


def test_a_configuration_that_breaks_its_prototype_is_400_naming_the_field(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    for change, path in BREAKS:
        err = _error(client.post(URL, headers=team[E], json=RENAME | change), 400)
        assert path in [v["propertyPath"] for v in err["violations"]], (change, err)
    assert _ok(client.get(URL, headers=team[V]))["metadata"]["totalCount"] == 0


def test_put_and_patch_of_a_missing_configuration_are_404(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    _error(client.put(URL, headers=team[E], json=RENAME), 404)
    _error(client.patch(URL, headers=team[E], json={"type": "transformer",
                                                    "identifier": "nope"}), 404)
    _error(client.get(f"{URL}/transformer/nope/history", headers=team[E]), 404)


def test_secrets_are_sealed_at_rest_masked_and_kept_by_the_mask(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    shown = _ok(client.post(URL, headers=team[E], json=INCOMING))["object"]
    assert shown["object"]["parameters"]["configuration"]["password"] == "**********"
    p: Platform = _platform(client)
    with p.db.session() as s:
        stored = s.scalars(select(Configuration)).one().object
    assert "pg-secret-value" not in json.dumps(stored)
    history = _ok(client.get(f"{URL}/incoming-configuration/orders-in/history",
                             headers=team[E]))
    assert "pg-secret-value" not in json.dumps(history)

    # the mask sent back keeps the stored secret
    same = json.loads(json.dumps(INCOMING))
    same["object"]["parameters"]["configuration"]["password"] = "**********"
    same["object"]["parameters"]["stream"] = "orders_v2"
    _ok(client.put(URL, headers=team[E], json=same))
    with p.db.session() as s:
        kept = unseal(s.scalars(select(Configuration)).one().object, p.cipher)
    assert kept["parameters"]["stream"] == "orders_v2"
    assert kept["parameters"]["configuration"]["password"] == "pg-secret-value"
    # ... but never to a new host
    same["object"]["parameters"]["configuration"]["host"] = "evil.example"
    err = _error(client.put(URL, headers=team[E], json=same), 400)
    assert err["violations"][0]["propertyPath"] == (
        "object.parameters.configuration.password")
    trail = _ok(client.get("/api/v1/audit_trail/current_space", headers=team[A]))
    assert "pg-secret-value" not in json.dumps(trail)


def test_a_variable_reference_is_kept_and_shown_as_written(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    body = json.loads(json.dumps(INCOMING))
    body["object"]["parameters"]["configuration"] |= {"port": "${PG_PORT}",
                                                      "password": "${PG_PASSWORD}"}
    shown = _ok(client.post(URL, headers=team[E], json=body))["object"]
    assert shown["object"]["parameters"]["configuration"]["port"] == "${PG_PORT}"
    assert shown["object"]["parameters"]["configuration"]["password"] == "${PG_PASSWORD}"


def test_labels_status_and_favourites(client: TestClient,
                                      team: dict[str, dict[str, str]]) -> None:
    _ok(client.post(URL, headers=team[E], json=RENAME))
    labels = _ok(client.put(f"{URL}/transformer/rename-fields/labels", headers=team[E],
                            json={"labels": ["crm", "nightly", "crm"]}))
    assert labels == {"metadata": {"totalCount": 2},
                      "results": [{"name": "crm"}, {"name": "nightly"}]}
    status = _ok(client.put(f"{URL}/transformer/rename-fields/status", headers=team[E],
                            json={"disabled": True}))["object"]
    assert (status["disabled"], status["label"]) == (True, ["crm", "nightly"])
    filt = json.dumps({"where": {"disabled": True}})
    assert _ok(client.get(URL, headers=team[V], params={"filter": filt}))[
        "metadata"]["totalCount"] == 1

    fav = _ok(client.post("/api/v1/di/favourites", headers=team[V],
                          json={"type": "transformer", "identifier": "rename-fields"}))
    assert (fav["space"], fav["user"], fav["tag"], fav["favourite"]) == (
        "team-a", V, ["favourite"], True)
    assert _ok(client.get(f"{URL}/transformer/rename-fields", headers=team[V]))[
        "object"]["tag"] == ["favourite"]
    assert _ok(client.get(f"{URL}/transformer/rename-fields", headers=team[E]))[
        "object"]["tag"] == []  # favourites are per user
    off = _ok(client.post("/api/v1/di/favourites", headers=team[V],
                          json={"type": "transformer", "identifier": "rename-fields"}))
    assert off["favourite"] is False
    assert _ok(client.get(f"{URL}/transformer/rename-fields", headers=team[V]))[
        "object"]["tag"] == []


def test_a_configuration_in_use_is_not_deleted(client: TestClient,
                                               team: dict[str, dict[str, str]]) -> None:
    _ok(client.post(URL, headers=team[E], json=RENAME))
    _ok(client.post(URL, headers=team[E], json={
        "type": "transformer", "identifier": "all-steps", "name": "All",
        "object": {"prototype": "chain", "parameters": {"transformers": ["rename-fields"]}}}))
    err = _error(client.delete(f"{URL}/transformer/rename-fields", headers=team[E]), 409)
    assert "transformer/all-steps" in err["detail"]
    err = _error(client.post(f"{URL}/transformer/delete", headers=team[E], json={
        "filter": {"where": {"identifier": "rename-fields"}}}), 409)
    # deleting both at once leaves no dependant behind
    r = _ok(client.post(f"{URL}/transformer/delete", headers=team[E],
                        json={"filter": json.dumps({"where": {"name": {"inq": [
                            "All", "Rename fields"]}}})}))
    assert r == {"deleted": 2}
    assert _ok(client.get(URL, headers=team[E]))["metadata"]["totalCount"] == 0
    # the history outlives the configuration, and a restore brings it back
    history = _ok(client.get(f"{URL}/transformer/rename-fields/history", headers=team[E]))
    ulid = history["results"][0]["ulid"]
    _ok(client.post(f"{URL}/transformer/rename-fields/restore", headers=team[E],
                    json={"ulid": ulid}))
    assert _ok(client.get(f"{URL}/transformer/rename-fields", headers=team[E]))[
        "object"]["name"] == "Rename fields"


def test_every_change_is_audited(client: TestClient, team: dict[str, dict[str, str]]) -> None:
    _ok(client.post(URL, headers=team[E], json=RENAME))
    _ok(client.put(f"{URL}/transformer/rename-fields/status", headers=team[E],
                   json={"disabled": True}))
    _ok(client.delete(f"{URL}/transformer/rename-fields", headers=team[E]))
    trail = _ok(client.get("/api/v1/audit_trail/current_space", headers=team[A],
                           params={"filter": json.dumps({"where": {
                               "category": "configuration"}, "order": "createdAt asc"})}))
    assert [e["action"] for e in trail["results"]] == [
        "configuration.create", "configuration.disable", "configuration.delete"]
    assert {e["user"] for e in trail["results"]} == {E}


def test_roles_viewers_read_editors_write(client: TestClient,
                                          team: dict[str, dict[str, str]]) -> None:
    for who, status in ((E, 200), (A, 200), (V, 403)):
        r = client.post(URL, headers=team[who], json=RENAME | {"identifier": f"r-{who[:4]}"})
        assert r.status_code == status, r.text
        assert _ok(client.get(URL, headers=team[who]))["metadata"]["totalCount"] >= 1
        # a foreign space is not found, for reading and for writing
        _error(client.get(URL, headers=team[who], params={"space": "default"}), 404)
        _error(client.post(URL, headers=team[who], params={"space": "default"},
                           json=RENAME), 404)


def test_a_schedule_from_an_encrypted_variable_is_refused_when_saved(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    variables = "/api/v1/environment/variables"
    _ok(client.post(variables, headers=team[E], json={"name": "NIGHTLY",
                                                      "value": "0 2 * * *"}))
    _ok(client.post(variables, headers=team[A], json={
        "name": "SECRET_CRON", "value": "0 3 * * *", "encrypted": True,
        "allowedTargets": ["api.example"]}))
    entry = {"type": "scheduler-entry", "identifier": "nightly", "name": "Nightly",
             "object": {"prototype": "cron", "parameters": {
                 "expression": "${NIGHTLY}",
                 "commands": [{"command": "route:run", "arguments": {"route": "r"}}]}}}
    saved = _ok(client.post(URL, headers=team[E], json=entry))
    assert saved["object"]["object"]["parameters"]["expression"] == "${NIGHTLY}"
    secret = json.loads(json.dumps(entry))
    secret["identifier"] = "secret"
    secret["object"]["parameters"]["expression"] = "${SECRET_CRON}"
    err = _error(client.post(URL, headers=team[A], json=secret), 400)
    assert "encrypted variable ${SECRET_CRON}" in json.dumps(err)
    assert "object.parameters.expression" in json.dumps(err)
    secret["identifier"] = "nightly"
    _error(client.put(URL, headers=team[A], json=secret), 400)
    kept = _ok(client.get(f"{URL}/scheduler-entry/nightly", headers=team[E]))
    assert kept["object"]["object"]["parameters"]["expression"] == "${NIGHTLY}"
