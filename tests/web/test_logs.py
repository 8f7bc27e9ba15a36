"""The logs page: the space's job log lines searched by words and terms, bounded by a from /
to time, newest first and paged; a bad term or time is a 422 naming the field. A viewer
reads it (there is nothing to change)."""

from __future__ import annotations

import re

from sluiceway.services import auth, policy, routes
from sluiceway.services.platform import Platform
from sluiceway.store.models import AttemptLog
from tests.web.conftest import Browser, add_user, new_browser
from tests.web.test_configuration_edit import _space
from tests.web.test_processes import _route

T0 = 1_780_000_000.0  # 2026-05-28T20:26:40Z


def _lines(p: Platform, n: int) -> None:
    """``n`` lines a second apart on the attempt of a queued route run, every tenth an
    error."""
    _route(p)
    admin = auth.caller_for(p, "admin")
    routes.publish(p, admin, _space(p), [{"command": "route:run",
                                          "arguments": {"route": "orders-route"}}])
    (process,), _ = routes.list_processes(p, admin, _space(p), routes.criteria.Criteria())
    with p.db.claim() as s:
        for i in range(n):
            s.add(AttemptLog(attempt_id=process.identifier, at=T0 + i,
                             level="ERROR" if i % 10 == 0 else "INFO",
                             line=f"line {i:03} {'failed to write' if i % 10 == 0 else 'ok'}"))


def _shown(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"<code>line (\d{3}) ", html)]


def test_search_filters_bounds_and_pages(admin: Browser, platform: Platform) -> None:
    _lines(platform, 120)
    first = admin.get("/ui/logs").text
    assert "120 lines" in first
    assert _shown(first) == list(range(119, 69, -1))
    assert "Page 1 of 3" in first
    last = admin.get("/ui/logs?p=3").text
    assert _shown(last) == list(range(19, -1, -1))
    errors = admin.get("/ui/logs?q=level:error").text
    assert _shown(errors) == list(range(110, -1, -10))
    assert _shown(admin.get("/ui/logs?q=FAILED+write").text) == list(range(110, -1, -10))
    bounded = admin.get(f"/ui/logs?start={T0 + 100:.0f}&end=2026-05-28T20:28:25Z").text
    assert _shown(bounded) == list(range(105, 99, -1))
    assert "No line matches" in admin.get("/ui/logs?q=nothing-like-this").text
    bad = admin.get("/ui/logs?q=colour:red", 422).text
    assert "q: unknown term" in bad
    assert "start: must be an ISO-8601 time" in admin.get("/ui/logs?start=yesterday", 422).text


def test_a_viewer_reads_the_logs(admin: Browser, platform: Platform) -> None:
    _lines(platform, 3)
    add_user(platform, "viewer@example.com", "viewer-password", policy.Role.VIEWER)
    viewer = new_browser(admin.client)
    viewer.sign_in("viewer@example.com", "viewer-password")
    page = viewer.get("/ui/logs").text
    assert _shown(page) == [2, 1, 0]
    assert "route job" in page
