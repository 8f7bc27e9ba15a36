"""The UI over a fresh metadata DB: a TestClient of the server's app (API and UI), and a
browser-like client that signs in through the sign-in form and posts forms with their CSRF
token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from sluiceway.bootstrap import create_app
from sluiceway.core.settings import Settings
from sluiceway.services import auth, policy, spaces
from sluiceway.services.platform import Platform
from tests.api.conftest import ADMIN
from tests.web.browser import chromium

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


class Browser:
    """A TestClient that keeps cookies, as a browser does, and does not follow redirects."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def get(self, path: str, status: int = 200, **kw: Any) -> httpx.Response:
        r = self.client.get(path, follow_redirects=False, **kw)
        assert r.status_code == status, (path, r.status_code, r.text[:2000])
        return r

    def post(self, path: str, data: dict[str, Any], status: int = 303, *,
             csrf_from: str | None = None, **kw: Any) -> httpx.Response:
        """Post ``data`` with the CSRF token of the page at ``csrf_from`` (default: the
        overview) unless ``data`` names one."""
        if "csrf" not in data:
            data = {"csrf": csrf_of(self.get(csrf_from or "/ui/").text), **data}
        r = self.client.post(path, data=data, follow_redirects=False, **kw)
        assert r.status_code == status, (path, r.status_code, r.text[:2000])
        return r

    def sign_in(self, login: str, password: str, status: int = 303) -> httpx.Response:
        token = csrf_of(self.get("/ui/login").text)
        return self.post("/ui/login", {"csrf": token, "login": login, "password": password},
                         status)


@pytest.fixture
def web_settings(tmp_path: Any) -> Settings:
    """SQLite metadata: the UI's behaviour does not depend on the metadata database (the
    sessions table is checked on both by the migration tests)."""
    from tests.api.conftest import make_settings

    return make_settings(tmp_path, f"sqlite:///{tmp_path / 'meta.db'}")


@pytest.fixture
def web_client(web_settings: Settings) -> Iterator[TestClient]:
    app = create_app(web_settings, run_jobs=False)
    with TestClient(app) as c:
        yield c
    app.state.platform.close()


@pytest.fixture
def platform(web_client: TestClient) -> Platform:
    p: Platform = web_client.app.state.platform  # type: ignore[attr-defined]
    return p


@pytest.fixture
def running(web_settings: Settings) -> Iterator[Browser]:
    """The admin, signed in on a server that runs its jobs."""
    app = create_app(web_settings, run_jobs=True)
    with TestClient(app) as c:
        b = Browser(c)
        b.sign_in(*ADMIN)
        yield b
    app.state.platform.close()


@pytest.fixture
def chrome() -> Iterator[Any]:
    """A headless Chromium (see :mod:`tests.web.browser`)."""
    with chromium() as b:
        yield b


@pytest.fixture
def browser(web_client: TestClient) -> Browser:
    return Browser(web_client)


@pytest.fixture
def admin(browser: Browser) -> Browser:
    browser.sign_in(*ADMIN)
    return browser


def new_browser(client: TestClient) -> Browser:
    """A second browser on the same server (its own cookies)."""
    return Browser(TestClient(client.app))


def add_user(p: Platform, email: str, password: str, role: policy.Role,
             space: str = "default") -> None:
    """A user with a password and ``role`` in ``space``."""
    admin = auth.caller_for(p, "admin")
    with p.db.session() as s:
        ws = spaces.find(s, admin, space)
        spaces.put_member(s, ws.id, email, role)
    auth.set_password(p, email, password)


def definition(p: Platform, kind: str, repository: str) -> str:
    from sluiceway.services import definitions

    admin = auth.caller_for(p, "admin")
    return next(d.id for d in definitions.list_all(p, admin, kind)  # type: ignore[arg-type]
                if d.connector == repository)


def sample_connection(p: Platform, name: str, space: str = "default") -> str:
    """A connection from a small ``sample`` source to a DuckDB file, made by the admin."""
    from sluiceway.services import actors, connections

    admin = auth.caller_for(p, "admin")
    with p.db.session() as s:
        ws = spaces.find(s, admin, space).id
    src = actors.create(p, admin, "source", ws, definition(p, "source", "sample"),
                        {"rows": 50}, f"{name} events")
    dst = actors.create(p, admin, "destination", ws, definition(p, "destination", "duckdb"),
                        {"path": f"{name.replace(' ', '_')}.duckdb"}, f"{name} lake")
    return connections.create(p, admin, source_id=src.id, destination_id=dst.id, name=name,
                              sync_mode="full_refresh", streams=None, schedule=None,
                              status="active").id
