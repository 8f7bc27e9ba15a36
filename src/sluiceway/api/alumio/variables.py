"""Environment variables (#77-82 and ``DELETE /environment/variables/{name}``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from sluiceway.api.alumio.render import iso, listing
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import criteria, spaces, variables

router = APIRouter()
FilterParam = Annotated[str | None, Query(description="Apply search criteria.")]
SpaceParam = Annotated[str | None, Query(description="Space Identifier")]
Targets = Annotated[list[Annotated[str, Field(min_length=1, max_length=2000)]],
                    Field(max_length=100)]


class VariableCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(pattern=r"^[a-zA-Z0-9_-]+$", min_length=1, max_length=255)]
    value: Annotated[str, Field(max_length=64000)]
    description: Annotated[str, Field(max_length=150)] = ""
    encrypted: bool = False
    #: extension: hosts or URL prefixes an encrypted value may be sent to
    allowedTargets: Targets | None = None


class VariableUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: Annotated[str | None, Field(max_length=64000)] = None
    description: Annotated[str | None, Field(max_length=150)] = None
    encrypted: bool | None = None
    allowedTargets: Targets | None = None


def variable_json(v: variables.VariableView) -> dict[str, Any]:
    out = {"name": v.name, "description": v.description, "value": v.value,
           "encrypted": v.encrypted, "default": False, "allowedTargets": v.allowed_targets,
           "createdAt": iso(v.created_at), "updatedAt": iso(v.updated_at)}
    if v.warning:
        out["warning"] = v.warning
    return out


def _ws(p: PlatformDep, caller: CallerDep, space: str | None) -> str:
    return spaces.current(p, caller, space).id


@router.get("/environment/variables")
def list_variables(p: PlatformDep, caller: CallerDep, filter: FilterParam = None,  # noqa: A002
                   space: SpaceParam = None) -> dict[str, Any]:
    c = criteria.parse(filter, variables.COLUMNS)
    views, total = variables.list_variables(p, caller, _ws(p, caller, space), c)
    return listing([variable_json(v) for v in views], total)


@router.post("/environment/variables")
def create_variable(body: VariableCreate, p: PlatformDep, caller: CallerDep,
                    space: SpaceParam = None) -> dict[str, Any]:
    given = variables.VariableInput(body.name, body.value, body.description, body.encrypted,
                                    body.allowedTargets)
    return {"object": variable_json(variables.create(p, caller, _ws(p, caller, space),
                                                     given))}


@router.get("/environment/variables/{name}")
def get_variable(name: str, p: PlatformDep, caller: CallerDep,
                 space: SpaceParam = None) -> dict[str, Any]:
    return {"object": variable_json(variables.get(p, caller, _ws(p, caller, space), name))}


@router.put("/environment/variables/{name}")
def update_variable(name: str, body: VariableUpdate, p: PlatformDep, caller: CallerDep,
                    space: SpaceParam = None) -> dict[str, Any]:
    given = variables.VariableInput(name, body.value, body.description, body.encrypted,
                                    body.allowedTargets)
    return {"object": variable_json(variables.update(p, caller, _ws(p, caller, space), name,
                                                     given))}


@router.delete("/environment/variables/{name}")
def delete_variable(name: str, p: PlatformDep, caller: CallerDep,
                    space: SpaceParam = None) -> dict[str, Any]:
    variables.delete(p, caller, _ws(p, caller, space), name)
    return {"message": f"Environment variable {name} deleted"}


@router.get("/environment/variables/{variable}/usages")
def variable_usages(variable: str, p: PlatformDep, caller: CallerDep,
                    space: SpaceParam = None) -> dict[str, Any]:
    found = variables.usages(p, caller, _ws(p, caller, space), variable)
    return listing([{"type": u.type, "identifier": u.identifier, "name": u.name,
                     "propertyPaths": list(u.paths)} for u in found], len(found))


@router.get("/environment/candidates")
def candidates(p: PlatformDep, caller: CallerDep, space: SpaceParam = None) -> dict[str, Any]:
    found = variables.candidates(p, caller, _ws(p, caller, space))
    return listing([{"name": c.name, "reason": c.reason, "matches": [
        {"type": m.type, "metadata": {"identifier": m.identifier, "name": m.name},
         "payload": {"propertyPath": m.path}} for m in c.matches]} for c in found], len(found))
