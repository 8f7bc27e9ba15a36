"""The role matrix over every operation of every face (issue 11): each operation of the app
x viewer, editor, administrator, system administrator x the caller's own space or a space
they are not in. Refused changes answer 403 in the face's own error body and change nothing;
a foreign space's objects are 404; allowed calls succeed; and nothing of the foreign space
(whose names and values carry a mark) shows in any answer to a non-member.

The app and both spaces are built once for the module (SQLite metadata). Calls that start a
job are asserted up to its acceptance (the jobs are not run)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Mount

from sluiceway.bootstrap import create_app
from tests.api.conftest import ADMIN, make_settings
from tests.api.matrix_table import ADMIN as ADMIN_CLS
from tests.api.matrix_table import EXCLUDED, OPEN, SELF, SYSTEM, TABLE, WRITE, Op
from tests.api.matrix_world import MARK, RIVAL_ADMIN, A, E, Peer, S, V, World
from tests.helpers import serving

ALUMIO = re.compile(r"^/api/v1/(spaces|users|current_space|tokens|audit_trail|environment|ai/|"
                    r"application|maintenance_windows|environments|statistics|space_workers|"
                    r"system_administrators|di/|platforms|tasks|routes|queue/|subscribers/|"
                    r"transformers/|storages|elasticsearch/|search|webhook/|http-proxy/|oauth)")
UI = ("a web UI page (a session cookie and a CSRF field, not a token): its own matrix, "
      "tests/web/test_role_matrix_ui.py, walks it")


def _routes(routes: list[BaseRoute]) -> Iterator[tuple[str, str]]:
    """Every (method, path) the app serves, through included routers ('*' for a mount)."""
    for r in routes:
        nested = getattr(r, "effective_candidates", None)
        if nested is not None:
            yield from _routes(nested())
        elif isinstance(r, Mount):
            yield "*", r.path
        else:
            for method in sorted(getattr(r, "methods", None) or ()):
                yield method, str(getattr(r, "path", ""))


def entry(method: str, path: str) -> Op:
    """The table's entry of an operation: ``/v1`` paths take their ``/api/v1`` twin's, the
    web UI's pages are walked by their own matrix."""
    if path.startswith("/v1/"):
        return TABLE[(method, "/api" + path)]
    if path.startswith("/ui/"):
        return Op(EXCLUDED, why=UI)
    return TABLE[(method, path)]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("matrix")
    app = create_app(make_settings(tmp, f"sqlite:///{tmp / 'meta.db'}"), run_jobs=False)
    with serving(Peer) as peer, TestClient(app) as client:
        yield World(client, peer).build()
    app.state.platform.close()


def _app_operations() -> list[tuple[str, str]]:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(make_settings(Path(tmp), f"sqlite:///{tmp}/meta.db"),
                         run_jobs=False)
        try:
            return sorted(set(_routes(app.routes)))
        finally:
            app.state.platform.close()


OPERATIONS = _app_operations()
WALKED = [(m, p) for m, p in OPERATIONS if entry(m, p).cls not in (OPEN, EXCLUDED)]


def test_every_operation_of_the_app_has_an_entry() -> None:
    from tests.web.test_role_matrix_ui import TABLE as UI_TABLE

    missing = [f"{m} {p}" for m, p in OPERATIONS
               if (m, p) not in UI_TABLE
               and (m, "/api" + p if p.startswith("/v1/") else p) not in TABLE]
    assert not missing, f"operations without a matrix entry: {missing}"
    stale = sorted(set(TABLE) - {(m, p) for m, p in OPERATIONS})
    assert not stale, f"matrix entries of no operation: {stale}"
    for key, op in TABLE.items():
        assert op.cls not in (OPEN, EXCLUDED) or op.why, f"{key}: say why it is not walked"


def _family(path: str) -> str:
    if path.startswith(("/exports", "/jobs", "/imports")):
        return "datasets"
    if path.startswith("/apis/"):
        return "dumps"
    if path.startswith("/v2/"):
        return "backups"
    if ALUMIO.match(path):
        return "alumio"
    return "airbyte"


def _assert_error_shape(path: str, url: str, status: int, body: Any) -> None:
    family = _family(path)
    if path.startswith("/api/public/"):
        assert (body["status"], body["title"]) == (status, {
            403: "Forbidden", 404: "NotFound"}[status]), body
        assert body["detail"], body
    elif family == "airbyte":
        assert {"message", "exceptionClassName"} <= set(body), body
    elif family == "datasets":
        assert body["errors"][0]["status"] == str(status), body
    elif family == "dumps":
        assert (body["status"], body["url"]) == (status, url), body
    elif family == "backups":
        assert body["type"] == {403: "ForbiddenError", 404: "NotFoundError"}[status], body
    else:
        assert (str(body["status"]), body["type"]) == (
            str(status), {403: "forbidden", 404: "not_found"}[status]), body


def expected(op: Op, who: str, where: str) -> int | None:
    """The status a call must answer, or ``None`` for "one of the entry's successes"."""
    if who == S:
        return None
    if op.cls is SYSTEM:
        return 403
    if where == "foreign" and not op.spaceless:
        return 404
    if op.cls is WRITE and who == V:
        return 403
    if op.cls is ADMIN_CLS and who in (V, E):
        return 403
    return None


def _prepare(world: World, method: str, path: str, op: Op, who: str,
             where: str) -> tuple[str, str, dict[str, Any]]:
    """The call to make (after making what it consumes)."""
    space = world.team if where == "own" or op.spaceless else world.rival
    fresh = op.fresh(world, space) if op.fresh else {}
    personal = world.personal(who if where == "own" else RIVAL_ADMIN, space) \
        if op.cls is SELF and "{my_" in (op.url or "") else {}
    x = SimpleNamespace(**space.ids, ws=space.ws, slug=space.slug, label=space.label,
                        w=world, **fresh, **personal)
    url = (op.url or path).format(**vars(x))
    if path.startswith("/v1/"):
        url = url.removeprefix("/api")
    params = dict(op.params(x)) if op.params else {}
    if ALUMIO.match(path) and not op.spaceless:
        params.setdefault("space", space.slug)
    kw: dict[str, Any] = {"params": params, "follow_redirects": False}
    if op.json is not None:
        kw["json"] = op.json(x)
    if op.content is not None:
        kw["content"] = op.content(x)
    if who == S:
        kw["auth"] = ADMIN
    else:
        kw["headers"] = world.headers[who]
    return method if method != "*" else "GET", url, kw


@pytest.mark.parametrize("where", ["own", "foreign"])
@pytest.mark.parametrize("who", [V, E, A, S], ids=["viewer", "editor", "admin", "sysadmin"])
@pytest.mark.parametrize(("method", "path"), WALKED, ids=[f"{m} {p}" for m, p in WALKED])
def test_role_matrix(world: World, method: str, path: str, who: str, where: str) -> None:
    op = entry(method, path)
    if who == S and where == "foreign" and op.spaceless:
        pytest.skip("a system administrator's call without a space is the same in both")
    want = expected(op, who, where)
    call, url, kw = _prepare(world, method, path, op, who, where)
    before = world.fingerprint() if want in (403, 404) else None
    r = world.client.request(call, url, **kw)
    if want is None:
        if op.cls is SELF and where == "foreign":
            assert r.status_code in (*op.ok, 404), r.text
        else:
            assert r.status_code in op.ok, (r.status_code, r.text)
    else:
        assert r.status_code == want, (r.status_code, r.text)
        _assert_error_shape(path, r.request.url.path, want, r.json())
        assert world.fingerprint() == before, "a refused call changed something"
    if who != S:
        seen = r.text + " ".join(f"{k}: {v}" for k, v in r.headers.items())
        assert MARK not in seen, f"the foreign space leaks: {seen[:2000]}"



def test_a_system_administrators_listings_show_every_space(world: World) -> None:
    """A system administrator acts as an administrator in every space: the listings across
    spaces show the spaces they are not a member of too; members see only their own."""
    team, rival = world.team, world.rival
    custom = world.client.post("/api/v1/source_definitions/create",
                               headers=world.headers[RIVAL_ADMIN], json={
                                   "name": f"custom {MARK}", "dockerRepository": "sample",
                                   "dockerImageTag": "1", "documentationUrl": "https://x.io"})
    assert custom.status_code == 200, custom.text
    for who, spaces in ((S, {team.ws, rival.ws}), (A, {team.ws})):
        kw: dict[str, Any] = {"auth": ADMIN} if who == S else {"headers": world.headers[who]}
        exports = world.client.get("/exports", params={"page[size]": 100}, **kw).json()
        assert {e["attributes"]["project_id"] for e in exports["data"]} == spaces
        queued = world.client.get("/jobs", params={"page[size]": 100}, **kw).json()
        assert {j["attributes"]["project_id"] for j in queued["data"]} >= spaces
        defs = world.client.post("/api/v1/source_definitions/list", json={}, **kw).json()
        names = {d["name"] for d in defs["sourceDefinitions"]}
        assert (f"custom {MARK}" in names) == (who == S)
    runs = world.client.post("/api/v1/jobs/list", auth=ADMIN, json={
        "configTypes": ["sync"], "configId": rival.connection}).json()
    assert rival.job in {j["job"]["id"] for j in runs["jobs"]}


def test_the_foreign_spaces_objects_carry_the_mark(world: World) -> None:
    """The leak check means something: the answers to a system administrator hold the mark
    that no answer to a non-member may hold."""
    rival = world.rival
    for method, url, kw in [
        ("POST", "/api/v1/sources/list", {"json": {"workspaceId": rival.ws}}),
        ("GET", "/exports", {}),
        ("GET", "/api/v1/spaces", {}),
        ("GET", "/api/v1/di/configurations", {"params": {"space": "rival"}}),
        ("GET", "/api/v1/environment/variables", {"params": {"space": "rival"}}),
        ("GET", f"/exports/{rival.export}", {}),
        ("GET", f"/api/v1/storages/{rival.storage}/entity",
         {"params": {"space": "rival", "entity": "k1"}}),
        ("GET", f"/v2/project-backups/{rival.backup}", {}),
    ]:
        r = world.client.request(method, url, auth=ADMIN, **kw)
        assert r.status_code == 200, (url, r.text)
        assert MARK in r.text, url
