"""The dataset family (seed 004): exports with download, Range and signed links, the job
queue view, imports, JSON:API paging/filter/sort/fields and its error bodies."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import time
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from sluiceway.jobs.executors.inline import InlineExecutor
from sluiceway.services import auth
from tests.api.conftest import ADMIN, Api, definition_id


def run_jobs(client: TestClient) -> int:
    p = client.app.state.platform  # type: ignore[attr-defined]
    return InlineExecutor(p.settings, p.db).run_pending()


class Data:
    def __init__(self, client: TestClient, auth: Any = ADMIN) -> None:
        self.client = client
        self.auth = auth

    def get(self, path: str, status: int = 200, **params: Any) -> Any:
        r = self.client.get(path, params=params, auth=self.auth)
        assert r.status_code == status, (path, r.status_code, r.text)
        return r.json() if r.content else None

    def post(self, path: str, body: Any, status: int = 202) -> Any:
        r = self.client.post(path, json=body, auth=self.auth)
        assert r.status_code == status, (path, r.status_code, r.text)
        return r.json()


@pytest.fixture
def data(client: TestClient) -> Data:
    return Data(client)


@pytest.fixture
def source_id(api: Api, workspace_id: str) -> str:
    return str(api("/sources/create", {
        "workspaceId": workspace_id, "sourceDefinitionId": definition_id(api, "source", "sample"),
        "connectionConfiguration": {"rows": 500}, "name": "events"})["sourceId"])


def _export(data: Data, ws: str, source_id: str, **kw: Any) -> dict[str, Any]:
    body = {"project_id": ws, "source_id": source_id, "stream": "events", "format": "csv", **kw}
    doc = data.post("/exports/export", body)
    assert doc["included"][0]["type"] == "jobs"
    assert doc["included"][0]["attributes"]["status"] == "pending"
    assert doc["data"]["attributes"]["phase"] == "pending"
    run_jobs(data.client)
    return data.get(f"/exports/{doc['data']['id']}")["data"]  # type: ignore[no-any-return]


def test_formats_per_modality(data: Data) -> None:
    got = data.get("/exports/formats", modalities="tabular")["data"]
    assert {f["id"] for f in got} == {"csv", "tsv", "jsonl", "json", "parquet", "xlsx"}
    bad = data.get("/exports/formats", 422, modalities="telepathy")
    assert "modalities" in bad["errors"][0]["detail"]
    data.get("/exports/formats", 422)


def test_an_export_is_made_downloaded_whole_and_in_ranges(data: Data, workspace_id: str,
                                                          source_id: str) -> None:
    exp = _export(data, workspace_id, source_id)
    a = exp["attributes"]
    assert a["phase"] == "completed"
    assert a["mime_type"] == "text/csv"
    assert a["filename"] == "events.csv"
    r = data.client.get(f"/exports/{exp['id']}/download", auth=ADMIN)
    assert r.status_code == 200
    body = r.content
    assert len(body) == a["size"]
    assert hashlib.sha256(body).hexdigest() == a["sha256"] == r.headers["x-checksum-sha256"]
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert len(rows) == 500
    assert r.headers["accept-ranges"] == "bytes"
    for header, expected in [("bytes=0-9", body[:10]), ("bytes=-7", body[-7:]),
                             ("bytes=100-", body[100:]), ("bytes=5-5", body[5:6])]:
        part = data.client.get(f"/exports/{exp['id']}/download", auth=ADMIN,
                               headers={"Range": header})
        assert part.status_code == 206, header
        assert part.content == expected, header
        assert part.headers["content-range"].endswith(f"/{len(body)}")
    bad = data.client.get(f"/exports/{exp['id']}/download", auth=ADMIN,
                          headers={"Range": f"bytes={len(body) + 10}-"})
    assert bad.status_code == 416
    assert bad.headers["content-range"] == f"bytes */{len(body)}"


def test_columns_filter_and_format_shape_the_file(data: Data, workspace_id: str,
                                                  source_id: str, tmp_path: Any) -> None:
    exp = _export(data, workspace_id, source_id, format="parquet", columns=["id", "event_type"],
                  filter=[{"column": "id", "op": "lte", "value": 10}], filename="first-ten")
    assert exp["attributes"]["filename"] == "first-ten.parquet"
    body = data.client.get(f"/exports/{exp['id']}/download", auth=ADMIN).content
    (tmp_path / "x.parquet").write_bytes(body)
    table = pq.read_table(tmp_path / "x.parquet")
    assert table.column_names == ["id", "event_type"]
    assert sorted(table.column("id").to_pylist()) == list(range(1, 11))


@pytest.mark.parametrize(("body", "field"), [
    ({"format": "docx"}, "format"),
    ({"stream": ""}, "stream"),
    ({"source_id": None}, "source_id"),
    ({"filename": "../../etc/passwd"}, "filename"),
])
def test_a_bad_export_request_names_the_field(data: Data, workspace_id: str, source_id: str,
                                              body: dict[str, Any], field: str) -> None:
    req = {"project_id": workspace_id, "source_id": source_id, "stream": "events",
           "format": "csv", **body}
    bad = data.post("/exports/export", req, 422)
    assert any(field in e["detail"] for e in bad["errors"]), bad


def test_a_bad_filter_or_column_fails_the_export_job_with_the_reason(
    data: Data, workspace_id: str, source_id: str,
) -> None:
    exp = _export(data, workspace_id, source_id, columns=["nope"])
    assert exp["attributes"]["phase"] == "failed"
    job = data.get(f"/jobs/{exp['attributes']['job_id']}")["data"]["attributes"]
    assert job["status"] == "errored"
    assert "nope" in job["error"]
    assert job["retry_count"] == 0


def test_an_export_waiting_for_its_retry_is_pending_with_the_reason_then_fails(
    api: Api, data: Data, workspace_id: str,
) -> None:
    """A passing fault (a closed port) with attempts left: the file is ``pending`` with the
    reason while the retry waits its backoff, not ``failed``; ``failed`` once the last
    attempt failed."""
    source = str(api("/sources/create", {
        "workspaceId": workspace_id, "name": "gone",
        "sourceDefinitionId": definition_id(api, "source", "postgres"),
        "connectionConfiguration": {"host": "127.0.0.1", "port": 1, "database": "nope",
                                    "username": "u", "password": "pw",
                                    "ssl_mode": "disable"}})["sourceId"])
    doc = data.post("/exports/export", {"project_id": workspace_id, "source_id": source,
                                        "stream": "public.items", "format": "csv"})
    export_id, job_id = doc["data"]["id"], doc["data"]["attributes"]["job_id"]
    seen: list[tuple[str, str, str | None]] = []
    deadline = time.monotonic() + 60
    while True:
        run_jobs(data.client)
        job = data.get(f"/jobs/{job_id}")["data"]["attributes"]
        exp = data.get(f"/exports/{export_id}")["data"]["attributes"]
        seen.append((job["status"], exp["phase"], exp["error"]))
        if job["status"] in ("errored", "completed"):
            break
        assert time.monotonic() < deadline, seen
        time.sleep(0.05)
    waiting = [(phase, error) for status, phase, error in seen if status != "errored"]
    assert waiting, seen
    assert all(phase == "pending" for phase, _ in waiting), seen
    assert any(error and "another follows" in error and "127.0.0.1:1" in error
               for _, error in waiting), seen
    status, phase, error = seen[-1]
    assert (status, phase) == ("errored", "failed")
    assert error is not None
    assert "127.0.0.1:1" in error
    assert "another follows" not in error


@pytest.mark.parametrize(("params", "parameter"), [
    ({"filter[colour]": "red"}, "filter[colour]"),
    ({"filter[size__in]": "1"}, "filter[size__in]"),
    ({"page[size]": "0"}, "page[size]"),
    ({"page[size]": str(10**9)}, "page[size]"),
    ({"page[number]": "zero"}, "page[number]"),
    ({"sort": "-colour"}, "sort"),
    ({"count": "maybe"}, "count"),
    ({"filter[created_at__gte]": "yesterday"}, "filter[created_at__gte]"),
    ({"bogus": "1"}, "bogus"),
])
def test_a_bad_listing_parameter_is_400_naming_it(data: Data, params: dict[str, str],
                                                  parameter: str) -> None:
    bad = data.get("/exports", 400, **params)
    assert bad["errors"][0]["source"]["parameter"] == parameter
    assert bad["errors"][0]["status"] == "400"


def test_listing_pages_sorts_counts_filters_and_sparse_fields(
    data: Data, workspace_id: str, source_id: str,
) -> None:
    made = [_export(data, workspace_id, source_id, format=f)["id"]
            for f in ("csv", "jsonl", "json")]
    page = data.get("/exports", **{"page[size]": "2", "sort": "-created_at", "count": "true"})
    assert page["meta"]["count"] == 3
    assert [d["id"] for d in page["data"]] == made[::-1][:2]
    assert "next" in page["links"]
    second = data.get("/exports", **{"page[size]": "2", "page[number]": "2",
                                     "sort": "-created_at"})
    assert [d["id"] for d in second["data"]] == [made[0]]
    only = data.get("/exports", **{"filter[mime_type]": "application/json",
                                   "fields": "filename,size"})
    assert len(only["data"]) == 1
    assert set(only["data"][0]["attributes"]) == {"filename", "size"}
    some = data.get("/exports", **{"filter[id__in]": f"{made[0]},{made[2]}"})
    assert {d["id"] for d in some["data"]} == {made[0], made[2]}
    future = data.get("/exports", **{"filter[created_at__gte]": "2999-01-01T00:00:00Z"})
    assert future["data"] == []
    big = data.get("/exports", **{"filter[size__gte]": "1"})
    assert len(big["data"]) == 3


def test_a_signed_link_downloads_without_credentials_until_it_expires(
    data: Data, workspace_id: str, source_id: str,
) -> None:
    exp = _export(data, workspace_id, source_id)
    url = exp["attributes"]["download_url"]
    anon = data.client.get(url)
    assert anon.status_code == 200
    assert hashlib.sha256(anon.content).hexdigest() == exp["attributes"]["sha256"]
    assert data.client.get(f"/exports/{exp['id']}/download").status_code == 401
    tampered = url.replace("signature=", "signature=x")
    assert data.client.get(tampered).status_code == 404
    expired = url.split("expires=")[0] + f"expires={int(time.time()) - 5}&signature=" + \
        url.split("signature=")[1]
    assert data.client.get(expired).status_code == 404


def test_the_job_queue_view(data: Data, api: Api, workspace_id: str, source_id: str) -> None:
    exp = _export(data, workspace_id, source_id)
    job_id = exp["attributes"]["job_id"]
    one = data.get(f"/jobs/{job_id}")["data"]
    assert one["attributes"]["job_class"] == "export"
    assert one["attributes"]["status"] == "completed"
    assert one["attributes"]["progress"] == 1.0
    listed = data.get("/jobs", **{"filter[job_class__in]": "export,sync",
                                  "filter[status__in]": "completed,errored",
                                  "filter[retry_count__lte]": "0", "count": "true"})
    assert [d["id"] for d in listed["data"]] == [str(job_id)]
    bad = data.get("/jobs", 400, **{"filter[status]": "finished"})
    assert bad["errors"][0]["source"]["parameter"] == "filter[status]"
    dst = api("/destinations/create", {
        "workspaceId": workspace_id,
        "destinationDefinitionId": definition_id(api, "destination", "duckdb"),
        "connectionConfiguration": {"path": "q.duckdb"}})
    conn = api("/connections/create", {"sourceId": source_id,
                                       "destinationId": dst["destinationId"],
                                       "syncMode": "full_refresh", "status": "active"})
    sync = api("/connections/sync", {"connectionId": conn["connectionId"]})["job"]
    pending = data.get("/jobs", **{"filter[status]": "pending"})["data"]
    assert [d["id"] for d in pending] == [str(sync["id"])]
    assert pending[0]["attributes"]["unicity"] == f"sync:{conn['connectionId']}"
    r = data.client.delete(f"/jobs/{sync['id']}", auth=ADMIN)
    assert r.status_code == 204
    data.get(f"/jobs/{sync['id']}", 404)
    data.get("/jobs/not-a-number", 404)


def test_another_workspace_sees_no_export_and_no_job(data: Data, workspace_id: str,
                                                     source_id: str) -> None:
    exp = _export(data, workspace_id, source_id)
    p = data.client.app.state.platform  # type: ignore[attr-defined]
    auth.create_user(p, "eve", "eve-password", "eve-team")
    eve = Data(data.client, auth=("eve", "eve-password"))
    eve.get(f"/exports/{exp['id']}", 404)
    eve.get(f"/jobs/{exp['attributes']['job_id']}", 404)
    assert eve.get("/exports")["data"] == []
    assert eve.get("/jobs")["data"] == []
    r = data.client.get(f"/exports/{exp['id']}/download", auth=("eve", "eve-password"))
    assert r.status_code == 404
    bad = eve.post("/exports/export", {"project_id": workspace_id, "source_id": source_id,
                                       "stream": "events"}, 404)
    assert bad["errors"][0]["status"] == "404"


def test_an_uploaded_file_is_imported_into_a_destination_table(
    data: Data, api: Api, workspace_id: str, settings: Any,
) -> None:
    dst = api("/destinations/create", {
        "workspaceId": workspace_id,
        "destinationDefinitionId": definition_id(api, "destination", "duckdb"),
        "connectionConfiguration": {"path": "imports.duckdb"}})
    body = "id,name,amount\n1,a,1.50\n2,b,2.25\n3,c,\n"
    params = {"project_id": workspace_id, "destination_id": dst["destinationId"],
              "table": "People", "filename": "people.csv"}
    r = data.client.post("/imports", params=params, content=body.encode(), auth=ADMIN)
    assert r.status_code == 202, r.text
    imp = r.json()["data"]
    assert imp["attributes"]["sha256"] == hashlib.sha256(body.encode()).hexdigest()
    run_jobs(data.client)
    job = data.get(f"/jobs/{imp['attributes']['job_id']}")["data"]["attributes"]
    assert job["status"] == "completed", job
    path = settings.data_dir / "files" / "imports.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute('SELECT id, name FROM "People" ORDER BY id').fetchall() == [
            (1, "a"), (2, "b"), (3, "c")]
    again = data.client.post("/imports", params=params | {"mode": "replace"},
                             content=b"id,name,amount\n9,z,0\n", auth=ADMIN)
    assert again.status_code == 202
    run_jobs(data.client)
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute('SELECT id FROM "People"').fetchall() == [(9,)]
    broken = data.client.post("/imports", params=params | {"mode": "replace"},
                              content=b'id,name,amount\n1,"x,2\n', auth=ADMIN)
    run_jobs(data.client)
    failed = data.get(f"/imports/{broken.json()['data']['id']}")["data"]["attributes"]
    assert failed["row_errors"], failed
    with duckdb.connect(str(path), read_only=True) as con:  # the table is left as it was
        assert con.execute('SELECT id FROM "People"').fetchall() == [(9,)]


@pytest.mark.parametrize(("params", "field"), [
    ({"format": "xml"}, "format"),
    ({"mode": "merge"}, "mode"),
    ({"table": "a/b"}, "table"),
])
def test_a_bad_import_request_names_the_field(data: Data, api: Api, workspace_id: str,
                                              params: dict[str, str], field: str) -> None:
    dst = api("/destinations/create", {
        "workspaceId": workspace_id,
        "destinationDefinitionId": definition_id(api, "destination", "duckdb"),
        "connectionConfiguration": {"path": "i.duckdb"}})
    base = {"project_id": workspace_id, "destination_id": dst["destinationId"], "table": "t",
            "format": "csv"}
    r = data.client.post("/imports", params=base | params, content=b"a\n1\n", auth=ADMIN)
    assert r.status_code == 422, r.text
    assert field in r.json()["errors"][0]["detail"]


def test_expired_artifacts_are_pruned_file_and_row(data: Data, workspace_id: str,
                                                   source_id: str) -> None:
    from sluiceway.artifacts import ArtifactStore
    from sluiceway.jobs.runtime import enqueue_prune
    from sluiceway.store.models import Artifact

    exp = _export(data, workspace_id, source_id)
    keep = _export(data, workspace_id, source_id)
    p = data.client.app.state.platform  # type: ignore[attr-defined]
    files = ArtifactStore(p.settings.artifacts_dir)
    assert files.exists(exp["id"])
    old_part = files.key(exp["id"]).parent / f".{exp['id']}.abc.part"
    new_part = files.key(exp["id"]).parent / f".{keep['id']}.def.part"
    for part in (old_part, new_part):
        part.write_bytes(b"half")
    os.utime(old_part, (time.time() - 2 * 86400, time.time() - 2 * 86400))
    with p.db.session() as s:
        s.get(Artifact, exp["id"]).expires_at = time.time() - 1
    assert enqueue_prune(p.settings, p.db) is not None
    run_jobs(data.client)
    assert not files.exists(exp["id"])
    assert files.exists(keep["id"])
    assert not old_part.exists()  # a writer killed two days ago left it
    assert new_part.exists()  # may still be being written
    with p.db.session() as s:
        assert s.get(Artifact, exp["id"]) is None
    data.get(f"/exports/{exp['id']}", 404)


def test_a_password_protected_export_is_an_aes_zip_and_needs_its_password(
    data: Data, workspace_id: str, source_id: str, tmp_path: Any,
) -> None:
    import pyzipper

    from sluiceway.store.models import Artifact, Job

    secret = "correct horse battery"  # noqa: S105 - a test value
    exp = _export(data, workspace_id, source_id, password=secret)
    a = exp["attributes"]
    assert a["phase"] == "completed"
    assert a["filename"] == "events.csv.zip"
    assert a["mime_type"] == "application/zip"
    url = f"/exports/{exp['id']}/download"
    missing = data.client.get(url, auth=ADMIN)
    assert missing.status_code == 403
    assert missing.json()["errors"][0]["source"]["pointer"] == "/password"
    wrong = data.client.get(url, auth=ADMIN, headers={"X-Export-Password": "nope-nope"})
    assert wrong.status_code == 403
    assert "wrong password" in wrong.json()["errors"][0]["detail"]
    ok = data.client.get(url, auth=ADMIN, headers={"X-Export-Password": secret})
    assert ok.status_code == 200
    assert secret.encode() not in ok.content
    (tmp_path / "e.zip").write_bytes(ok.content)
    with pyzipper.AESZipFile(tmp_path / "e.zip") as zf:
        assert zf.namelist() == ["events.csv"]
        zf.setpassword(secret.encode())
        assert zf.read("events.csv").decode().count("\n") == 501
    p = data.client.app.state.platform  # type: ignore[attr-defined]
    with p.db.session() as s:
        row = s.get(Artifact, exp["id"])
        assert row.password_hash
        assert secret not in row.password_hash
        assert s.get(Job, a["job_id"]).input["password"] is None  # wiped once used
    bad = data.post("/exports/export", {"project_id": workspace_id, "source_id": source_id,
                                        "stream": "events", "password": "short"}, 422)
    assert "password" in bad["errors"][0]["detail"]


def test_export_jobs_honour_priority_schedule_and_unicity(data: Data, workspace_id: str,
                                                          source_id: str) -> None:
    base = {"project_id": workspace_id, "source_id": source_id, "stream": "events"}
    later = data.post("/exports/export", base | {"scheduled_at": "2999-01-01T00:00:00Z"})
    low = data.post("/exports/export", base | {"priority": -5, "unicity": "nightly"})
    high = data.post("/exports/export", base | {"priority": 7})
    again = data.post("/exports/export", base | {"unicity": "nightly", "format": "json"})
    assert again["data"]["id"] == low["data"]["id"]  # the active export holding the key
    job = later["included"][0]["attributes"]
    assert job["scheduled_at"].startswith("2999-01-01")
    assert high["included"][0]["attributes"]["priority"] == 7
    p = data.client.app.state.platform  # type: ignore[attr-defined]
    assert InlineExecutor(p.settings, p.db).run_pending(limit=1) == 1
    assert data.get(f"/exports/{high['data']['id']}")["data"]["attributes"]["phase"] == \
        "completed"
    assert data.get(f"/exports/{low['data']['id']}")["data"]["attributes"]["phase"] == "pending"
    run_jobs(data.client)
    assert data.get(f"/exports/{low['data']['id']}")["data"]["attributes"]["phase"] == \
        "completed"
    assert data.get(f"/exports/{later['data']['id']}")["data"]["attributes"]["phase"] == \
        "pending"  # not before its time
    for bad, field in [({"priority": 10**6}, "priority"), ({"scheduled_at": "soon"},
                                                           "scheduled_at")]:
        got = data.post("/exports/export", base | bad, 422)
        assert field in got["errors"][0]["detail"]


def test_an_import_skips_and_reports_bad_csv_rows_and_loads_the_rest(
    data: Data, api: Api, workspace_id: str, settings: Any,
) -> None:
    dst = api("/destinations/create", {
        "workspaceId": workspace_id,
        "destinationDefinitionId": definition_id(api, "destination", "duckdb"),
        "connectionConfiguration": {"path": "rows.duckdb"}})
    lines = ["id,amount"] + [f"{i},{i}.25" for i in range(1, 120_001)]
    lines[100_000] = "100000,abc"          # past the sampled first MB: a bad decimal
    lines[110_000] = "110000,1.5,surplus"  # one field too many
    body = ("\n".join(lines) + "\n").encode()
    assert len(body) > 1 << 20
    params = {"project_id": workspace_id, "destination_id": dst["destinationId"],
              "table": "amounts", "filename": "amounts.csv"}
    r = data.client.post("/imports", params=params, content=body, auth=ADMIN)
    assert r.status_code == 202, r.text
    run_jobs(data.client)
    imp = data.get(f"/imports/{r.json()['data']['id']}")["data"]["attributes"]
    assert imp["rows"] == 119_998
    assert imp["rejected_rows"] == 2
    reasons = " | ".join(f"{e['location']}: {e['message']}" for e in imp["row_errors"])
    assert "'abc'" in reasons
    assert "expected 2 fields, found 3" in reasons
    job = data.get(f"/jobs/{imp['job_id']}")["data"]["attributes"]
    assert job["status"] == "completed"
    assert job["output"]["rejected_rows"] == 2
    with duckdb.connect(str(settings.data_dir / "files" / "rows.duckdb"), read_only=True) as con:
        count, missing = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE id IN (100000, 110000)) FROM amounts"
        ).fetchone()
    assert (count, missing) == (119_998, 0)
    strict = data.client.post("/imports", params=params | {"bad_rows": "fail",
                                                           "mode": "replace"},
                              content=body, auth=ADMIN)
    run_jobs(data.client)
    failed = data.get(f"/imports/{strict.json()['data']['id']}")["data"]["attributes"]
    assert failed["row_errors"]
    assert data.get(f"/jobs/{failed['job_id']}")["data"]["attributes"]["status"] == "errored"
    with duckdb.connect(str(settings.data_dir / "files" / "rows.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM amounts").fetchone() == (119_998,)
