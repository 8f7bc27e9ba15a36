"""Bar charts drawn on the server as inline SVG (``chart.html``): no script, and each bar
says its label and value on hover and to a screen reader."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str  # what the bar stands for (a day, a run)
    value: float


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: int
    rects: list[Rect]


def bars(title: str, data: Sequence[Bar], fmt: Callable[[float], str], *,
         width: int = 600, height: int = 120) -> Chart:
    """The bars of ``data`` scaled to the highest value (a value above zero is at least one
    unit high, so that a small day is still seen)."""
    top = max((b.value for b in data), default=0.0)
    step = width / max(1, len(data))
    gap = min(2.0, step / 4)
    rects = []
    for i, b in enumerate(data):
        h = 0.0 if top <= 0 else max(1.0 if b.value > 0 else 0.0, b.value / top * height)
        rects.append(Rect(round(i * step + gap / 2, 1), round(height - h, 1),
                          round(max(1.0, step - gap), 1), round(h, 1),
                          f"{b.label}: {fmt(b.value)}"))
    return Chart(f"{title} (highest {fmt(top)})", width, height, rects)
