"""What this installation is (#84-86, #91, #92, #146) and task totals per space (#14): true
values of this server (version, addresses, memory and worker settings, disk and database
sizes); where the platform API names something only a hosted service has (subscriptions,
update cycles, maintenance windows), the honest answer for a self-hosted server: nothing,
or "not here", never a pretended success."""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from sluiceway import __version__
from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.services import policy
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.models import Task, Workspace

EDITION = "self-hosted"
UPDATE_CYCLES = ("latest", "lts")
#: task statuses counted per space (tasks arrive with routes; until then every count is 0)
TASK_STATUSES = ("new", "processing", "finished", "failed", "skipped")


@dataclass(frozen=True)
class Server:
    ip_address: str
    api_url: str
    docs_url: str
    openapi_url: str
    version: str
    edition: str
    queue_enabled: bool

    @property
    def oauth2_redirect_url(self) -> str:
        return f"{self.api_url}/oauth/callback"

    @property
    def oauth1_callback_url(self) -> str:
        return f"{self.api_url}/oauth1/callback"

    @property
    def webhook_url(self) -> str:
        return f"{self.api_url}/webhook"

    @property
    def http_proxy_url(self) -> str:
        return f"{self.api_url}/http-proxy"


@dataclass(frozen=True)
class Environment:
    identifier: str
    name: str
    code: str
    type: str
    prototype: str


def environments(server: Server) -> list[Environment]:
    """#92: the one environment a self-hosted server is: itself."""
    return [Environment("self-hosted", f"Sluiceway at {server.api_url.rsplit('/api/v1', 1)[0]}",
                        "self-hosted", server.edition, "sluiceway")]


@dataclass(frozen=True)
class Usage:
    memory_limit_mb: int | None
    workers: int
    filesystem_bytes: int
    database_bytes: int | None


def _address(host: str) -> str:
    """The address the server answers on: its listen address, or for a wildcard the
    machine's primary address (no packet is sent)."""
    if host not in ("0.0.0.0", "::", ""):  # noqa: S104 - a comparison, not a bind
        return host
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: only picks the outgoing interface
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def server(p: Platform, caller: Caller, base_url: str) -> Server:
    """#84 and #85: addresses and version; ``base_url`` is where the caller reached us."""
    del caller  # any signed-in caller
    base = base_url.rstrip("/")
    return Server(_address(p.settings.host), f"{base}/api/v1", f"{base}/docs",
                  f"{base}/openapi.json", __version__, EDITION, True)


def _memory_limit_mb() -> int | None:
    """The process's address-space limit, else the machine's memory (MB)."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft not in (resource.RLIM_INFINITY, -1):
            return int(soft // 2**20)
    except (ImportError, OSError, ValueError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20)
    except (AttributeError, OSError, ValueError):
        return None


def _tree_bytes(root: Path) -> int:
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            try:
                total += (Path(folder) / name).lstat().st_size
            except OSError:
                continue  # removed while we walked
    return total


def _database_bytes(p: Platform) -> int | None:
    url = make_url(p.settings.metadata_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        if not url.database or not path.exists():
            return None
        return sum(f.stat().st_size for f in (path, Path(f"{path}-wal")) if f.exists())
    if url.get_backend_name() == "postgresql":
        with p.db.session() as s:
            return int(s.scalar(text("SELECT pg_database_size(current_database())")) or 0)
    return None


def usage(p: Platform, caller: Caller) -> Usage:
    """#86: the data engine's settings and what the installation occupies."""
    del caller
    return Usage(_memory_limit_mb(), p.settings.workers, _tree_bytes(p.settings.data_dir),
                 _database_bytes(p))


def set_update_cycle(p: Platform, caller: Caller, cycle: str) -> None:
    """#91: a self-hosted server is updated by whoever runs it; there is no cycle to pick.
    Bad values are refused first; a good one is refused as not implemented."""
    policy.require(caller, policy.SYSTEM)
    if cycle not in UPDATE_CYCLES:
        raise InvalidInput("invalid update cycle", [FieldError(
            "updateCycle", f"must be one of {', '.join(UPDATE_CYCLES)}", cycle)])


UPDATE_CYCLE_NOT_HERE = ("a self-hosted server has no update cycle: whoever runs it installs "
                         "new versions (pip install -U sluiceway) and restarts it")


def _date(value: str | None, field: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("invalid dates", [FieldError(
            field, "must be a date (YYYY-MM-DD)", value)]) from None


@dataclass(frozen=True)
class SpaceTotals:
    identifier: str
    name: str
    counts: dict[str, int]


def space_statistics(p: Platform, caller: Caller, date_from: str | None,
                     date_to: str | None) -> list[SpaceTotals]:
    """#14: task totals by status per space (of the tasks made between the two days), for
    system administrators."""
    policy.require(caller, policy.SYSTEM)
    start, end = _date(date_from, "dateFrom"), _date(date_to, "dateTo")
    if start is not None and end is not None and start > end:
        raise InvalidInput("invalid dates", [FieldError(
            "dateTo", "must not be before dateFrom", date_to)])
    q = select(Task.workspace_id, Task.status, func.count(Task.id)).group_by(
        Task.workspace_id, Task.status)
    if start is not None:
        q = q.where(Task.created_at >= _epoch(start))
    if end is not None:  # the whole of the last day
        q = q.where(Task.created_at < _epoch(end + dt.timedelta(days=1)))
    with p.db.session() as s:
        rows = s.execute(select(Workspace.id, Workspace.slug, Workspace.name)
                         .order_by(Workspace.created_at, Workspace.id)).all()
        counts: dict[str, dict[str, int]] = {}
        for ws, status, n in s.execute(q):
            if status in TASK_STATUSES:
                counts.setdefault(ws, dict.fromkeys(TASK_STATUSES, 0))[status] = int(n)
    return [SpaceTotals(slug, name, counts.get(ws, dict.fromkeys(TASK_STATUSES, 0)))
            for ws, slug, name in rows]


def _epoch(day: dt.date) -> float:
    return dt.datetime.combine(day, dt.time(), dt.UTC).timestamp()
