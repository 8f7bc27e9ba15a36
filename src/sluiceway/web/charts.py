"""Bar charts drawn on the server as inline SVG (``chart.html``): no script, and each bar
says its label and value on hover and to a screen reader."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
    #: what the part stands for in a stacked bar (a status; its colour); empty: one series
    kind: str = ""


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: int
    rects: list[Rect]
    #: the kinds drawn, bottom first (a stacked chart's legend)
    kinds: tuple[str, ...] = ()


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


def stacked(title: str, data: Sequence[tuple[str, Mapping[str, float]]], kinds: Sequence[str],
            fmt: Callable[[float], str], *, width: int = 600, height: int = 120) -> Chart:
    """One bar per ``(label, values)``, its parts the values of ``kinds`` stacked bottom
    first and scaled to the highest bar's total; a part above zero is at least one unit
    high. Each part says its label, kind and value."""
    totals = [sum(values.get(k, 0.0) for k in kinds) for _, values in data]
    top = max(totals, default=0.0)
    step = width / max(1, len(data))
    gap = min(2.0, step / 4)
    rects = []
    for i, (label, values) in enumerate(data):
        base = float(height)
        for k in kinds:
            v = values.get(k, 0.0)
            if v <= 0 or top <= 0:
                continue
            h = max(1.0, v / top * height)
            base -= h
            rects.append(Rect(round(i * step + gap / 2, 1), round(max(0.0, base), 1),
                              round(max(1.0, step - gap), 1), round(h, 1),
                              f"{label}, {k}: {fmt(v)}", k))
    return Chart(f"{title} (highest {fmt(top)})", width, height, rects, tuple(kinds))
