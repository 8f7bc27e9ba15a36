"""``/v1/workspaces/*`` (``create`` and ``list`` as later versions have them)."""

from __future__ import annotations

from fastapi import APIRouter

from sluiceway.api.airbyte import convert
from sluiceway.api.airbyte import schemas as m
from sluiceway.api.deps import CallerDep, PlatformDep
from sluiceway.services import workspaces

router = APIRouter(tags=["workspace"])


@router.post("/workspaces/get", response_model=m.WorkspaceRead)
def get_workspace(body: m.WorkspaceIdRequestBody, p: PlatformDep,
                  caller: CallerDep) -> m.WorkspaceRead:
    return convert.workspace(workspaces.get(p, caller, str(body.workspaceId)))


@router.post("/workspaces/get_by_slug", response_model=m.WorkspaceRead)
def get_workspace_by_slug(body: m.SlugRequestBody, p: PlatformDep,
                          caller: CallerDep) -> m.WorkspaceRead:
    return convert.workspace(workspaces.get_by_slug(p, caller, body.slug))


@router.post("/workspaces/update", response_model=m.WorkspaceRead)
def update_workspace(body: m.WorkspaceUpdate, p: PlatformDep,
                     caller: CallerDep) -> m.WorkspaceRead:
    flags = {"initial_setup_complete": body.initialSetupComplete,
             "onboarding_complete": body.onboardingComplete,
             "anonymous_data_collection": body.anonymousDataCollection,
             "news": body.news, "security_updates": body.securityUpdates}
    return convert.workspace(workspaces.update(p, caller, str(body.workspaceId), body.email,
                                               flags))


@router.post("/workspaces/create", response_model=m.WorkspaceRead)
def create_workspace(body: m.WorkspaceCreate, p: PlatformDep,
                     caller: CallerDep) -> m.WorkspaceRead:
    ws, _ = workspaces.create(p, caller, body.name, body.email,
                              anonymous_data_collection=body.anonymousDataCollection,
                              news=body.news, security_updates=body.securityUpdates)
    return convert.workspace(ws)


@router.post("/workspaces/list", response_model=m.WorkspaceReadList)
def list_workspaces(p: PlatformDep, caller: CallerDep) -> m.WorkspaceReadList:
    """The caller's workspaces (any body is ignored, as later versions do)."""
    return m.WorkspaceReadList(workspaces=[convert.workspace(ws)
                                           for ws in workspaces.list_for(p, caller)])
