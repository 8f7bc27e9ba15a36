"""AI helpers (#1-3): cron expressions from common phrases; code and test-data generation
answer 501 (no model provider is configured)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from sluiceway.api.deps import CallerDep
from sluiceway.api.errors import Problem, respond
from sluiceway.services import assistant

router = APIRouter()


class CodePrompt(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: Annotated[str, Field(min_length=1, max_length=3000)]


class DataPrompt(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: Annotated[str, Field(min_length=1, max_length=500)]


class CronPrompt(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: Annotated[str, Field(min_length=1, max_length=255)]


def _not_implemented(request: Request) -> Response:
    return respond(request, Problem(501, assistant.NO_PROVIDER, "NotImplemented"))


@router.post("/ai/javascript_code", responses={501: {"description": "no model provider"}})
def javascript_code(body: CodePrompt, request: Request, _: CallerDep) -> Response:
    return _not_implemented(request)


@router.post("/ai/transformer_tester_data",
             responses={501: {"description": "no model provider"}})
def transformer_tester_data(body: DataPrompt, request: Request, _: CallerDep) -> Response:
    return _not_implemented(request)


@router.post("/ai/cron_expression")
def cron_expression(body: CronPrompt, _: CallerDep) -> dict[str, Any]:
    answer = assistant.cron_expression(body.prompt)
    return {"expression": answer.expression, "isValidExpression": answer.valid,
            "errorMessage": answer.error}
