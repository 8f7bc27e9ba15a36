"""The stacked bars of :mod:`sluiceway.web.charts`: each part is its share of the highest
bar, the parts of a bar sit on one another bottom first, and a part of zero is not drawn."""

from __future__ import annotations

from sluiceway.web import charts


def test_stacked_parts_are_scaled_to_the_highest_bar_and_sit_on_one_another() -> None:
    chart = charts.stacked("Tasks", [("a", {"finished": 30.0, "failed": 10.0}),
                                     ("b", {"finished": 0.0, "failed": 20.0}),
                                     ("c", {})], ("finished", "failed"), str,
                           width=300, height=100)
    assert chart.title == "Tasks (highest 40.0)"
    assert chart.kinds == ("finished", "failed")
    got = [(r.kind, r.x, r.y, r.height, r.title) for r in chart.rects]
    assert got == [("finished", 1.0, 25.0, 75.0, "a, finished: 30.0"),
                   ("failed", 1.0, 0.0, 25.0, "a, failed: 10.0"),
                   ("failed", 101.0, 50.0, 50.0, "b, failed: 20.0")]
    assert {r.width for r in chart.rects} == {98.0}


def test_a_small_part_is_still_seen_and_no_task_draws_nothing() -> None:
    chart = charts.stacked("T", [("a", {"new": 1.0}), ("b", {"new": 10_000.0})], ("new",),
                           str, height=100)
    assert chart.rects[0].height == 1.0
    assert charts.stacked("T", [("a", {"new": 0.0})], ("new",), str).rects == []
    assert charts.stacked("T", [], ("new",), str).rects == []
