"""House checks that run with the tests: lint, types and the import direction."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = BIN / name
    if found.exists():
        return str(found)
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return path


@pytest.mark.parametrize("command", [
    ["ruff", "check", "src", "tests", "bench"],
    ["mypy"],
    ["lint-imports"],
], ids=lambda c: c[0])
def test_house_check_passes(command: list[str]) -> None:
    done = subprocess.run([_tool(command[0]), *command[1:]], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
