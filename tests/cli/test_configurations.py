"""``sluiceway configurations`` as a user runs it: export from one space, import into
another (dry run first), list, and an invalid import that writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_alumio import _sluiceway

ITEMS = [
    {"type": "transformer", "identifier": "rename-fields", "name": "Rename",
     "object": {"prototype": "rename", "parameters": {"mapping": {"nm": "name"}}}},
    {"type": "scheduler-entry", "identifier": "nightly", "name": "Nightly",
     "object": {"prototype": "cron", "parameters": {
         "expression": "0 2 * * *",
         "commands": [{"command": "route:run", "arguments": {"route": "orders"}}]}}},
]


def test_configurations_export_import_and_list(tmp_path: Path) -> None:
    source = tmp_path / "in.ndjson"
    source.write_text("".join(json.dumps(i) + "\n" for i in ITEMS))
    dry = _sluiceway(tmp_path, "configurations", "import", str(source), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "nothing imported: 2 to create" in dry.stderr
    done = _sluiceway(tmp_path, "configurations", "import", str(source))
    assert done.returncode == 0, done.stderr
    assert [line.split()[2:] for line in done.stdout.splitlines()[1:]] == [
        ["create", "created"], ["create", "created"]]

    listed = _sluiceway(tmp_path, "configurations", "list", "--type", "transformer")
    assert [line.split()[:4] for line in listed.stdout.splitlines()[1:]] == [
        ["transformer", "rename-fields", "rename", "enabled"]]

    assert _sluiceway(tmp_path, "spaces", "create", "copy").returncode == 0
    exported = _sluiceway(tmp_path, "configurations", "export", "transformer/rename-fields",
                          "scheduler-entry/nightly")
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(x) for x in exported.stdout.splitlines()]
    assert [x["identifier"] for x in lines] == ["rename-fields", "nightly"]
    copied = _sluiceway(tmp_path, "configurations", "import", "-", "--space", "copy",
                        stdin=exported.stdout)
    assert copied.returncode == 0, copied.stderr

    broken = dict(ITEMS[0], identifier="broken", object={"prototype": "rename",
                                                         "parameters": {}})
    bad = _sluiceway(tmp_path, "configurations", "import", "-", "--space", "copy",
                     stdin=json.dumps(dict(ITEMS[0], identifier="fine")) + "\n"
                     + json.dumps(broken) + "\n")
    assert bad.returncode == 2
    assert "object.parameters.mapping: is required" in bad.stderr
    after = _sluiceway(tmp_path, "configurations", "list", "--space", "copy")
    assert "fine" not in after.stdout  # all or nothing
