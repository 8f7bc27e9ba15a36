"""``/docs`` and ``/redoc`` load nothing from outside the server, and what they load answers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sluiceway.bootstrap import create_app
from tests.api.conftest import make_settings


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(make_settings(tmp_path, f"sqlite:///{tmp_path / 'meta.db'}"),
                     run_jobs=False)
    with TestClient(app) as c:
        yield c
    app.state.platform.close()


def _referenced(html: str) -> list[str]:
    return re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", html)


@pytest.mark.parametrize(("page", "kinds"), [
    ("/docs", {".js": "javascript", ".css": "text/css", ".png": "image/png"}),
    ("/redoc", {".js": "javascript", ".png": "image/png"}),
])
def test_docs_pages_reference_only_local_assets_that_answer(
    client: TestClient, page: str, kinds: dict[str, str],
) -> None:
    r = client.get(page)
    assert r.status_code == 200
    urls = _referenced(r.text)
    assert urls, r.text
    assert not [u for u in urls if "//" in u], urls  # no scheme, no host: this server
    assert "/openapi.json" in urls
    assets = [u for u in urls if u != "/openapi.json"]
    assert {Path(u).suffix for u in assets} == set(kinds)
    for url in assets:
        got = client.get(url)
        assert got.status_code == 200, url
        assert kinds[Path(url).suffix] in got.headers["content-type"], url
        assert len(got.content) > 1000, url
