"""docs/configuration.md lists every setting with its default, and nothing that is not one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sluiceway.core.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def _rows() -> dict[str, str]:
    """``SLUICEWAY_NAME`` -> its table row's default cell."""
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| `SLUICEWAY_([A-Z_]+)` \| ([^|]*) \|", line)
        if m:
            rows[m.group(1).lower()] = m.group(2)
    return rows


def test_every_setting_is_documented_and_nothing_else() -> None:
    assert set(_rows()) == set(Settings.model_fields)


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_documented_default_is_the_default(name: str) -> None:
    field = Settings.model_fields[name]
    cell = _rows()[name]
    if field.default_factory is not None or field.default is None:
        return  # computed or unset: the cell says what happens instead
    shown = str(field.default)
    assert f"`{shown}`" in cell, (name, shown, cell)
