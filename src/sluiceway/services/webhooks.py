"""Webhooks (``POST /webhook/{identifier}``): a call that runs the routes of an incoming.

An incoming accepts webhook calls when its parameters carry ``webhook`` with a bearer
``token`` or a ``signingSecret`` (both sealed at rest). A call must send that token
(``Authorization: Bearer ...``) or the hex HMAC-SHA256 of its body made with the signing
secret (``X-Signature-SHA256``, optionally prefixed ``sha256=``); both are compared in
constant time. An accepted call queues a run of every enabled route that takes the incoming
(the same jobs as a ``incoming:run`` publish) and writes one audit entry. With
``webhook.entities`` the posted body (an object or a list of objects) is what those runs take
as entities, each one a task, instead of reading the incoming's stream.

An incoming of the ``webhook`` prototype is a webhook and nothing else: its parameters are
the token, the signing secret and the body's limit, and every call's body (the records at
its ``recordsPath``) is the entities of its routes' runs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from sluiceway.connectors.http.client import dotted
from sluiceway.core.errors import FieldError, InvalidInput, NotFound, TooLarge
from sluiceway.secrets import unseal
from sluiceway.services import audit, routes
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.models import Configuration, Workspace

INCOMING = "incoming-configuration"
#: the incoming prototype that is a webhook of its own
WEBHOOK = "webhook"
DEFAULT_MAX_BYTES = 1048576
SIGNATURE_HEADER = "X-Signature-SHA256"


class Unauthenticated(Exception):
    """The call carries no secret of the webhook, or a wrong one."""


@dataclass(frozen=True)
class Accepted:
    space: str
    incoming: str
    jobs: tuple[int, ...]
    routes: tuple[str, ...]


def _incoming(p: Platform, identifier: str, space: str | None) -> tuple[Configuration, str]:
    with p.db.session() as s:
        q = select(Configuration, Workspace.slug).join(
            Workspace, Workspace.id == Configuration.workspace_id).where(
            Configuration.type == INCOMING, Configuration.identifier == identifier)
        if space is not None:
            q = q.where(Workspace.slug == space)
        rows = s.execute(q).all()
    hooked = [(c, slug) for c, slug in rows if _prototype(c) == WEBHOOK
              or isinstance(dict(c.object.get("parameters") or {}).get("webhook"), dict)]
    if not hooked:
        raise NotFound(f"no webhook {identifier!r}", identifier)
    if len(hooked) > 1:
        raise InvalidInput("the webhook exists in more than one space", [FieldError(
            "space", "name the space (query parameter space) of the incoming", None)])
    return hooked[0]


def _prototype(c: Configuration) -> str:
    return str(c.object.get("prototype") or c.prototype)


def _authentic(hook: dict[str, Any], authorization: str | None, signature: str | None,
               body: bytes) -> bool:
    token, secret = hook.get("token"), hook.get("signingSecret")
    ok = False
    if isinstance(token, str) and token and authorization is not None:
        scheme, _, given = authorization.partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode())
    if isinstance(secret, str) and secret and signature is not None:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        given = signature.strip().removeprefix("sha256=").lower()
        ok = hmac.compare_digest(given.encode(), expected.encode()) or ok
    return ok


def _entities(body: bytes, records_path: str | None = None) -> list[Any]:
    """The posted entities: a JSON object, or a list of objects (at ``records_path`` of the
    body, a dotted path, when given)."""
    try:
        given = json.loads(body)
    except (ValueError, UnicodeError):
        raise InvalidInput("invalid webhook body", [FieldError(
            "body", "must be JSON: an object or a list of objects")]) from None
    where = "body"
    if records_path:
        given = dotted(given, records_path)
        where = f"body.{records_path}"
        if given is None:
            raise InvalidInput("invalid webhook body", [FieldError(
                where, "is missing: the incoming's recordsPath finds no entities")])
    items = given if isinstance(given, list) else [given]
    bad = [i for i, e in enumerate(items) if not isinstance(e, dict)]
    if bad:
        raise InvalidInput("invalid webhook body", [FieldError(
            f"{where}[{bad[0]}]" if isinstance(given, list) else where,
            "must be an object")])
    return items


def receive(p: Platform, identifier: str, space: str | None, *, authorization: str | None,
            signature: str | None, body: bytes, address: str) -> Accepted:
    """Check the call against the incoming's secret and queue its routes' runs; raise
    :class:`Unauthenticated` (401), ``NotFound``, or ``TooLarge`` for a body over the
    webhook's ``maxBytes``."""
    c, slug = _incoming(p, identifier, space)
    params = unseal(dict(c.object.get("parameters") or {}), p.cipher)
    own = _prototype(c) == WEBHOOK
    hook = params if own else dict(params.get("webhook") or {})
    limit = int(hook.get("maxBytes") or DEFAULT_MAX_BYTES)
    if len(body) > limit:
        raise TooLarge("the webhook's body", limit, "webhook.maxBytes")
    if not _authentic(hook, authorization, signature, body):
        raise Unauthenticated(f"webhook {identifier!r}: a bearer token or an "
                              f"{SIGNATURE_HEADER} signature of the body is required")
    entities = (_entities(body, hook.get("recordsPath")) if own
                else _entities(body) if hook.get("entities") is True else None)
    caller = Caller(user_id="", username=f"webhook:{identifier}", workspace_ids=frozenset(),
                    address=address)
    with p.db.claim() as s:
        names = routes.routes_of(s, c.workspace_id, "incoming", identifier)
        jobs = [routes.enqueue_run(s, p, c.workspace_id, r, entities=entities)
                for r in names]
        s.flush()
        ids = tuple(j.id for j in jobs)
        audit.record(s, caller, "webhook.receive", "route",
                     f"webhook {identifier!r} queued {len(jobs)} route run(s): "
                     f"{', '.join(names)}",
                     request={"incoming": identifier, "bytes": len(body), "jobs": list(ids),
                              "entities": None if entities is None else len(entities)},
                     workspace_id=c.workspace_id)
    return Accepted(slug, identifier, ids, tuple(names))
