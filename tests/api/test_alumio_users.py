"""The platform API's users beyond a space's own list: the current space's users (#26-29),
preferences (#30, #35), terms (#36), table filters (#31-34), system administrators (#130-133
and delete), ``retry_sync`` (#10), the Airbyte face's workspace list for system
administrators; and the role matrix over all of them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api import test_alumio_face as face
from tests.api.conftest import ADMIN
from tests.api.test_alumio_face import _bearer, _error

V, E, A = face.V, face.E, face.A
CS = "/api/v1/current_space/users"
TF = "/api/v1/users/current/table_filters"
SA = "/api/v1/system_administrators"
Team = dict[str, dict[str, str]]


def _trail(client: TestClient, action: str) -> list[dict[str, Any]]:
    filt = json.dumps({"where": {"action": action}})
    r = client.get("/api/v1/audit_trail", params={"filter": filt}, auth=ADMIN)
    results: list[dict[str, Any]] = r.json()["results"]
    return results


def test_current_space_users_are_the_space_users(client: TestClient, team: Team) -> None:
    # without ?space the current space is the caller's first: team-a for its members
    listed = client.get(CS, headers=team[V]).json()
    assert listed["metadata"] == {"totalCount": 3}
    assert {u["email"]: u["roles"] for u in listed["results"]} == {
        V: ["ROLE_USER"], E: ["ROLE_EDITOR"], A: ["ROLE_ADMINISTRATOR"]}
    new = {"email": "new@team.example", "roles": ["ROLE_EDITOR"]}
    _error(client.post(CS, json=new, headers=team[E]), 403)
    r = client.post(CS, json=new, headers=team[A])
    assert r.json() == {"object": new}
    _error(client.post(CS, json=new, headers=team[A]), 409)
    r = client.get(f"{CS}/new@team.example", headers=team[V])
    assert r.json() == {"object": new}
    r = client.put(f"{CS}/new@team.example", headers=team[A],
                   json={"email": "new@team.example", "roles": ["ROLE_USER"]})
    assert r.json()["object"]["roles"] == ["ROLE_USER"]
    members = client.get("/api/v1/spaces/team-a/users/new@team.example", headers=team[A])
    assert members.json()["object"] == {"email": "new@team.example", "space": "team-a",
                                        "roles": ["ROLE_USER"]}
    filt = json.dumps({"where": {"roles": "ROLE_USER"}, "order": "email desc"})
    r = client.get(CS, params={"filter": filt}, headers=team[V])
    assert [u["email"] for u in r.json()["results"]] == [V, "new@team.example"]
    assert [e["spaceIdentifier"] for e in _trail(client, "space_user.update")] == ["team-a"]


BAD_USERS = [
    ({"email": "x@team.example", "roles": []}, "roles"),
    ({"email": "x@team.example", "roles": ["ROLE_OWNER"]}, "roles.0"),
    ({"email": "x@team.example", "roles": ["ROLE_USER", "ROLE_USER"]}, "roles"),
    ({"email": "not-an-email", "roles": ["ROLE_USER"]}, "email"),
    ({"roles": ["ROLE_USER"]}, "email"),
]


def test_a_bad_current_space_user_is_400_naming_the_field(client: TestClient,
                                                          team: Team) -> None:
    for body, path in BAD_USERS:
        err = _error(client.post(CS, json=body, headers=team[A]), 400)
        assert path in [v["propertyPath"] for v in err["violations"]], (body, err)


def test_a_bad_filter_on_current_space_users_names_the_column(client: TestClient,
                                                               team: Team) -> None:
    err = _error(client.get(CS, params={"filter": '{"where": {"password": "x"}}'},
                            headers=team[A]), 400)
    assert err["violations"][0]["propertyPath"] == "filter.where.password"


def test_preferences_merge_and_the_terms_time_is_kept(client: TestClient, team: Team) -> None:
    url = "/api/v1/users/preferences/update"
    r = client.put(url, headers=team[V], json={"updatedPreferences": {"theme": "dark",
                                                                      "pageSize": 50}})
    assert r.status_code == 200, r.text
    assert r.json()["object"]["preferences"] == {"theme": "dark", "pageSize": 50}
    r = client.put(url, headers=team[V], json={"updatedPreferences": {"pageSize": None,
                                                                      "lang": "nl"}})
    assert r.json()["object"]["preferences"] == {"theme": "dark", "lang": "nl"}
    me = client.get("/api/v1/users/current", headers=team[V]).json()["object"]
    assert (me["email"], me["roles"], me["preferences"], me["termsAcceptedAt"]) == (
        V, ["ROLE_USER"], {"theme": "dark", "lang": "nl"}, None)
    # another user's are their own
    assert client.get("/api/v1/users/current", headers=team[E]).json()["object"][
        "preferences"] == {}
    err = _error(client.put(url, headers=team[V], json={"updatedPreferences": "dark"}), 400)
    assert err["violations"][0]["propertyPath"] == "updatedPreferences"
    err = _error(client.put(url, headers=team[V], json={
        "updatedPreferences": {"blob": "x" * 70000}}), 400)
    assert err["violations"][0]["propertyPath"] == "updatedPreferences"
    r = client.post("/api/v1/users/current/accept_terms", headers=team[V])
    assert r.status_code == 200, r.text
    accepted = r.json()["object"]
    assert (accepted["email"], accepted["roles"]) == (V, ["ROLE_USER"])
    assert accepted["termsAcceptedAt"] is not None
    me = client.get("/api/v1/users/current", headers=team[V]).json()["object"]
    assert me["termsAcceptedAt"] == accepted["termsAcceptedAt"]
    assert [e["user"] for e in _trail(client, "user.accept_terms")] == [V]
    assert len(_trail(client, "user.preferences")) == 2


def test_preferences_within_a_space_are_the_members_own(client: TestClient,
                                                        team: Team) -> None:
    url = "/api/v1/current_space/preferences"
    r = client.put(url, params={"space": "team-a"}, headers=team[E],
                   json={"updatedPreferences": {"dashboard": "routes"}})
    assert r.json() == {"object": {"email": E, "roles": ["ROLE_EDITOR"],
                                   "preferences": {"dashboard": "routes"}}}
    r = client.put(url, headers=team[E], json={"updatedPreferences": {"tab": 2}})
    assert r.json()["object"]["preferences"] == {"dashboard": "routes", "tab": 2}
    r = client.put(url, headers=team[V], json={"updatedPreferences": {}})
    assert r.json()["object"]["preferences"] == {}
    _error(client.put(url, params={"space": "default"}, headers=team[E],
                      json={"updatedPreferences": {}}), 404)
    # a system administrator who is not a member has no membership to keep them with
    err = _error(client.put(url, params={"space": "team-a"}, auth=ADMIN,
                            json={"updatedPreferences": {"x": 1}}), 409)
    assert "not a member" in err["detail"]


def test_table_filters_are_each_users_own(client: TestClient, team: Team) -> None:
    body = {"tableKey": "tasks", "name": "failed today", "filter": {"status": "failed"}}
    made = client.post(TF, headers=team[V], json=body).json()["object"]
    assert made["user"] == V
    assert {k: made[k] for k in body} == body
    client.post(TF, headers=team[V], json={**body, "tableKey": "routes", "name": "all"})
    mine = client.get(TF, headers=team[V]).json()
    assert mine["metadata"] == {"totalCount": 2}
    filt = json.dumps({"where": {"tableKey": "tasks"}})
    only = client.get(TF, params={"filter": filt}, headers=team[V]).json()["results"]
    assert [f["identifier"] for f in only] == [made["identifier"]]
    for who in (E, A):
        assert client.get(TF, headers=team[who]).json() == {
            "metadata": {"totalCount": 0}, "results": []}
        _error(client.put(f"{TF}/{made['identifier']}", headers=team[who], json=body), 404)
        _error(client.delete(f"{TF}/{made['identifier']}", headers=team[who]), 404)
    _error(client.delete(f"{TF}/{made['identifier']}", auth=ADMIN), 404)
    r = client.put(f"{TF}/{made['identifier']}", headers=team[V],
                   json={**body, "name": "failed", "filter": {"status": "failed", "x": 1}})
    assert r.json()["object"]["filter"] == {"status": "failed", "x": 1}
    assert client.delete(f"{TF}/{made['identifier']}", headers=team[V]).json() == {
        "message": f"Table filter {made['identifier']} deleted"}
    _error(client.delete(f"{TF}/{made['identifier']}", headers=team[V]), 404)
    assert client.get(TF, headers=team[V]).json()["metadata"] == {"totalCount": 1}
    actions = [e["action"] for e in _trail(client, "table_filter.create")]
    assert actions == ["table_filter.create"] * 2


BAD_FILTERS = [
    ({"name": "x", "filter": {}}, "tableKey"),
    ({"tableKey": "t", "name": "x" * 256, "filter": {}}, "name"),
    ({"tableKey": "t", "name": "x", "filter": []}, "filter"),
    ({"tableKey": "t", "name": "x"}, "filter"),
    ({"tableKey": "t", "name": "x", "filter": {}, "owner": "me"}, "owner"),
]


def test_a_bad_table_filter_is_400_naming_the_field(client: TestClient, team: Team) -> None:
    for body, path in BAD_FILTERS:
        err = _error(client.post(TF, headers=team[V], json=body), 400)
        assert path in [v["propertyPath"] for v in err["violations"]], (body, err)


def test_system_administrators_are_managed_by_system_administrators(
        client: TestClient, team: Team) -> None:
    ops = {"email": "ops@team.example", "roles": ["ROLE_SYSTEM_ADMINISTRATOR"]}
    for who in (V, E, A):
        _error(client.get(SA, headers=team[who]), 403)
        _error(client.post(SA, headers=team[who], json=ops), 403)
        _error(client.delete(f"{SA}/admin", headers=team[who]), 403)
    assert client.post(SA, auth=ADMIN, json=ops).json() == {"object": ops}
    _error(client.post(SA, auth=ADMIN, json=ops), 409)
    listed = client.get(SA, auth=ADMIN).json()
    assert listed == {"metadata": {"totalCount": 2}, "results": [
        {"email": "admin", "roles": ["ROLE_SYSTEM_ADMINISTRATOR"]}, ops]}
    assert client.get(f"{SA}/ops@team.example", auth=ADMIN).json() == {"object": ops}
    _error(client.get(f"{SA}/{A}", auth=ADMIN), 404)
    # the new one acts as a system administrator at once: every space, every face
    bearer = _bearer(client, "ops@team.example")
    spaces_seen = client.get("/api/v1/spaces", headers=bearer).json()["results"]
    assert {s["identifier"] for s in spaces_seen} == {"default", "team-a"}
    renamed = {"email": "ops2@team.example", "roles": ["ROLE_SYSTEM_ADMINISTRATOR"]}
    r = client.put(f"{SA}/ops@team.example", auth=ADMIN, json=renamed)
    assert r.json() == {"object": renamed}
    err = _error(client.put(f"{SA}/admin", auth=ADMIN, json=renamed), 409)
    assert "admin" in err["detail"]
    assert client.delete(f"{SA}/ops2@team.example", auth=ADMIN).status_code == 200
    _error(client.get(f"{SA}/ops2@team.example", auth=ADMIN), 404)
    _error(client.get("/api/v1/audit_trail", headers=bearer), 403)  # the role is gone
    err = _error(client.delete(f"{SA}/admin", auth=ADMIN), 409)
    assert "last system administrator" in err["detail"]
    # an existing user is promoted (and keeps their space)
    promoted = {"email": A, "roles": ["ROLE_SYSTEM_ADMINISTRATOR"]}
    assert client.post(SA, auth=ADMIN, json=promoted).status_code == 200
    assert client.delete(f"{SA}/admin", headers=team[A]).status_code == 200
    _error(client.delete(f"{SA}/{A}", headers=team[A]), 409)
    me = client.get("/api/v1/users/current", headers=team[A]).json()["object"]
    assert me["roles"] == ["ROLE_ADMINISTRATOR", "ROLE_SYSTEM_ADMINISTRATOR"]
    actions = [e["action"] for e in client.get(
        "/api/v1/audit_trail", params={"filter": json.dumps(
            {"where": {"action": {"like": "system_administrator.%"}},
             "order": "createdAt asc"})}, headers=team[A]).json()["results"]]
    assert actions == ["system_administrator." + a for a in (
        "create", "update", "delete", "create", "delete")]


BAD_ADMINS = [
    ({"email": "x@team.example", "roles": []}, "roles"),
    ({"email": "x@team.example", "roles": ["ROLE_ADMINISTRATOR"]}, "roles[0]"),
    ({"email": "x@team.example", "roles": ["ROLE_SYSTEM_ADMINISTRATOR"] * 2}, "roles"),
    ({"email": "nope", "roles": ["ROLE_SYSTEM_ADMINISTRATOR"]}, "email"),
    ({"roles": ["ROLE_SYSTEM_ADMINISTRATOR"]}, "email"),
]


def test_a_bad_system_administrator_is_400_naming_the_field(client: TestClient) -> None:
    for body, path in BAD_ADMINS:
        err = _error(client.post(SA, auth=ADMIN, json=body), 400)
        assert path in [v["propertyPath"] for v in err["violations"]], (body, err)


def test_retry_sync_says_there_is_nothing_to_sync(client: TestClient, team: Team) -> None:
    r = client.post("/api/v1/spaces/team-a/retry_sync", auth=ADMIN)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"message"}
    assert "no external system" in r.json()["message"]
    _error(client.post("/api/v1/spaces/nope/retry_sync", auth=ADMIN), 404)
    for space in ("team-a", "default", "nope"):  # the same answer whatever the space
        _error(client.post(f"/api/v1/spaces/{space}/retry_sync", headers=team[A]), 403)
    assert _trail(client, "space.retry_sync") == []


def test_a_system_administrator_lists_every_airbyte_workspace(client: TestClient,
                                                              team: Team) -> None:
    every = client.post("/api/v1/workspaces/list", json={}, auth=ADMIN).json()["workspaces"]
    assert [w["slug"] for w in every] == ["default", "team-a"]
    team_a = next(w["workspaceId"] for w in every if w["slug"] == "team-a")
    r = client.post("/api/v1/workspaces/get", json={"workspaceId": team_a}, auth=ADMIN)
    assert r.json()["slug"] == "team-a"
    for who in (V, E, A):
        seen = client.post("/api/v1/workspaces/list", json={},
                           headers=team[who]).json()["workspaces"]
        assert [w["slug"] for w in seen] == ["team-a"]
    # ...and acts as an administrator there on the Airbyte face too, not a member though
    made = client.post("/api/v1/sources/create", headers=team[E], json={
        "workspaceId": team_a, "sourceDefinitionId": _sample_definition(client),
        "connectionConfiguration": {"rows": 3}, "name": "team source"})
    assert made.status_code == 200, made.text
    source_id = made.json()["sourceId"]
    listed = client.post("/api/v1/sources/list", json={"workspaceId": team_a}, auth=ADMIN)
    assert [s["sourceId"] for s in listed.json()["sources"]] == [source_id]
    renamed = client.post("/api/v1/sources/update", auth=ADMIN, json={
        "sourceId": source_id, "connectionConfiguration": {"rows": 4}, "name": "renamed"})
    assert renamed.status_code == 200, renamed.text
    for who in (V, E, A):  # the team still sees only its own space
        other = client.post("/api/v1/workspaces/get", json={"workspaceId": every[0][
            "workspaceId"]}, headers=team[who])
        assert other.status_code == 404


def _sample_definition(client: TestClient) -> str:
    listed = client.post("/api/v1/source_definitions/list", json={}, auth=ADMIN).json()
    return str(next(d["sourceDefinitionId"] for d in listed["sourceDefinitions"]
                    if d["dockerRepository"] == "sample"))


# --- the role matrix of these operations ---------------------------------------------------

S = "admin"  # the system administrator (HTTP Basic), a member of ``default`` only


def _headers(client: TestClient, team: Team, who: str) -> dict[str, Any]:
    return {"auth": ADMIN} if who == S else {"headers": team[who]}


def _call(client: TestClient, op: str, space: str, kw: dict[str, Any]) -> Any:
    q = {"space": space}
    user = {"email": "new@team.example", "roles": ["ROLE_USER"]}
    prefs = {"updatedPreferences": {"k": 1}}
    tf = {"tableKey": "t", "name": "n", "filter": {}}
    calls: dict[str, Any] = {
        "cs users list": lambda: client.get(CS, params=q, **kw),
        "cs users create": lambda: client.post(CS, params=q, json=user, **kw),
        "cs users get": lambda: client.get(f"{CS}/{V}", params=q, **kw),
        "cs users update": lambda: client.put(
            f"{CS}/{V}", params=q, json={"email": V, "roles": ["ROLE_USER"]}, **kw),
        "cs preferences": lambda: client.put("/api/v1/current_space/preferences", params=q,
                                             json=prefs, **kw),
        "user preferences": lambda: client.put("/api/v1/users/preferences/update",
                                               params=q, json=prefs, **kw),
        "accept terms": lambda: client.post("/api/v1/users/current/accept_terms",
                                            params=q, **kw),
        "current user": lambda: client.get("/api/v1/users/current", params=q, **kw),
        "table filters list": lambda: client.get(TF, **kw),
        "table filters create": lambda: client.post(TF, json=tf, **kw),
        "sysadmins list": lambda: client.get(SA, **kw),
        "sysadmins create": lambda: client.post(SA, json={
            "email": "ops@team.example", "roles": ["ROLE_SYSTEM_ADMINISTRATOR"]}, **kw),
        "retry sync": lambda: client.post(f"/api/v1/spaces/{space}/retry_sync", **kw),
    }
    return calls[op]()


# expected status per role in its own space and in a foreign one (for S: ``default`` is its
# own, ``team-a`` foreign, where it acts as an administrator without being a member)
MATRIX: dict[str, dict[str, tuple[int, int]]] = {
    "cs users list": {V: (200, 404), E: (200, 404), A: (200, 404), S: (200, 200)},
    "cs users create": {V: (403, 404), E: (403, 404), A: (200, 404), S: (200, 200)},
    "cs users get": {V: (200, 404), E: (200, 404), A: (200, 404), S: (404, 200)},
    "cs users update": {V: (403, 404), E: (403, 404), A: (200, 404), S: (404, 200)},
    "cs preferences": {V: (200, 404), E: (200, 404), A: (200, 404), S: (200, 409)},
    "user preferences": {V: (200, 404), E: (200, 404), A: (200, 404), S: (200, 200)},
    "accept terms": {V: (200, 404), E: (200, 404), A: (200, 404), S: (200, 200)},
    "current user": {V: (200, 404), E: (200, 404), A: (200, 404), S: (200, 200)},
    "table filters list": {V: (200, 200), E: (200, 200), A: (200, 200), S: (200, 200)},
    "table filters create": {V: (200, 200), E: (200, 200), A: (200, 200), S: (200, 200)},
    "sysadmins list": {V: (403, 403), E: (403, 403), A: (403, 403), S: (200, 200)},
    "sysadmins create": {V: (403, 403), E: (403, 403), A: (403, 403), S: (200, 200)},
    "retry sync": {V: (403, 403), E: (403, 403), A: (403, 403), S: (200, 200)},
}


@pytest.mark.parametrize("who", [V, E, A, S])
@pytest.mark.parametrize("where", ["own", "foreign"])
def test_role_matrix_of_user_operations(client: TestClient, team: Team, who: str,
                                        where: str) -> None:
    """Every operation in turn (one app per role and place: an app costs a second)."""
    own, foreign = ("default", "team-a") if who == S else ("team-a", "default")
    space = own if where == "own" else foreign
    column = 0 if where == "own" else 1
    seen = {}
    for op in MATRIX:
        r = _call(client, op, space, _headers(client, team, who))
        seen[op] = r.status_code
        if r.status_code != 200:
            _error(r, r.status_code)
        if where == "foreign" and who != S and not op.startswith("table filters"):
            assert "team-a" not in r.text, (op, r.text)
    assert seen == {op: MATRIX[op][who][column] for op in MATRIX}


def _signed_in(client: TestClient, login: str, password: str) -> TestClient:
    """A browser of the web UI signed in as ``login``."""
    from tests.web.conftest import Browser, new_browser

    b: Browser = new_browser(client)
    b.sign_in(login, password)
    return b.client


def test_setting_a_password_follows_the_roles_and_ends_the_users_sessions(
        client: TestClient, team: Team) -> None:
    url = f"/api/v1/users/{V}/password"
    # the viewer is in team-a only: its administrator may give them a password
    _error(client.put(url, json={"password": "editors-pick-1"}, headers=team[E]), 403)
    r = client.put(url, json={"password": "viewer-pass-1"}, headers=team[A])
    assert r.status_code == 200, r.text
    assert r.json()["object"] == {"email": V}
    browser = _signed_in(client, V, "viewer-pass-1")
    assert browser.get("/ui/account", follow_redirects=False).status_code == 200
    # someone else sets it: the viewer's browser session ends, the old password is refused
    r = client.put(url, json={"password": "viewer-pass-2"}, auth=ADMIN)
    assert r.status_code == 200, r.text
    assert browser.get("/ui/account", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/users/current", auth=(V, "viewer-pass-1")).status_code == 401
    assert client.get("/api/v1/users/current", auth=(V, "viewer-pass-2")).status_code == 200
    entry = _trail(client, "user.set_password")[0]
    assert entry["request"]["password"] == "**********", entry
    assert "viewer-pass" not in json.dumps(_trail(client, "user.set_password"))
    # one's own: with the current password
    body = _error(client.put(url, json={"password": "viewer-pass-3"}, headers=team[V]), 400)
    assert [v["propertyPath"] for v in body["violations"]] == ["currentPassword"]
    body = _error(client.put(url, json={"password": "viewer-pass-3",
                                        "currentPassword": "wrong-one-1"}, headers=team[V]),
                  400)
    assert [v["propertyPath"] for v in body["violations"]] == ["currentPassword"]
    r = client.put(url, json={"password": "viewer-pass-3", "currentPassword": "viewer-pass-2"},
                   headers=team[V])
    assert r.status_code == 200, r.text
    assert client.get("/api/v1/users/current", auth=(V, "viewer-pass-3")).status_code == 200
    # the password policy, naming the field; a missing field too
    body = _error(client.put(url, json={"password": "short"}, headers=team[A]), 400)
    assert [v["propertyPath"] for v in body["violations"]] == ["password"]
    body = _error(client.put(url, json={}, headers=team[A]), 400)
    assert "password" in [v["propertyPath"] for v in body["violations"]]
    # a user of a space the caller is not in is not found; one also in a space the
    # caller does not administer (or a system administrator) is refused
    client.put("/api/v1/spaces", auth=ADMIN, json={"identifier": "team-b", "name": "B",
                                                   "purpose": "dev"})
    client.post("/api/v1/spaces/team-b/users", auth=ADMIN,
                json={"email": "far@team.example", "roles": ["ROLE_USER"]})
    _error(client.put("/api/v1/users/far@team.example/password",
                      json={"password": "taken-over-1"}, headers=team[A]), 404)
    _error(client.put("/api/v1/users/nobody@team.example/password",
                      json={"password": "taken-over-1"}, headers=team[A]), 404)
    client.post("/api/v1/spaces/team-b/users", auth=ADMIN,
                json={"email": E, "roles": ["ROLE_USER"]})
    body = _error(client.put(f"/api/v1/users/{E}/password",
                             json={"password": "taken-over-1"}, headers=team[A]), 403)
    assert "team-b" not in json.dumps(body)
    _error(client.put("/api/v1/users/admin/password", json={"password": "taken-over-1"},
                      headers=team[A]), 404)  # a system administrator in no space of A's
    r = client.put(f"/api/v1/users/{E}/password", json={"password": "set-by-sysadmin"},
                   auth=ADMIN)
    assert r.status_code == 200, r.text
    documented = client.get("/openapi.json").json()["paths"]["/api/v1/users/{email}/password"]
    assert "currentPassword" in json.dumps(client.get("/openapi.json").json()["components"]
                                           ["schemas"]["PasswordUpdate"])
    assert "put" in documented


def test_an_email_in_spaces_the_caller_does_not_administer_is_renamed_only_by_a_system_admin(
        client: TestClient, team: Team) -> None:
    client.put("/api/v1/spaces", auth=ADMIN, json={"identifier": "team-b", "name": "B",
                                                   "purpose": "dev"})
    for space in ("team-a", "team-b"):
        client.post(f"/api/v1/spaces/{space}/users", auth=ADMIN,
                    json={"email": "both@team.example", "roles": ["ROLE_USER"]})
    url = "/api/v1/spaces/team-a/users/both@team.example"
    renamed = {"email": "renamed@team.example", "roles": ["ROLE_USER"]}
    # team-a's administrator does not administer team-b: the login stays as it is
    _error(client.put(url, json=renamed, headers=team[A]), 403)
    r = client.get("/api/v1/spaces/team-b/users/both@team.example", auth=ADMIN)
    assert r.status_code == 200, r.text
    # a role change alone is theirs to make
    r = client.put(url, json={"email": "both@team.example", "roles": ["ROLE_EDITOR"]},
                   headers=team[A])
    assert r.json()["object"]["roles"] == ["ROLE_EDITOR"]
    r = client.put(url, json=renamed, auth=ADMIN)
    assert r.status_code == 200, r.text
    r = client.get("/api/v1/spaces/team-b/users/renamed@team.example", auth=ADMIN)
    assert r.status_code == 200, r.text
