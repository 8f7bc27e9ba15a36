"""The contract validator itself: it must accept what the spec allows and name what it does not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.api.openapi_contract import (
    ENV_VAR,
    Contract,
    Validator,
    load_contract,
    reference_dir,
    to_json_schema,
)

WORKSPACE = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
DEFINITION = "decd338e-5647-4c0b-adf4-da0e75f5a750"
SOURCE = "0c9d7ab9-0d06-4f2a-9a3d-21e7a1b7c0f1"

SOURCE_READ: dict[str, Any] = {
    "sourceDefinitionId": DEFINITION, "sourceId": SOURCE, "workspaceId": WORKSPACE,
    "connectionConfiguration": {"host": "db", "port": 5432}, "name": "orders",
    "sourceName": "Postgres",
}
JOB_READ: dict[str, Any] = {
    "id": 7, "configType": "sync", "configId": SOURCE, "createdAt": 1608000000,
    "updatedAt": 1608000060, "status": "succeeded",
}
ATTEMPT_INFO: dict[str, Any] = {
    "attempt": {"id": 0, "status": "succeeded", "createdAt": 1608000000,
                "updatedAt": 1608000060, "recordsSynced": 12},
    "logs": {"logLines": ["started", "done"]},
}


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


def without(base: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in base.items() if k != key}


def job_info(**job_changes: Any) -> dict[str, Any]:
    return {"job": with_(JOB_READ, **job_changes), "attempts": [ATTEMPT_INFO]}


@pytest.fixture(scope="module")
def contract() -> Contract:
    return load_contract()


def test_contract_lists_every_operation(contract: Contract) -> None:
    ops = contract.operations()
    assert len(ops) == 43
    assert len(set(ops)) == 43
    assert ("POST", "/v1/sources/create") in ops
    assert ("GET", "/v1/health") in ops
    assert ("GET", "/v1/debug") in ops
    assert {m for m, _ in ops} == {"GET", "POST"}


# (method, path, status, body, forbid_extra, errors): errors None = valid, else every
# substring the AssertionError must contain.
RESPONSES = [
    ("POST", "/v1/sources/get", 200, SOURCE_READ, False, None),
    ("POST", "/api/v1/sources/get", 200, SOURCE_READ, False, None),
    ("POST", "/v1/sources/get", 200, json.dumps(SOURCE_READ).encode(), False, None),
    ("POST", "/v1/sources/get", 200, without(SOURCE_READ, "sourceName"), False,
     ("at (root)", "'sourceName' is a required property")),
    ("POST", "/v1/sources/get", 200, with_(SOURCE_READ, sourceId="source-1"), False,
     ("/sourceId", "'source-1' is not a 'uuid'")),
    ("POST", "/v1/sources/get", 200, with_(SOURCE_READ, sourceId=SOURCE.upper()), False, None),
    ("POST", "/v1/sources/get", 200, with_(SOURCE_READ, sourceId=SOURCE.replace("-", "")),
     False, ("/sourceId", "uuid")),
    ("POST", "/v1/sources/get", 200, with_(SOURCE_READ, sourceId=None), False,
     ("/sourceId", "None is not of type 'string'")),
    ("POST", "/v1/sources/get", 200, None, False, ("None is not of type 'object'",)),
    ("POST", "/v1/sources/get", 200, b"{not json", False, ("not JSON",)),
    ("POST", "/v1/sources/get", 200, with_(SOURCE_READ, sourceNmae="x"), False, None),
    ("POST", "/v1/sources/get", 200, with_(SOURCE_READ, sourceNmae="x"), True,
     ("'sourceNmae' was unexpected",)),
    ("POST", "/v1/sources/get", 200, SOURCE_READ, True, None),
    ("POST", "/v1/sources/list", 200, {"sources": [with_(SOURCE_READ, extra=1)]}, True,
     ("/sources/0", "'extra' was unexpected")),
    ("POST", "/v1/sources/get", 201, SOURCE_READ, False, ("status 201 is not one of",)),
    ("POST", "/v1/jobs/get", 200, job_info(), False, None),
    ("POST", "/v1/jobs/get", 200, job_info(createdAt="2020-12-15T00:00:00Z"), False,
     ("/job/createdAt", "is not of type 'integer'")),
    ("POST", "/v1/jobs/get", 200, job_info(createdAt=1608000000.0), False,
     ("/job/createdAt", "is not of type 'integer'")),
    ("POST", "/v1/jobs/get", 200, job_info(createdAt=2**63), False, ("/job/createdAt", "int64")),
    ("POST", "/v1/jobs/get", 200, job_info(status="done"), False,
     ("/job/status", "'done' is not one of")),
    ("POST", "/v1/jobs/get", 200, {"job": JOB_READ, "attempts": [{"attempt": {}}]}, False,
     ("/attempts/0", "'logs' is a required property", "/attempts/0/attempt")),
    ("POST", "/v1/sources/delete", 204, None, False, None),
    ("POST", "/v1/sources/delete", 204, b"", False, None),
    ("POST", "/v1/sources/delete", 204, {"deleted": True}, False, ("must have an empty body",)),
    ("POST", "/v1/sources/delete", 200, SOURCE_READ, False, ("status 200 is not one of",)),
    ("POST", "/v1/sources/get", 404, {"message": "x"}, False, None),
    ("POST", "/v1/sources/get", 404, {"message": "x", "id": None}, False, None),
    ("POST", "/v1/sources/get", 404, {}, False, ("'message' is a required property",)),
    ("POST", "/v1/sources/get", 404, {"message": "x", "exceptionStack": "trace"}, False,
     ("/exceptionStack",)),
    ("POST", "/v1/sources/create", 404, {"message": "no such workspace"}, False, None),
    ("POST", "/v1/source_definitions/list", 404, {"message": "x"}, False, ("status 404",)),
    ("POST", "/v1/source_definitions/list", 422, {"message": "x"}, False, ("status 422",)),
    ("GET", "/v1/health", 200, {"db": True}, False, None),
    ("GET", "/v1/health", 200, {"db": "yes"}, False, ("/db", "is not of type 'boolean'")),
    ("GET", "/v1/health", 404, {"message": "x"}, False, None),
    ("POST", "/v1/sources/create", 422,
     {"message": "bad", "validationErrors": [{"propertyPath": "name", "invalidValue": None,
                                              "message": "must not be null"}]}, False, None),
    ("POST", "/v1/sources/create", 422, {"message": "bad", "validationErrors": [{"message": "m"}]},
     False, ("/validationErrors/0", "'propertyPath' is a required property")),
    ("POST", "/v1/sources/create", 422, {"validationErrors": []}, False,
     ("'message' is a required property",)),
]


@pytest.mark.parametrize(("method", "path", "status", "body", "forbid_extra", "errors"), RESPONSES)
def test_validate_response(contract: Contract, method: str, path: str, status: int, body: Any,
                           forbid_extra: bool, errors: tuple[str, ...] | None) -> None:
    if errors is None:
        contract.validate_response(method, path, status, body, forbid_extra=forbid_extra)
        return
    with pytest.raises(AssertionError) as caught:
        contract.validate_response(method, path, status, body, forbid_extra=forbid_extra)
    for expected in errors:
        assert expected in str(caught.value)


# (method, path, body, errors) as above
REQUESTS = [
    ("POST", "/v1/sources/create", {"workspaceId": WORKSPACE, "sourceDefinitionId": DEFINITION,
                                    "connectionConfiguration": {}, "name": "orders"}, None),
    ("POST", "/v1/sources/create", {"sourceDefinitionId": DEFINITION,
                                    "connectionConfiguration": {}, "name": "orders"},
     ("'workspaceId' is a required property",)),
    ("POST", "/v1/sources/get", None, ("a request body is required",)),
    ("POST", "/v1/destination_definitions/update",
     {"destinationDefinitionId": DEFINITION, "dockerImageTag": "0.2.0"}, None),
    ("POST", "/v1/destination_definitions/update", {"destinationDefinitionId": DEFINITION},
     ("'dockerImageTag' is a required property",)),
    ("POST", "/v1/source_definitions/create",
     {"name": "pg", "dockerRepository": "airbyte/source-postgres", "dockerImageTag": "0.1.6",
      "documentationUrl": "https://docs.airbyte.io/integrations/sources/postgres"}, None),
    ("POST", "/v1/source_definitions/create",
     {"name": "pg", "dockerRepository": "airbyte/source-postgres", "dockerImageTag": "0.1.6",
      "documentationUrl": "docs.airbyte.io/postgres"}, ("/documentationUrl", "'uri'")),
    ("POST", "/v1/source_definitions/list", None, None),
    ("POST", "/v1/source_definitions/list", {}, None),
    ("POST", "/v1/source_definitions/list", b"{}", None),
    ("POST", "/v1/sources/get", json.dumps({"sourceId": SOURCE}), None),
    ("POST", "/v1/sources/get", b"", ("a request body is required",)),
    ("POST", "/v1/source_definitions/list", {"workspaceId": WORKSPACE},
     ("takes no request body",)),
    ("POST", "/v1/workspaces/update",
     {"workspaceId": WORKSPACE, "email": "ops@example.com", "initialSetupComplete": True,
      "onboardingComplete": True, "anonymousDataCollection": False, "news": False,
      "securityUpdates": True}, None),
    ("POST", "/v1/workspaces/update",
     {"workspaceId": WORKSPACE, "email": "ops at example", "initialSetupComplete": True,
      "onboardingComplete": True, "anonymousDataCollection": False, "news": False,
      "securityUpdates": True}, ("/email", "'email'")),
    ("POST", "/v1/jobs/get", {"id": 7}, None),
    ("POST", "/v1/jobs/get", {"id": "7"}, ("/id", "is not of type 'integer'")),
    ("POST", "/v1/jobs/get", {"id": -(2**63) - 1}, ("/id", "int64")),
    ("POST", "/v1/jobs/list", {"configType": "sync", "configId": SOURCE}, None),
    ("POST", "/v1/jobs/list", {"configTypes": ["sync"], "configId": SOURCE},
     ("'configType' is a required property",)),
    ("POST", "/v1/connections/create",
     {"sourceId": SOURCE, "destinationId": WORKSPACE, "syncMode": "full_refresh",
      "status": "active", "schedule": {"units": 1, "timeUnit": "fortnights"}},
     ("/schedule/timeUnit", "'fortnights' is not one of")),
]


@pytest.mark.parametrize(("method", "path", "body", "errors"), REQUESTS)
def test_validate_request(contract: Contract, method: str, path: str, body: Any,
                          errors: tuple[str, ...] | None) -> None:
    if errors is None:
        contract.validate_request(method, path, body)
        return
    with pytest.raises(AssertionError) as caught:
        contract.validate_request(method, path, body)
    for expected in errors:
        assert expected in str(caught.value)


def test_every_violation_is_listed_with_the_body(contract: Contract) -> None:
    body = with_(without(SOURCE_READ, "sourceName"), sourceId="nope", name=3)
    with pytest.raises(AssertionError) as caught:
        contract.validate_response("POST", "/v1/sources/get", 200, body)
    message = str(caught.value)
    assert "3 contract violation(s)" in message
    assert "'sourceName' is a required property" in message
    assert "at /sourceId:" in message
    assert "at /name:" in message
    assert '"sourceId": "nope"' in message


def test_unknown_operation_fails(contract: Contract) -> None:
    with pytest.raises(AssertionError, match="not an operation of the contract"):
        contract.validate_response("POST", "/v1/state/get", 200, {})
    with pytest.raises(AssertionError, match="not an operation of the contract"):
        contract.validate_response("GET", "/v1/sources/get", 200, SOURCE_READ)


def test_every_schema_converts_to_valid_json_schema(contract: Contract) -> None:
    for method, path in contract.operations():
        schemas = [contract.request_schema(method, path)]
        for status in contract.allowed_statuses(method, path):
            for forbid in (False, True):
                schemas.append(contract.response_schema(method, path, status, forbid_extra=forbid))
        for schema in filter(None, schemas):
            Validator.check_schema(schema)
            assert "$ref" not in json.dumps(schema), (method, path)
    assert contract.response_schema("POST", "/v1/sources/delete", 204) is None


def test_conversion_honours_nullable_and_refuses_bad_refs() -> None:
    loop = {"type": "object", "properties": {"next": {"$ref": "#/components/schemas/Loop"}}}
    components = {"Mode": {"type": "string", "enum": ["a", "b"], "nullable": True}, "Loop": loop}
    schema = to_json_schema({"$ref": "#/components/schemas/Mode"}, components)
    assert "nullable" not in schema
    validator = Validator(schema)
    assert validator.is_valid(None)
    assert validator.is_valid("a")
    assert not validator.is_valid("c")
    with pytest.raises(ValueError, match="unresolvable"):
        to_json_schema({"$ref": "#/components/schemas/Missing"}, components)
    with pytest.raises(ValueError, match="recursive"):
        to_json_schema({"$ref": "#/components/schemas/Loop"}, components)


def test_missing_document_skips(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert reference_dir() == tmp_path
    with pytest.raises(pytest.skip.Exception, match="airbyte-config-api.yaml not found"):
        load_contract()
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "absent"))
    assert reference_dir() is None
    with pytest.raises(pytest.skip.Exception, match=ENV_VAR):
        load_contract()
