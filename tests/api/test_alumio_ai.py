"""The AI helpers (#1-3) on the platform API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import ADMIN


def test_a_phrase_becomes_a_cron_expression(client: TestClient) -> None:
    r = client.post("/api/v1/ai/cron_expression", auth=ADMIN,
                    json={"prompt": "every Monday at 10:00"})
    assert r.json() == {"expression": "0 10 * * 1", "isValidExpression": True,
                        "errorMessage": None}
    r = client.post("/api/v1/ai/cron_expression", auth=ADMIN, json={"prompt": "soonish"})
    assert r.status_code == 200
    assert r.json()["isValidExpression"] is False
    assert "every 5 minutes" in r.json()["errorMessage"]


@pytest.mark.parametrize(("path", "limit"), [("/api/v1/ai/javascript_code", 3000),
                                             ("/api/v1/ai/transformer_tester_data", 500),
                                             ("/api/v1/ai/cron_expression", 255)])
def test_generation_without_a_model_provider_is_501_and_prompts_are_bounded(
        client: TestClient, path: str, limit: int) -> None:
    r = client.post(path, auth=ADMIN, json={"prompt": "x" * (limit + 1)})
    assert r.status_code == 400, r.text
    assert r.json()["violations"][0]["propertyPath"].endswith("prompt")
    if path.endswith("cron_expression"):
        return
    r = client.post(path, auth=ADMIN, json={"prompt": "make me something"})
    assert r.status_code == 501
    body = r.json()
    assert (body["status"], body["type"]) == ("501", "not_implemented")
    assert "model provider" in body["detail"]


def test_the_helpers_need_a_caller(client: TestClient) -> None:
    r = client.post("/api/v1/ai/cron_expression", json={"prompt": "hourly"})
    assert r.status_code == 401
