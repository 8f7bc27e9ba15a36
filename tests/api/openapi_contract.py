"""Validate real HTTP exchanges against the Airbyte Configuration API v1 OpenAPI document.

The document lives outside the repository, in ``<repo>/../shared/reference`` (or the folder
named by ``SLUICEWAY_REFERENCE_DIR``); tests that need it skip when it is absent. Its OpenAPI
3.0 schemas are turned into JSON Schema (``$ref`` inlined, ``nullable`` honoured, formats
enforced) and checked with ``jsonschema.Draft7Validator``.
"""

from __future__ import annotations

import functools
import json
import os
import re
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

FILE_NAME = "airbyte-config-api.yaml"
ENV_VAR = "SLUICEWAY_REFERENCE_DIR"

# Error bodies: the 2020 document gives 404 and 422 no schema; these are the shapes later Airbyte
# specs of the same lineage settled on (NotFoundKnownExceptionInfo, InvalidInputExceptionInfo).
NOT_FOUND: dict[str, Any] = {
    "type": "object", "required": ["message"],
    "properties": {
        "message": {"type": "string"},
        "id": {"type": "string", "nullable": True},
        "exceptionClassName": {"type": "string"},
        "exceptionStack": {"type": "array", "items": {"type": "string"}},
    },
}
INVALID_INPUT: dict[str, Any] = {
    "type": "object", "required": ["message"],
    "properties": {
        "message": {"type": "string"},
        "exceptionClassName": {"type": "string"},
        "exceptionStack": {"type": "array", "items": {"type": "string"}},
        "validationErrors": {"type": "array", "items": {
            "type": "object", "required": ["propertyPath"],
            "properties": {
                "propertyPath": {"type": "string"},
                "invalidValue": {"type": "string", "nullable": True},
                "message": {"type": "string", "nullable": True},
            },
        }},
    },
}
ERROR_SCHEMAS: dict[int, dict[str, Any]] = {404: NOT_FOUND, 422: INVALID_INPUT}
# Known typos of the document: schema name -> {as written: as meant}.
REQUIRED_TYPOS: dict[str, dict[str, str]] = {
    "DestinationDefinitionUpdate": {"dockerImageag": "dockerImageTag"},
}
_OPENAPI_ONLY = {"nullable", "example", "discriminator", "readOnly", "writeOnly", "xml",
                 "externalDocs", "deprecated"}
_REF_PREFIX = "#/components/schemas/"
_EMPTY: tuple[Any, ...] = (None, b"", "")


def _configured_dir() -> Path:
    override = os.environ.get(ENV_VAR)
    return (Path(override) if override
            else Path(__file__).resolve().parents[2].parent / "shared" / "reference")


def reference_dir() -> Path | None:
    """The folder holding the reference documents, or None when it does not exist."""
    folder = _configured_dir()
    return folder if folder.is_dir() else None


def load_contract() -> Contract:
    """The parsed contract; skips the calling test when the document is absent."""
    path = _configured_dir() / FILE_NAME
    if not path.is_file():
        pytest.skip(f"{FILE_NAME} not found at {path} (the Airbyte API reference lives outside"
                    f" the repository; set {ENV_VAR} to the folder holding it)")
    return _load(path)


def contract_or_none() -> Contract | None:
    """The parsed contract, or None when the document is absent (behaviour tests still run;
    only the checks against the reference are left out)."""
    path = _configured_dir() / FILE_NAME
    return _load(path) if path.is_file() else None


@functools.cache
def _load(path: Path) -> Contract:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return Contract(yaml.load(path.read_text(encoding="utf-8"), Loader=loader))


# --- formats ----------------------------------------------------------------------------------
FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("uuid")
def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return True  # the type keyword judges non-strings
    try:
        return str(uuid.UUID(value)) == value.lower()  # hyphenated 8-4-4-4-12 form only
    except ValueError:
        return False


def _int_range(bits: int) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        if not isinstance(value, int) or isinstance(value, bool):
            return True  # the type keyword judges non-integers
        return -(1 << (bits - 1)) <= value < 1 << (bits - 1)
    return check


FORMATS.checks("int32")(_int_range(32))
FORMATS.checks("int64")(_int_range(64))


@FORMATS.checks("email")
def _is_email(value: object) -> bool:
    return not isinstance(value, str) or bool(re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value))


@FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and bool(parts.netloc or parts.path) and " " not in value


# JSON integers only: 1.0 is a number, not an int64.
_TYPES = jsonschema.Draft7Validator.TYPE_CHECKER.redefine(
    "integer", lambda _checker, v: isinstance(v, int) and not isinstance(v, bool))
Validator = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft7Validator, type_checker=_TYPES)


# --- OpenAPI 3.0 -> JSON Schema ---------------------------------------------------------------
def to_json_schema(schema: Mapping[str, Any], components: Mapping[str, Any], *,
                   forbid_extra: bool = False, _seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """Inline every ``#/components/schemas`` ``$ref``, turn ``nullable`` into a null type,
    drop OpenAPI-only keywords; with ``forbid_extra`` objects with ``properties`` are closed."""
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith(_REF_PREFIX) or ref[len(_REF_PREFIX):] not in components:
            raise ValueError(f"unresolvable $ref {ref!r}")
        if ref in _seen:
            raise ValueError(f"recursive $ref {ref!r} via {' -> '.join(_seen)}")
        return to_json_schema(components[ref[len(_REF_PREFIX):]], components,
                              forbid_extra=forbid_extra, _seen=(*_seen, ref))

    def sub(s: Mapping[str, Any]) -> dict[str, Any]:
        return to_json_schema(s, components, forbid_extra=forbid_extra, _seen=_seen)

    out: dict[str, Any] = {k: v for k, v in schema.items() if k not in _OPENAPI_ONLY}
    if "properties" in out:
        out["properties"] = {name: sub(s) for name, s in out["properties"].items()}
        if forbid_extra:
            out["additionalProperties"] = False
    for key in ("items", "not"):
        if isinstance(out.get(key), Mapping):
            out[key] = sub(out[key])
    if isinstance(out.get("additionalProperties"), Mapping):
        out["additionalProperties"] = sub(out["additionalProperties"])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in out:
            out[key] = [sub(s) for s in out[key]]
    if schema.get("nullable") is True:
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


class Contract:
    """The operations and schemas of one OpenAPI 3.0 document."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.components: dict[str, Any] = dict(document.get("components", {}).get("schemas", {}))
        for name, fixes in REQUIRED_TYPOS.items():
            if name in self.components and "required" in self.components[name]:
                fixed = [fixes.get(f, f) for f in self.components[name]["required"]]
                self.components[name] = {**self.components[name], "required": fixed}
        self._ops: dict[tuple[str, str], dict[str, Any]] = {
            (method.upper(), path): op
            for path, item in document.get("paths", {}).items()
            for method, op in item.items()
            if method in {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
        }

    def operations(self) -> list[tuple[str, str]]:
        return list(self._ops)

    def _op(self, method: str, path: str) -> dict[str, Any]:
        key = (method.upper(), path.removeprefix("/api") if path.startswith("/api/") else path)
        if key not in self._ops:
            raise AssertionError(f"{method.upper()} {path} is not an operation of the contract")
        return self._ops[key]

    def _convert(self, schema: Mapping[str, Any] | None, forbid: bool) -> dict[str, Any] | None:
        return None if schema is None else to_json_schema(schema, self.components,
                                                          forbid_extra=forbid)

    def allowed_statuses(self, method: str, path: str) -> set[int]:
        op = self._op(method, path)
        listed = {int(code) for code in op.get("responses", {}) if str(code).isdigit()}
        return listed | set(ERROR_SCHEMAS) if "requestBody" in op else listed

    def response_schema(self, method: str, path: str, status: int, *,
                        forbid_extra: bool = False) -> dict[str, Any] | None:
        """The JSON Schema a response body of this status must match; None when it has none."""
        if status in ERROR_SCHEMAS:
            return self._convert(ERROR_SCHEMAS[status], forbid_extra)
        response = self._op(method, path).get("responses", {}).get(str(status), {})
        return self._convert(_json_schema_of(response), forbid_extra)

    def request_schema(self, method: str, path: str, *,
                       forbid_extra: bool = False) -> dict[str, Any] | None:
        return self._convert(_json_schema_of(self._op(method, path).get("requestBody", {})),
                             forbid_extra)

    def validate_response(self, method: str, path: str, status: int, body: Any, *,
                          forbid_extra: bool = False) -> None:
        """Raise AssertionError listing every way this response breaks the contract."""
        where = f"{method.upper()} {path} -> {status}"
        allowed = self.allowed_statuses(method, path)
        if status not in allowed:
            _fail(where, [("", f"status {status} is not one of {sorted(allowed)}")], body)
        if status == 204:
            if body not in _EMPTY:
                _fail(where, [("", "a 204 response must have an empty body")], body)
            return
        _check(where, self.response_schema(method, path, status, forbid_extra=forbid_extra), body)

    def validate_request(self, method: str, path: str, body: Any, *,
                         forbid_extra: bool = False) -> None:
        """Raise AssertionError listing every way this request body breaks the contract."""
        where = f"{method.upper()} {path} request"
        op = self._op(method, path)
        schema = self.request_schema(method, path, forbid_extra=forbid_extra)
        body = _parse(where, body)
        if body is None:
            if op.get("requestBody", {}).get("required"):
                _fail(where, [("", "a request body is required")], body)
            return
        if schema is None and body != {}:
            _fail(where, [("", "the operation takes no request body")], body)
        _check(where, schema, body)


def _json_schema_of(part: Mapping[str, Any]) -> Mapping[str, Any] | None:
    schema: Mapping[str, Any] | None = part.get("content", {}).get("application/json", {})
    return None if schema is None else schema.get("schema")


def _parse(where: str, body: Any) -> Any:
    """Raw bytes or text are parsed as JSON (empty means no body); anything else is as parsed."""
    if not isinstance(body, bytes | str):
        return body
    try:
        return json.loads(body) if body else None
    except ValueError as exc:
        _fail(where, [("", f"the body is not JSON: {exc}")], body)


def _check(where: str, schema: dict[str, Any] | None, body: Any) -> None:
    body = _parse(where, body)
    if schema is None:
        return
    errors = sorted(Validator(schema, format_checker=FORMATS).iter_errors(body),
                    key=lambda e: _pointer(e.absolute_path))
    if errors:
        _fail(where, [(_pointer(e.absolute_path), e.message) for e in errors], body)


def _pointer(parts: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _fail(where: str, violations: list[tuple[str, str]], body: Any) -> NoReturn:
    text = body.decode(errors="replace") if isinstance(body, bytes) else (
        body if isinstance(body, str) else json.dumps(body, default=str))
    excerpt = text if len(text) <= 600 else text[:600] + "..."
    lines = "\n".join(f"  - at {pointer or '(root)'}: {message}" for pointer, message in violations)
    raise AssertionError(f"{where}: {len(violations)} contract violation(s)\n{lines}\n"
                         f"  body: {excerpt}")
