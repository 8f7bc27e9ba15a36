"""Generated requests against the served OpenAPI document, every family, in process: no
operation may answer a 5xx it does not document (a documented one, such as a 501 for a
feature that is not configured, is fine).

Each operation gets a few valid and a few invalid requests; then a stateful run follows the
links schemathesis infers between operations (create, then get, update, delete what was
made). The example counts are small to keep the run short; raise ``SLUICEWAY_FUZZ_EXAMPLES``
for a longer search."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from hypothesis.stateful import run_state_machine_as_test
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from sluiceway.bootstrap import create_app
from tests.api.conftest import ADMIN, make_settings

AUTH = {"Authorization": "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode()}
EXAMPLES = int(os.environ.get("SLUICEWAY_FUZZ_EXAMPLES", "3"))
STEPS = int(os.environ.get("SLUICEWAY_FUZZ_STEPS", "10"))
HYPOTHESIS = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck),
                      phases=[Phase.explicit, Phase.generate])


def _undocumented_5xx(case: Any, response: Any) -> str | None:
    status = response.status_code
    if status < 500:
        return None
    documented = case.operation.definition.raw.get("responses") or {}
    if str(status) in documented or f"{str(status)[0]}XX" in documented:
        return None
    return (f"{case.operation.label} answered {status}, which it does not document\n"
            f"{case.as_curl_command(headers=AUTH)}\n{response.text[:500]}")


def _seed(client: TestClient) -> dict[str, str]:
    """One object of each kind, so generated requests reach past "not found"."""
    def post(path: str, body: Any) -> Any:
        r = client.post(path, json=body, headers=AUTH)
        assert r.status_code < 300, r.text
        return r.json()

    ws = post("/api/v1/workspaces/get_by_slug", {"slug": "default"})["workspaceId"]
    sdef = next(d["sourceDefinitionId"] for d in post(
        "/api/v1/source_definitions/list", None)["sourceDefinitions"]
        if d["dockerRepository"] == "sample")
    ddef = next(d["destinationDefinitionId"] for d in post(
        "/api/v1/destination_definitions/list", None)["destinationDefinitions"]
        if d["dockerRepository"] == "duckdb")
    src = post("/api/v1/sources/create", {"workspaceId": ws, "sourceDefinitionId": sdef,
                                          "connectionConfiguration": {"rows": 3},
                                          "name": "s"})["sourceId"]
    dst = post("/api/v1/destinations/create", {
        "workspaceId": ws, "destinationDefinitionId": ddef,
        "connectionConfiguration": {"path": "f.duckdb"}, "name": "d"})["destinationId"]
    conn = post("/api/v1/connections/create", {
        "sourceId": src, "destinationId": dst, "syncMode": "full_refresh",
        "status": "active"})["connectionId"]
    job = post("/api/v1/connections/sync", {"connectionId": conn})["job"]["id"]
    export = post("/exports/export", {"project_id": ws, "source_id": src,
                                      "stream": "events"})["data"]["id"]
    backup = post(f"/v2/projects/{ws}/backups", {})["id"]
    return {"workspaceId": ws, "projectId": ws, "project_id": ws, "sourceId": src,
            "apiId": src, "source_id": src, "destinationId": dst, "destination_id": dst,
            "connectionId": conn, "configId": conn, "sourceDefinitionId": sdef,
            "destinationDefinitionId": ddef, "id": str(job), "/jobs": str(job),
            "/exports": export, "projectBackupId": backup}


def _known(ids: dict[str, str], case: Any) -> Any:
    """The case with the ids it names replaced by those of objects that exist."""
    if isinstance(case.body, dict):
        for key in case.body.keys() & ids.keys():
            case.body[key] = int(ids[key]) if key == "id" else ids[key]
    for key in (case.path_parameters or {}).keys():
        known = ids.get(key) or ids.get("/" + case.operation.path.split("/")[1])
        if known is not None:
            case.path_parameters[key] = known
    for key in (case.query or {}).keys() & ids.keys():
        case.query[key] = ids[key]
    return case


@pytest.fixture
def schema(tmp_path: Path) -> Iterator[tuple[Any, dict[str, str]]]:
    app = create_app(make_settings(tmp_path, f"sqlite:///{tmp_path / 'meta.db'}"),
                     run_jobs=False)
    with TestClient(app) as client:
        ids = _seed(client)
    config = SchemathesisConfig.from_str("[generation]\ndeterministic = true\n")
    yield schemathesis.openapi.from_asgi("/openapi.json", app, config=config), ids
    app.state.platform.close()


def test_the_document_covers_every_family(schema: Any) -> None:
    paths = {op.ok().path for op in schema[0].get_all_operations()}
    for prefix in ("/api/v1/", "/exports", "/jobs", "/imports", "/apis/", "/v2/"):
        assert any(p.startswith(prefix) for p in paths), prefix


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=str)
def test_no_operation_answers_an_undocumented_server_error(schema: Any,
                                                           mode: GenerationMode) -> None:
    api, ids = schema
    failures: list[str] = []
    for result in api.get_all_operations():
        operation = result.ok()
        cases = operation.as_strategy(generation_mode=mode)

        @settings(HYPOTHESIS, max_examples=EXAMPLES if mode is GenerationMode.POSITIVE
                  else max(1, EXAMPLES - 1))
        @given(case=st.one_of(cases, cases.map(lambda c: _known(ids, c))))
        def run(case: Any) -> None:
            failure = _undocumented_5xx(case, case.call(headers=AUTH))
            if failure is not None and failure not in failures:
                failures.append(failure)

        try:
            run()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # an operation without any input to break
    assert not failures, "\n\n".join(failures)


def test_no_sequence_of_linked_operations_answers_an_undocumented_server_error(
        schema: Any) -> None:
    failures: list[str] = []

    class Machine(schema[0].as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": AUTH}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            failure = _undocumented_5xx(case, response)
            if failure is not None and failure not in failures:
                failures.append(failure)

    run_state_machine_as_test(Machine, settings=settings(
        HYPOTHESIS, max_examples=EXAMPLES * 2, stateful_step_count=STEPS))
    assert not failures, "\n\n".join(failures)
