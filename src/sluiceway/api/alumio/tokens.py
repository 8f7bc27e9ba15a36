"""API tokens (#87-90 and ``DELETE /tokens/{identifier}``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from sluiceway.api.alumio.render import iso, listing
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import tokens

router = APIRouter()


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=45)]
    description: Annotated[str, Field(max_length=64000)] = ""
    #: extension: when the token stops working (ISO-8601 or epoch seconds); default never
    expiresAt: float | None = None


class TokenUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=45)]
    description: Annotated[str | None, Field(max_length=64000)] = None


def token_json(v: tokens.TokenView) -> dict[str, Any]:
    return {"identifier": v.id, "name": v.name, "createdAt": iso(v.created_at),
            "createdBy": v.created_by, "description": v.description,
            "lastUsed": iso(v.last_used_at), "expiresAt": iso(v.expires_at),
            "revokedAt": iso(v.revoked_at)}


@router.get("/tokens")
def list_tokens(p: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    views = tokens.list_own(p, caller)
    return listing([token_json(v) for v in views], len(views))


@router.post("/tokens")
def create_token(body: TokenCreate, p: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    token, identifier = tokens.create(p, caller, body.name, body.description, body.expiresAt)
    return {"access_token": token, "identifier": identifier}


@router.get("/tokens/{identifier}")
def get_token(identifier: str, p: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    return {"message": "Token", "object": token_json(tokens.get(p, caller, identifier))}


@router.put("/tokens/{identifier}")
def update_token(identifier: str, body: TokenUpdate, p: PlatformDep,
                 caller: CallerDep) -> dict[str, Any]:
    view = tokens.update(p, caller, identifier, body.name, body.description)
    return {"message": "Token updated", "object": token_json(view)}


@router.delete("/tokens/{identifier}")
def revoke_token(identifier: str, p: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    tokens.revoke(p, caller, identifier)
    return {"message": f"Token {identifier} revoked"}
