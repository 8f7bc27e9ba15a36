"""The pager the paged UI lists share: links keep the list's query, labels as the list says."""

from __future__ import annotations

from sluiceway.web import templating


def _render(**values: object) -> str:
    return templating._env.get_template("pager.html").render(**values)


def test_the_pager_keeps_the_query_and_shows_only_the_links_that_lead_somewhere() -> None:
    middle = _render(pages=3, number=2, pager_query="status=failed&q=a b")
    assert '<a href="?status=failed&amp;q=a b&amp;p=1">Previous</a>' in middle
    assert '<a href="?status=failed&amp;q=a b&amp;p=3">Next</a>' in middle
    assert "Page 2 of 3" in middle
    first = _render(pages=3, number=1, pager_query="", pager_back="Newer", pager_on="Older")
    assert "Newer" not in first
    assert '<a href="?&amp;p=2">Older</a>' in first
    assert _render(pages=1, number=1, pager_query="").strip() == ""
