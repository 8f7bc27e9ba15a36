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


#: the Airbyte face's wire names: its own renderer maps the services' neutral names to them
WIRE_NAMES = ("connectionConfiguration", "sourceDefinitionId", "destinationDefinitionId",
              "workspaceId", "syncCatalog", "syncSchema", "sourceId", "destinationId",
              "connectionId", "dockerRepository", "dockerImageTag")


def test_services_errors_name_no_face_s_wire_fields() -> None:
    """A service's error speaks neutral names (``config``, ``source_id``...); each face
    names the fields its way (the Airbyte face's ``connectionConfiguration.host``)."""
    import re

    wire = "|".join(WIRE_NAMES)
    field_error = re.compile(r"FieldError\(\s*f?[\"'](" + wire + r")\b")
    message = re.compile(r"(Invalid\w*|Config\w*|Forbidden|NotFound|Conflict)\(\s*f?[\"'][^\"']*"
                         r"\b(" + wire + r")\b")
    found = []
    for path in sorted((ROOT / "src" / "sluiceway" / "services").glob("*.py")):
        text = path.read_text()
        found += [f"{path.name}: {m.group(0)}" for m in field_error.finditer(text)]
        found += [f"{path.name}: {m.group(0)}" for m in message.finditer(text)]
    assert not found, found
