"""An ``oauth2-token`` http-client's token, kept in an encrypted variable of the space (the
one an OAuth2 authorisation wrote): read when a run starts, written back when the client
refreshes it (with an audit entry, as every change). The variable must name allowedTargets
that take the API's URL and the token endpoint: an editor's http-client cannot send an
administrator's token anywhere else."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from sluiceway.core.errors import Fatal
from sluiceway.jobs.context import AttemptContext
from sluiceway.secrets import Cipher
from sluiceway.secrets import variables as refs
from sluiceway.store.db import now
from sluiceway.store.models import AuditEntry, EnvironmentVariable, Workspace


class VariableTokens:
    """The :class:`~sluiceway.connectors.http.client.TokenStore` of one variable."""

    def __init__(self, ctx: AttemptContext, workspace_id: str, name: str, who: str,
                 targets: list[str]) -> None:
        self._ctx = ctx
        self._cipher = Cipher.from_settings(ctx.settings)
        self._workspace_id = workspace_id
        self._name = name
        self._who = who
        self.load()  # fails early: a missing, plain or misdirected variable
        if self._targets is None:
            raise Fatal(f"the encrypted variable ${{{name}}} names no allowedTargets: an "
                        "administrator gives it the API's URL (and the token endpoint's) "
                        "before an http-client sends its token")
        for target in targets:
            if not refs.allows(self._targets, target):
                raise Fatal(f"the encrypted variable ${{{name}}} may only be sent to its "
                            f"allowedTargets, not {target}")

    def _row(self) -> EnvironmentVariable:
        with self._ctx.db.session() as s:
            v = s.scalars(select(EnvironmentVariable).where(
                EnvironmentVariable.workspace_id == self._workspace_id,
                EnvironmentVariable.name == self._name)).first()
            if v is None:
                raise Fatal(f"the variable ${{{self._name}}} (auth.variable) does not exist: "
                            "run the OAuth2 authorisation that keeps the token in it")
            if not v.encrypted:
                raise Fatal(f"the variable ${{{self._name}}} is not encrypted: an OAuth2 "
                            "token is kept only in an encrypted variable")
            s.expunge(v)
            return v

    def load(self) -> dict[str, Any]:
        v = self._row()
        self._targets = (tuple(v.allowed_targets) if v.allowed_targets is not None
                         else None)
        try:
            token = json.loads(self._cipher.decrypt(v.value))
        except ValueError:
            token = None
        if not isinstance(token, dict):
            raise Fatal(f"the variable ${{{self._name}}} keeps no OAuth2 token (a JSON "
                        "object)")
        self._ctx.add_secrets([str(token[k]) for k in ("access_token", "refresh_token")
                               if token.get(k)])
        return token

    def save(self, token: dict[str, Any]) -> None:
        self._ctx.add_secrets([str(token[k]) for k in ("access_token", "refresh_token")
                               if token.get(k)])
        with self._ctx.db.session() as s:
            v = s.scalars(select(EnvironmentVariable).where(
                EnvironmentVariable.workspace_id == self._workspace_id,
                EnvironmentVariable.name == self._name)).one()
            v.value = self._cipher.encrypt(json.dumps(token, sort_keys=True))
            v.updated_at = now()
            ws = s.get(Workspace, self._workspace_id)
            s.add(AuditEntry(user_id=None, user_name=self._who,
                             workspace_id=self._workspace_id,
                             space=ws.slug if ws is not None else None,
                             action="oauth.refresh", category="environment",
                             address="worker",
                             message=f"OAuth2 token in ${{{self._name}}} refreshed",
                             request={"key": self._name}))
