"""Playwright driving Debian's Chromium (``/usr/bin/chromium``), headless, with no browser
download; and axe-core's accessibility check. The one module that imports them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path(os.environ.get("SLUICEWAY_TEST_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless browser; skips (fails with SLUICEWAY_REQUIRE_SERVICES=1) without one."""
    from tests.conftest import _unavailable

    if not CHROMIUM.exists():
        _unavailable("Chromium", FileNotFoundError(f"{CHROMIUM} (apt-get install chromium)"))
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable("Playwright", exc)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page shown."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            f"{[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def fits(page: Any, width: int = 375) -> bool:
    """No horizontal scroll at ``width`` pixels."""
    page.set_viewport_size({"width": width, "height": 800})
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))
