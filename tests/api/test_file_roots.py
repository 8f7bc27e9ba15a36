"""Paths are resolved with their symlinks followed when they are used, and refused outside the
file roots: glob matches, file, SQLite and DuckDB paths that became symlinks after they were
saved, and backup restore targets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Api, definition_id
from tests.api.test_backups import V2, _backup, project, v2  # noqa: F401 - fixtures
from tests.api.test_datasets import run_jobs

SECRET = "id,secret\n1,host-file-that-must-not-be-read\n"


@pytest.fixture
def roots(settings: Any, tmp_path: Path) -> tuple[Path, Path]:
    """The file root, and a folder outside it holding a secret file."""
    files = settings.data_dir / "files"
    files.mkdir(parents=True, exist_ok=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text(SECRET)
    return files, outside


def _file_source(api: Api, ws: str, path: str) -> str:
    made = api("/sources/create", {
        "workspaceId": ws, "sourceDefinitionId": definition_id(api, "source", "file"),
        "connectionConfiguration": {"path": path, "format": "csv"}, "name": "files"})
    return str(made["sourceId"])


def test_a_glob_match_through_a_symlink_out_of_the_root_is_refused(
    api: Api, workspace_id: str, roots: tuple[Path, Path],
) -> None:
    files, outside = roots
    (files / "link").symlink_to(outside, target_is_directory=True)
    src = _file_source(api, workspace_id, str(files / "l*" / "secret.csv"))
    checked = api("/sources/check_connection", {"sourceId": src})
    assert checked["status"] == "failed"
    assert "leads outside the allowed folders" in checked["message"]
    bad = api("/sources/discover_schema", {"sourceId": src}, 422)
    assert "leads outside" in bad["message"]
    assert "host-file-that-must-not-be-read" not in str(bad) + str(checked)


def test_a_folder_that_became_a_symlink_after_saving_is_refused(
    api: Api, workspace_id: str, roots: tuple[Path, Path],
) -> None:
    files, outside = roots
    (files / "data").mkdir()
    (files / "data" / "secret.csv").write_text("id,secret\n1,fine\n")
    src = _file_source(api, workspace_id, "data/secret.csv")
    assert api("/sources/check_connection", {"sourceId": src})["status"] == "succeeded"
    (files / "data" / "secret.csv").unlink()
    (files / "data").rmdir()
    (files / "data").symlink_to(outside, target_is_directory=True)
    checked = api("/sources/check_connection", {"sourceId": src})
    assert checked["status"] == "failed"
    assert "leads outside the allowed folders" in checked["message"]


@pytest.mark.parametrize("kind", ["duckdb", "sqlite"])
def test_a_database_file_that_became_a_symlink_out_of_the_root_is_refused(
    api: Api, workspace_id: str, roots: tuple[Path, Path], kind: str,
) -> None:
    files, outside = roots
    dst = api("/destinations/create", {
        "workspaceId": workspace_id,
        "destinationDefinitionId": definition_id(api, "destination", kind),
        "connectionConfiguration": {"path": f"w.{kind}"}, "name": "w"})
    assert api("/destinations/check_connection",
               {"destinationId": dst["destinationId"]})["status"] == "succeeded"
    (files / f"w.{kind}").unlink(missing_ok=True)
    (files / f"w.{kind}").symlink_to(outside / f"w.{kind}")
    checked = api("/destinations/check_connection", {"destinationId": dst["destinationId"]})
    assert checked["status"] == "failed"
    assert "leads outside the allowed folders" in checked["message"]
    assert not (outside / f"w.{kind}").exists()


def test_a_restore_never_writes_through_a_symlink_in_its_target(
    v2: V2, project: dict[str, str], roots: tuple[Path, Path],  # noqa: F811
) -> None:
    files, outside = roots
    made = _backup(v2, project["workspace"])
    (files / "restored").mkdir()
    (files / "restored" / "data").symlink_to(outside, target_is_directory=True)
    v2("POST", f"/project-backups/{made['id']}/restore", 204, {"pathRestore": {
        "sourcePaths": ["/data/"], "targetRestorePath": "restored"}})
    run_jobs(v2.client)
    shown = v2("GET", f"/project-backups/{made['id']}")["restore"]
    assert shown["phase"] == "completed"
    assert "outside" in shown.get("error", "") or "symlink" in str(shown), shown
    assert sorted(p.name for p in outside.iterdir()) == ["secret.csv"]


def test_a_restore_target_that_became_a_symlink_is_refused_when_the_job_runs(
    v2: V2, project: dict[str, str], roots: tuple[Path, Path],  # noqa: F811
) -> None:
    files, outside = roots
    made = _backup(v2, project["workspace"])
    v2("POST", f"/project-backups/{made['id']}/restore", 204, {"pathRestore": {
        "sourcePaths": ["/data/"], "targetRestorePath": "later"}})
    (files / "later").symlink_to(outside, target_is_directory=True)
    run_jobs(v2.client)
    shown = v2("GET", f"/project-backups/{made['id']}")["restore"]
    assert "leads outside the allowed folders" in str(shown), shown
    assert sorted(p.name for p in outside.iterdir()) == ["secret.csv"]
