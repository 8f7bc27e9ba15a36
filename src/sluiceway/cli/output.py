"""Where the commands print: Rich consoles made on first use, and one way to print an error.

Messages are printed as text, never as Rich markup: a driver's ``[libpq]`` stays in the
line, and lines are not re-wrapped (a YAML error's ``^`` keeps pointing at its column)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


@cache
def stdout() -> Console:
    from rich.console import Console

    return Console()


@cache
def stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def print_error(label: str, text: str, *, style: str = "bold red",
                to: Console | None = None) -> None:
    """``label: text`` with the label styled and ``text`` exactly as given."""
    from rich.text import Text

    (to or stderr()).print(Text.assemble((f"{label}:", style), " ", text),
                           highlight=False, soft_wrap=True)


class LazyConsole:
    """A console's ``print`` that makes the console (and imports Rich) on first use."""

    def __init__(self, *, to_stderr: bool) -> None:
        self._stderr = to_stderr

    def print(self, *objects: Any, **kwargs: Any) -> None:
        (stderr() if self._stderr else stdout()).print(*objects, **kwargs)


err = LazyConsole(to_stderr=True)
