"""The catalogue's data: each configuration type and its prototypes, with a JSON Schema of
the parameters, documentation written from that schema, and test cases.

Types: ``incoming-configuration`` (a prototype per source connector: one stream of it),
``outgoing-configuration`` (a prototype per destination connector), ``route-configuration``
(``route``), ``transformer`` (``set``, ``copy``, ``move``, ``remove``, ``rename``,
``jsonata``, ``filter``, ``hash``, ``mask``, ``split``, ``storage-merge``, ``chain``),
``storage`` (``storage``), ``scheduler-entry`` (``cron``), ``http-client``
(``http-client``) and ``transformer-test``.
A value the schema marks ``x-reference`` names another configuration. Built once from the
connectors' specs; no driver is imported. :mod:`sluiceway.services.prototypes` checks
configurations against it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from sluiceway.connectors import registry
from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.protocol.spec import ConnectorSpec
from sluiceway.secrets import variables as refs
from sluiceway.transforms import entities

SCHEMA = "http://json-schema.org/draft-07/schema#"
IDENTIFIER = r"^[a-z0-9-]+$"
#: connectors that are no integration prototypes (in-process test fixtures)
NOT_OFFERED = frozenset({"memory"})


@dataclass(frozen=True)
class TestCase:
    """A prototype's example: ``parameters`` must validate; for a transformer, ``entity``
    run through it gives ``expected`` (a :class:`entities.Skipped` reason as ``skipped``)."""

    name: str
    parameters: dict[str, Any]
    entity: Any = None
    expected: Any = None
    skipped: str | None = None
    #: for ``storage-merge``: what each storage keeps by key while the case runs
    storage: dict[str, dict[str, Any]] | None = None


@dataclass(frozen=True)
class Prototype:
    type: str
    identifier: str
    name: str
    description: str
    schema: dict[str, Any]
    tests: tuple[TestCase, ...] = ()
    #: checks the schema cannot say (a cron expression, a JSONata expression)
    check: Callable[[dict[str, Any]], list[FieldError]] | None = field(default=None,
                                                                       compare=False)

    @property
    def spec(self) -> ConnectorSpec:
        """The schema as a connector spec: its ``airbyte_secret`` fields are sealed at rest
        and masked when shown."""
        return ConnectorSpec(self.schema)

    @property
    def documentation(self) -> str:
        return _document(self)


@dataclass(frozen=True)
class Type:
    identifier: str
    name: str
    description: str
    prototypes: tuple[Prototype, ...]
    default_prototype: str | None = None

    def prototype(self, identifier: str) -> Prototype:
        for p in self.prototypes:
            if p.identifier == identifier:
                return p
        raise InvalidInput("unknown prototype", [FieldError(
            "object.prototype", f"unknown prototype {identifier!r} of type {self.identifier}; "
            f"one of {', '.join(p.identifier for p in self.prototypes)}", identifier)])

    @property
    def default_schema(self) -> dict[str, Any]:
        """The schema of the type's ``object``: a prototype and its parameters."""
        return {"$schema": SCHEMA, "type": "object", "required": ["prototype", "parameters"],
                "additionalProperties": False,
                "properties": {"prototype": {"type": "string",
                                             "enum": [p.identifier for p in self.prototypes]},
                               "parameters": {"type": "object"}}}


def _obj(properties: dict[str, Any], required: Sequence[str] = (), **extra: Any,
         ) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "required": list(required), **extra}


def _text(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": 255, "description": description,
            **extra}


#: the schema keyword that marks a value as the identifier of another configuration
REFERENCE = "x-reference"


def _ref(what: str) -> dict[str, Any]:
    return _text(f"the identifier of a {what} configuration of this space", pattern=IDENTIFIER,
                 **{REFERENCE: _TYPE_OF.get(what, what)})


_TYPE_OF = {"incoming": "incoming-configuration", "outgoing": "outgoing-configuration"}


def _keys(description: str) -> dict[str, Any]:
    return {"type": "array", "minItems": 1, "uniqueItems": True, "description": description,
            "items": {"type": "string", "minLength": 1, "maxLength": 1000}}


def _spec_of(e: registry.Entry) -> dict[str, Any]:
    schema = copy.deepcopy(e.load_spec().connection_specification)
    schema.pop("$schema", None)
    schema["description"] = (f"the {e.title} connector's own configuration (as its "
                             f"{e.kind} would have it)")
    return schema


def _example(e: registry.Entry) -> dict[str, Any] | None:
    """A configuration of the connector that passes its spec (for the test cases)."""
    examples: dict[str, dict[str, Any]] = {
        "postgres": {"host": "db.example", "port": 5432, "database": "shop",
                     "username": "sync", "password": "${PG_PASSWORD}"},
        "mysql": {"host": "db.example", "port": 3306, "database": "shop", "username": "sync",
                  "password": "${MYSQL_PASSWORD}"},
        "sqlite": {"path": "shop.db"},
        "duckdb": {"path": "shop.duckdb"},
        "sample": {"rows": 10},
    }
    return examples.get(e.name)


#: what lets ``POST /webhook/{identifier}`` start the routes of an incoming: a call must carry
#: the bearer token or an HMAC-SHA256 signature of its body made with the signing secret
_WEBHOOK = _obj({
    "token": _text("the bearer token a webhook call must send (Authorization: Bearer ...)",
                   airbyte_secret=True),
    "signingSecret": _text("the secret a webhook call's X-Signature-SHA256 header (hex "
                           "HMAC-SHA256 of the body, optionally prefixed sha256=) is made "
                           "with", airbyte_secret=True),
    "maxBytes": {"type": "integer", "minimum": 1, "maximum": 16777216, "default": 1048576,
                 "description": "the largest body a webhook call may post"},
    "entities": {"type": "boolean", "default": False,
                 "description": "the posted body (a JSON object or a list of them) is the "
                                "entities the routes run, instead of reading the stream"},
}, description="accept webhook calls that run the routes taking this incoming")


def _incoming(e: registry.Entry) -> Prototype:
    schema = _obj({
        "source": _text("the id of an existing source of this connector (instead of "
                        "configuration)"),
        "configuration": _spec_of(e),
        "stream": _text("the one stream (table, file) read into entities"),
        "cursorField": _text("the field whose growing values mark what was read; without "
                             "it, every run reads the whole stream"),
        "identifierField": _text("the field that identifies an entity (its task's entity "
                                 "identifier)"),
        "webhook": _WEBHOOK,
    }, ["stream"], oneOf=[{"required": ["source"]}, {"required": ["configuration"]}])
    schema["$schema"] = SCHEMA
    tests = [TestCase("by source", {"source": "0b5a4b2e-0000-4000-8000-000000000000",
                                    "stream": "orders"})]
    example = _example(e)
    if example is not None:
        tests.append(TestCase("own configuration", {"configuration": example,
                                                    "stream": "orders"}))
    return Prototype("incoming-configuration", e.name, e.title,
                     f"Reads one stream of a {e.title} source into entities, one per record.",
                     schema, tuple(tests))


def _outgoing(e: registry.Entry) -> Prototype:
    schema = _obj({
        "destination": _text("the id of an existing destination of this connector "
                             "(instead of configuration)"),
        "configuration": _spec_of(e),
        "stream": _text("the table (or file) the entities are written to"),
        "key": _keys("the entity keys that identify it: an entity sent again replaces "
                     "the row with the same key (upsert)"),
    }, ["stream"], oneOf=[{"required": ["destination"]}, {"required": ["configuration"]}])
    schema["$schema"] = SCHEMA
    tests = [TestCase("by destination", {"destination": "0b5a4b2e-0000-4000-8000-00000000000",
                                         "stream": "orders", "key": ["id"]})]
    example = _example(e)
    if example is not None:
        tests.append(TestCase("own configuration", {"configuration": example,
                                                    "stream": "orders", "key": ["id"]}))
    return Prototype("outgoing-configuration", e.name, e.title,
                     f"Writes entities to a {e.title} destination, upserting on the key.",
                     schema, tuple(tests))


def _http_incoming() -> Prototype:
    schema = {"$schema": SCHEMA, **_obj({
        "client": _ref("http-client"),
        "path": _text("the path read, below the client's base URL", maxLength=2000),
        "recordsPath": _text("where the records are in each answer (a dotted path such as "
                             "data.items; default: the answer itself)"),
        "query": {"type": "object", "additionalProperties": {"type": ["string", "number"]},
                  "description": "query parameters sent with every page"},
        "stream": _text("the entities' type (default: the incoming's identifier)"),
        "identifierField": _text("the field that identifies an entity (its task's entity "
                                 "identifier)"),
        "cursorField": _text("the records' field whose growing values mark what was read "
                             "(a dotted path such as updatedAt): a route keeps the highest "
                             "value a finished run saw; without it, every run reads the "
                             "API whole"),
        "cursorParameter": _text("with cursorField: the query parameter that sends the "
                                 "kept value (such as updated_since) so the API answers "
                                 "with newer records only"),
    }, ["client"], dependencies={"cursorField": ["cursorParameter"],
                                 "cursorParameter": ["cursorField"]})}
    return Prototype("incoming-configuration", "http", "HTTP API",
                     "Reads a JSON API through an http-client (its authentication, retries "
                     "and pagination) into entities: the records at recordsPath of each page.",
                     schema, (TestCase("orders", {"client": "shop-api", "path": "/orders",
                                                  "recordsPath": "data",
                                                  "identifierField": "id"}),
                              TestCase("newer orders", {
                                  "client": "shop-api", "path": "/orders",
                                  "cursorField": "updatedAt",
                                  "cursorParameter": "updated_since"})))


def _http_outgoing() -> Prototype:
    schema = {"$schema": SCHEMA, **_obj({
        "client": _ref("http-client"),
        "path": _text("the path sent to, below the client's base URL; {key} takes the "
                      "entity's value of key (a dotted path)", maxLength=2000),
        "method": {"type": "string", "enum": ["POST", "PUT", "PATCH"], "default": "POST"},
        "batchSize": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1,
                      "description": "entities per request (more than 1: a JSON list)"},
        "batchKey": _text("a batch is sent as an object with the list under this key"),
        "stream": _text("the entities' type (default: the outgoing's identifier)"),
        "key": _keys("the entity keys that identify it (optional)"),
    }, ["client"])}
    return Prototype("outgoing-configuration", "http", "HTTP API",
                     "Sends entities to an endpoint through an http-client, one request per "
                     "entity or batched; an entity the endpoint refuses (4xx or 5xx) fails "
                     "its own task with the status and the answer's body.",
                     schema, (TestCase("one by one", {"client": "shop-api",
                                                      "path": "/orders/{id}",
                                                      "method": "PUT"}),
                              TestCase("batched", {"client": "shop-api", "path": "/orders",
                                                   "batchSize": 100})))


def _webhook_incoming() -> Prototype:
    schema = {"$schema": SCHEMA, **_obj({
        **_WEBHOOK["properties"],
        "recordsPath": _text("where the entities are in a posted body (a dotted path; "
                             "default: the body, an object or a list of objects)"),
        "stream": _text("the entities' type (default: the incoming's identifier)"),
        "identifierField": _text("the field that identifies an entity (its task's entity "
                                 "identifier)"),
    }, [], anyOf=[{"required": ["token"]}, {"required": ["signingSecret"]}])}
    for dropped in ("entities",):
        schema["properties"].pop(dropped)
    return Prototype("incoming-configuration", "webhook", "Webhook",
                     "Entities posted to POST /webhook/{identifier} (with the bearer token or "
                     "an HMAC-SHA256 signature of the body): each call runs the routes "
                     "taking this incoming on the entities it posted.",
                     schema, (TestCase("signed", {"signingSecret": "${HOOK_SECRET}",
                                                  "recordsPath": "orders",
                                                  "identifierField": "id"}),))


def _cron_check(parameters: dict[str, Any]) -> list[FieldError]:
    expression, zone = parameters.get("expression"), parameters.get("timezone")
    bad = []
    if (isinstance(expression, str) and not refs.names(expression)
            and not croniter.is_valid(expression)):
        bad.append(FieldError("object.parameters.expression",
                              "is not a valid cron expression (five fields such as "
                              "'*/5 * * * *')", expression))
    if isinstance(zone, str) and not refs.names(zone):
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            bad.append(FieldError("object.parameters.timezone",
                                  "is not an IANA time zone (such as Europe/Amsterdam)", zone))
    return bad


def _jsonata_check(parameters: dict[str, Any]) -> list[FieldError]:
    expression = parameters.get("expression")
    if not isinstance(expression, str) or refs.names(expression):
        return []
    try:
        entities.compile_transformer("jsonata", parameters)
    except InvalidInput as exc:
        return [FieldError("object." + e.path, e.reason, expression) for e in exc.errors]
    return []


_CONDITION = _obj({"key": _text("the entity key (a dotted path)"),
                   "op": {"type": "string", "enum": list(entities.FILTER_OPS)},
                   "value": {"description": "what the key's value is compared with"}},
                  ["key", "op"])


def _transformers() -> list[Prototype]:
    def t(identifier: str, name: str, description: str, schema: dict[str, Any],
          tests: Sequence[TestCase], check: Callable[[dict[str, Any]], list[FieldError]]
          | None = None) -> Prototype:
        return Prototype("transformer", identifier, name, description,
                         {"$schema": SCHEMA, **schema}, tuple(tests), check)

    entity = {"id": 7, "name": "Ada", "address": {"city": "Leiden"}, "email": "a@x.example"}
    return [
        t("set", "Set values", "Sets keys to fixed values.",
          _obj({"values": {"type": "object", "minProperties": 1,
                           "description": "the value of each key (a dotted path)"}},
               ["values"]),
          [TestCase("sets a nested key", {"values": {"address.country": "NL"}}, entity,
                    {**entity, "address": {"city": "Leiden", "country": "NL"}})]),
        t("copy", "Copy a value", "Copies the value of one key to another.",
          _obj({"source": _text("the key read"), "target": _text("the key written")},
               ["source", "target"]),
          [TestCase("copies", {"source": "address.city", "target": "city"}, entity,
                    {**entity, "city": "Leiden"})]),
        t("move", "Move a value", "Moves the value of one key to another.",
          _obj({"source": _text("the key read and removed"),
                "target": _text("the key written")}, ["source", "target"]),
          [TestCase("moves", {"source": "name", "target": "customer.name"}, entity,
                    {"id": 7, "address": {"city": "Leiden"}, "email": "a@x.example",
                     "customer": {"name": "Ada"}})]),
        t("remove", "Remove keys", "Removes keys.",
          _obj({"keys": _keys("the keys removed")}, ["keys"]),
          [TestCase("removes", {"keys": ["email", "address.city"]}, entity,
                    {"id": 7, "name": "Ada", "address": {}})]),
        t("rename", "Rename keys", "Renames keys (old name to new name).",
          _obj({"mapping": {"type": "object", "minProperties": 1,
                            "additionalProperties": {"type": "string", "minLength": 1},
                            "description": "each old key and its new name"}}, ["mapping"]),
          [TestCase("renames", {"mapping": {"name": "fullName"}}, entity,
                    {"id": 7, "fullName": "Ada", "address": {"city": "Leiden"},
                     "email": "a@x.example"})]),
        t("jsonata", "Map with JSONata",
          "Maps the entity with a JSONata expression: the result becomes the entity, or the "
          "value of ``target``.",
          _obj({"expression": {"type": "string", "minLength": 1, "maxLength": 64000,
                               "description": "a JSONata expression over the entity"},
                "target": _text("the key that receives the result (default: the result "
                                "is the new entity)")}, ["expression"]),
          [TestCase("maps", {"expression": '{"id": id, "label": $uppercase(name)}'}, entity,
                    {"id": 7, "label": "ADA"}),
           TestCase("sets a key", {"expression": "address.city & '!'", "target": "shout"},
                    entity, {**entity, "shout": "Leiden!"})],
          _jsonata_check),
        t("filter", "Filter entities",
          "Lets an entity through when its conditions hold (all of them, or any); the "
          "others are skipped with the reason.",
          _obj({"conditions": {"type": "array", "minItems": 1, "items": _CONDITION},
                "match": {"type": "string", "enum": ["all", "any"], "default": "all"}},
               ["conditions"]),
          [TestCase("keeps", {"conditions": [{"key": "id", "op": "gte", "value": 5}]},
                    entity, entity),
           TestCase("skips", {"conditions": [{"key": "address.city", "op": "eq",
                                              "value": "Delft"}]}, entity,
                    skipped="filtered out: address.city eq 'Delft' does not hold")]),
        t("hash", "Hash values", "Replaces values by their hex digest (with an optional "
          "salt).",
          _obj({"keys": _keys("the keys hashed"),
                "algorithm": {"type": "string", "enum": ["sha256", "sha512", "sha1", "md5"],
                              "default": "sha256"},
                "salt": {"type": "string", "maxLength": 1000, "airbyte_secret": True,
                         "description": "text put before each value"}}, ["keys"]),
          [TestCase("hashes", {"keys": ["email"], "algorithm": "md5"}, entity,
                    {**entity, "email": "f94c13b37fe3a35a7c3f27667f074e78"})]),
        t("mask", "Mask values", "Replaces values by a mask, keeping their last characters "
          "when asked.",
          _obj({"keys": _keys("the keys masked"),
                "keepLast": {"type": "integer", "minimum": 0, "maximum": 8, "default": 0}},
               ["keys"]),
          [TestCase("masks", {"keys": ["email"], "keepLast": 3}, entity,
                    {**entity, "email": "**********ple"})]),
        t("split", "Split a list into entities",
          "Makes one entity of each item of the list at ``path`` (an item that is no object "
          "becomes ``{into: item}``; an object there is one item), with the ``parentKeys`` of "
          "the entity copied into each; "
          "the transformers after it run on each item, and in a route each item is a task of "
          "its own (its entity identifier: the entity's, then ``#`` and the item's position). "
          "An entity without items is skipped.",
          _obj({"path": _text("the key of the list (a dotted path)"),
                "parentKeys": {"type": "object", "maxProperties": 100,
                               "additionalProperties": {"type": "string", "minLength": 1,
                                                        "maxLength": 1000},
                               "description": "each key of the entity copied into every item, "
                                              "and its key there"},
                "into": _text("the key an item that is no object is put under (default "
                              "value)")}, ["path"]),
          [TestCase("splits order lines", {"path": "lines", "parentKeys": {"id": "orderId"}},
                    {"id": 7, "lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}]},
                    [{"sku": "A", "qty": 1, "orderId": 7}, {"sku": "B", "qty": 2,
                                                            "orderId": 7}]),
           TestCase("no items", {"path": "lines"}, {"id": 8, "lines": []},
                    skipped="nothing to split: lines has no items")]),
        t("storage-merge", "Merge from a storage",
          "Merges into the entity the value a storage keeps under the key read from the "
          "entity: its keys into the entity, or the whole value at ``target``. When the "
          "storage keeps nothing there the entity goes on as it is (``onMissing``: keep) or "
          "is skipped (skip).",
          _obj({"storage": _ref("storage"),
                "key": _text("the entity key whose value is the storage key (a dotted path)"),
                "target": _text("the key that receives the stored value (default: its keys "
                                "are merged into the entity)"),
                "onMissing": {"type": "string", "enum": ["keep", "skip"], "default": "keep",
                              "description": "what happens to an entity the storage keeps "
                                             "nothing for"}},
               ["storage", "key"]),
          [TestCase("merges", {"storage": "customers", "key": "id", "target": "customer"},
                    {"id": 7}, {"id": 7, "customer": {"tier": "gold"}},
                    storage={"customers": {"7": {"tier": "gold"}}}),
           TestCase("skips the missing", {"storage": "customers", "key": "id",
                                          "onMissing": "skip"}, {"id": 9},
                    skipped="storage customers keeps no entity id=9",
                    storage={"customers": {}})]),
        t("chain", "Chain of transformers", "Runs transformer configurations in order; an "
          "entity one of them skips stops there.",
          _obj({"transformers": {"type": "array", "minItems": 1, "maxItems": 100,
                                 "items": _ref("transformer")}}, ["transformers"]),
          [TestCase("names its transformers", {"transformers": ["rename-fields"]})]),
    ]


_AUTH = {"oneOf": [
    _obj({"type": {"const": "none"}}, ["type"]),
    _obj({"type": {"const": "basic"}, "username": _text("the user"),
          "password": {"type": "string", "airbyte_secret": True}},
         ["type", "username", "password"]),
    _obj({"type": {"const": "bearer"}, "token": {"type": "string", "airbyte_secret": True}},
         ["type", "token"]),
    _obj({"type": {"const": "api-key"},
          "header": _text("the header that carries the key (default X-API-Key)"),
          "queryParameter": _text("instead of a header: the query parameter that carries "
                                  "the key"),
          "key": {"type": "string", "airbyte_secret": True}}, ["type", "key"]),
    _obj({"type": {"const": "oauth2-client-credentials"},
          "tokenUrl": _text("the token endpoint", format="uri"),
          "clientId": _text("the client id"),
          "clientSecret": {"type": "string", "airbyte_secret": True},
          "scope": {"type": "string", "maxLength": 1000}},
         ["type", "tokenUrl", "clientId", "clientSecret"]),
    _obj({"type": {"const": "oauth2-token"},
          "variable": _text("the encrypted variable an OAuth2 authorisation (#94) kept the "
                            "token in (its name, without ${})", pattern=r"^[A-Za-z0-9_-]+$"),
          "tokenUrl": _text("the token endpoint that refreshes it", format="uri"),
          "clientId": _text("the client id (for the refresh)"),
          "clientSecret": {"type": "string", "airbyte_secret": True},
          "scope": {"type": "string", "maxLength": 1000}},
         ["type", "variable"]),
]}
_PAGINATION = {"oneOf": [
    _obj({"type": {"const": "none"}}, ["type"]),
    _obj({"type": {"const": "page"}, "parameter": _text("the page number's query parameter"),
          "start": {"type": "integer", "minimum": 0, "default": 1},
          "sizeParameter": _text("the page size's query parameter"),
          "size": {"type": "integer", "minimum": 1, "maximum": 100000,
                   "description": "the page size (a shorter page is the last)"}},
         ["type", "parameter"]),
    _obj({"type": {"const": "offset"}, "parameter": _text("the offset's query parameter"),
          "limitParameter": _text("the page size's query parameter"),
          "limit": {"type": "integer", "minimum": 1, "maximum": 100000}},
         ["type", "parameter", "limit"]),
    _obj({"type": {"const": "cursor"}, "parameter": _text("the cursor's query parameter"),
          "path": _text("where the next cursor is in the response (a dotted path)")},
         ["type", "parameter", "path"]),
    _obj({"type": {"const": "next-link"},
          "path": _text("where the next page's URL is in the response (a dotted path), or "
                        "'link' for the Link header")}, ["type", "path"]),
]}


def _others() -> list[Type]:
    route = Prototype("route-configuration", "route", "Route",
                      "Takes the entities of an incoming through transformers to an outgoing; "
                      "each entity becomes a task.",
                      {"$schema": SCHEMA, **_obj({
                          "incoming": _ref("incoming"), "outgoing": _ref("outgoing"),
                          "transformers": {"type": "array", "maxItems": 100, "default": [],
                                           "items": _ref("transformer")},
                          "realtime": {"type": "boolean", "default": False},
                          "waitingStatus": {"type": "boolean", "default": False},
                          "changeDetection": _obj({"storage": _ref("storage")}, ["storage"]),
                          "retry": _obj({
                              "maxAttempts": {"type": "integer", "minimum": 0, "maximum": 10},
                              "intervalSeconds": {"type": "integer", "minimum": 1,
                                                  "maximum": 21600}})},
                          ["incoming", "outgoing"])},
                      (TestCase("two ends", {"incoming": "orders-in",
                                             "outgoing": "orders-out"}),))
    storage = Prototype("storage", "storage", "Storage",
                        "Keeps entities by key between runs, each for a time to live.",
                        {"$schema": SCHEMA, **_obj({
                            "ttlSeconds": {"type": ["integer", "null"], "minimum": 1,
                                           "description": "how long an entity is kept "
                                                          "(null: for ever)"},
                            "encrypted": {"type": "boolean", "default": False,
                                          "description": "entity values encrypted at rest"}})},
                        (TestCase("for a day", {"ttlSeconds": 86400}),))
    command = _obj({"command": {"type": "string",
                                "enum": ["incoming:run", "outgoing:run", "route:run"]},
                    "arguments": {"type": "object",
                                  "additionalProperties": {"type": "string"}}},
                   ["command", "arguments"])
    cron = Prototype("scheduler-entry", "cron", "Cron schedule",
                     "Runs commands at the times of a cron expression (never twice for one "
                     "slot).",
                     {"$schema": SCHEMA, **_obj({
                         "expression": _text("a cron expression of five fields"),
                         "timezone": _text("the IANA time zone the expression is read in "
                                           "(default UTC)", default="UTC"),
                         "commands": {"type": "array", "minItems": 1, "items": command},
                         "priority": {"type": "integer", "minimum": 0, "maximum": 10,
                                      "default": 0}}, ["expression", "commands"])},
                     (TestCase("every five minutes", {
                         "expression": "*/5 * * * *",
                         "commands": [{"command": "route:run",
                                       "arguments": {"route": "orders"}}]}),),
                     _cron_check)
    client = Prototype("http-client", "http-client", "HTTP client",
                       "A base URL, its authentication, retries with backoff on 429 and 5xx "
                       "(honouring Retry-After) and pagination.",
                       {"$schema": SCHEMA, **_obj({
                           "baseUrl": _text("the API's base URL", format="uri", maxLength=2000),
                           "headers": {"type": "object",
                                       "additionalProperties": {"type": "string"}},
                           "auth": _AUTH, "pagination": _PAGINATION,
                           "retries": _obj({
                               "maxAttempts": {"type": "integer", "minimum": 0, "maximum": 10,
                                               "default": 3},
                               "backoffSeconds": {"type": "number", "minimum": 0,
                                                  "maximum": 3600, "default": 1},
                               "maxWaitSeconds": {"type": "number", "minimum": 0,
                                                  "maximum": 3600, "default": 60,
                                                  "description": "the longest wait of all "
                                                                 "retries of one request"}}),
                           "timeoutSeconds": {"type": "number", "minimum": 1, "maximum": 3600},
                           "testPath": _text("a path below the base URL that a test of the "
                                             "client (#65, #66) GETs instead of the base "
                                             "URL", maxLength=2000),
                           "public": {"type": "boolean", "default": False,
                                      "description": "the HTTP proxy (/http-proxy/"
                                                     "{identifier}) forwards calls without "
                                                     "a login"},
                       }, ["baseUrl"])},
                       (TestCase("bearer", {"baseUrl": "https://api.example/v1",
                                            "auth": {"type": "bearer",
                                                     "token": "${API_TOKEN}"}}),))
    return [
        Type("route-configuration", "Route", "Moves entities from an incoming through "
             "transformers to an outgoing.", (route,), "route"),
        Type("storage", "Storage", "Entities kept by key between runs.", (storage,),
             "storage"),
        Type("scheduler-entry", "Scheduler entry", "What runs when.", (cron,), "cron"),
        Type("http-client", "HTTP client", "How to call an HTTP API.", (client,),
             "http-client"),
        Type("transformer-test", "Transformer test", "An entity and what a transformer "
             "(its owner) makes of it.", (_transformer_test(),), "transformer-test"),
    ]


def _transformer_test() -> Prototype:
    schema = {"$schema": SCHEMA, **_obj({
        "entity": {"description": "the entity given to the transformer"},
        "expected": {"description": "the entity the transformer must give back"},
        "skipped": _text("instead of expected: the reason the transformer must skip the "
                         "entity with", maxLength=2000),
    }, ["entity"])}
    return Prototype("transformer-test", "transformer-test", "Transformer test",
                     "A test case of the transformer that owns it (a relation of that "
                     "transformer).", schema,
                     (TestCase("renames", {"entity": {"nm": "Ada"},
                                           "expected": {"name": "Ada"}}),))


@cache
def catalogue() -> tuple[Type, ...]:
    sources = [e for e in registry.entries("source") if e.name not in NOT_OFFERED]
    dests = [e for e in registry.entries("destination") if e.name not in NOT_OFFERED]
    return (
        Type("incoming-configuration", "Incoming", "Reads entities from a source: one "
             "stream of it.", (*(_incoming(e) for e in sources), _http_incoming(),
                               _webhook_incoming())),
        Type("outgoing-configuration", "Outgoing", "Writes entities to a destination.",
             (*(_outgoing(e) for e in dests), _http_outgoing())),
        Type("transformer", "Transformer", "Changes, filters or maps entities one by one.",
             tuple(_transformers()), "chain"),
        *_others(),
    )


def one_of_reason(schema: dict[str, Any]) -> str:
    forms = [" and ".join(f["required"]) for f in schema.get("oneOf", [])
             if isinstance(f, dict) and f.get("required")]
    return "must have exactly one of: " + ", ".join(forms)


# --- documentation --------------------------------------------------------------------------

def _kind(schema: Mapping[str, Any]) -> str:
    if "oneOf" in schema:
        forms = [str(f.get("properties", {}).get("type", {}).get("const", "?"))
                 for f in schema["oneOf"] if isinstance(f, dict)]
        return "one of: " + ", ".join(forms)
    kind = schema.get("type", "any")
    if "enum" in schema:
        return " / ".join(str(v) for v in schema["enum"])
    return " or ".join(kind) if isinstance(kind, list) else str(kind)


def _document(p: Prototype) -> str:
    props: dict[str, Any] = p.schema.get("properties", {})
    required = set(p.schema.get("required", []))
    lines = [f"# {p.name} (`{p.identifier}`, {p.type})", "", p.description, "",
             "| parameter | kind | required | description |", "|---|---|---|---|"]
    for name, sub in props.items():
        text = str(sub.get("description") or sub.get("title") or "").replace("|", "\\|")
        lines.append(f"| `{name}` | {_kind(sub)} | {'yes' if name in required else 'no'} "
                     f"| {text} |")
    if "oneOf" in p.schema:
        lines += ["", one_of_reason(p.schema).capitalize() + "."]
    lines += ["", "A value may be a `${NAME}` reference to an environment variable of the "
                  "space; it is resolved when the configuration runs."]
    if p.tests:
        lines += ["", "## Examples", ""]
        for case in p.tests:
            lines.append(f"- {case.name}: `{_json(case.parameters)}`")
    return "\n".join(lines) + "\n"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
