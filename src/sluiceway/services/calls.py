"""check_connection and discover_schema calls: each in its own process, killed at the limit.

A connector call may hang in places no timeout reaches (a driver waiting on a peer that
accepted the connection and never answers). So each call runs in a child process (forked
from a ``forkserver`` that has the connectors imported: no thread of the server is
copied); the parent waits ``check_timeout_seconds`` from the moment the child is ready,
then kills it, which closes its connections. The child's network policy carries the
limit as a read timeout, so a driver gives up on its own first where it can.

At most ``check_concurrency_per_workspace`` calls of one workspace run at once (the
platform's :class:`~sluiceway.services.gate.WorkspaceGate`); one more is answered
``TooManyRequests`` (HTTP 429) at once, so a workspace pointing checks at a silent host
holds its own slots, never another workspace's.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import pickle
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from sluiceway.connectors import network, registry
from sluiceway.core.errors import ConnectorError, FieldError
from sluiceway.services.platform import Platform

#: how long a child may take to start (outside the call's own limit)
START_SECONDS = 60.0
_mp = multiprocessing.get_context("forkserver")
_preloaded = threading.Lock()
_preload_set = False


def _preload() -> None:
    """Before the fork server starts: have it import every Sluiceway module this process
    has (and the connectors). A child runs the main script again (multiprocessing's rule
    for a script); with its imports in place that costs next to nothing."""
    global _preload_set
    with _preloaded:
        if not _preload_set:
            _mp.set_forkserver_preload(sorted(
                {m for m in list(sys.modules) if m.split(".")[0] == "sluiceway"}
                | {e.impl_ref.partition(":")[0] for e in registry.entries()}))
            _preload_set = True


def warm() -> None:
    """Start the fork server now (it imports the server's modules once: seconds), so that
    the first call does not wait for it."""
    _preload()
    child = _mp.Process(target=_noop, name="sluiceway-connector-call-warmup", daemon=True)
    child.start()
    child.join(START_SECONDS)
    if child.is_alive():
        child.kill()
        child.join()
    child.close()


def _noop() -> None:
    """What the warm-up child does."""


def run(p: Platform, workspace_id: str, what: str, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a child process within the time limit; its exception is raised here.

    Raises :class:`TooManyRequests` when the workspace runs its most calls already, and
    :class:`ConnectorError` when the call passed its limit (the child is killed)."""
    limit = p.settings.check_timeout_seconds
    gate = p.calls
    gate.enter(workspace_id, p.settings.check_concurrency_per_workspace,
               max(1, math.ceil(limit)))
    try:
        return _in_child(limit, what, fn, args)
    finally:
        gate.leave(workspace_id)


def _in_child(limit: float, what: str, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    _preload()
    policy = dataclasses.replace(network.policy(), read_timeout=limit)
    ours, theirs = _mp.Pipe(duplex=False)
    child = _mp.Process(target=_child_main, args=(theirs, policy, fn, args),
                        name="sluiceway-connector-call", daemon=True)
    child.start()
    theirs.close()
    try:
        if not ours.poll(START_SECONDS):
            raise ConnectorError(f"{what} could not start within {START_SECONDS:g} seconds")
        try:
            ours.recv()  # ready: the limit starts now
            if not ours.poll(limit):
                raise ConnectorError(f"{what} did not answer within {limit:g} seconds and "
                                     "was stopped")
            ok, value = ours.recv()
        except EOFError:
            child.join(1)
            raise ConnectorError(f"{what} ended without an answer (exit code "
                                 f"{child.exitcode})") from None
    finally:
        ours.close()
        if child.is_alive():
            child.kill()
        child.join(10)
        child.close()
    if ok:
        return value
    if isinstance(value, network.TargetRefused):
        # the connector names its config's fields; callers know them under ``config``
        value.errors = [FieldError(f"config.{e.path}", e.reason, e.value)
                        for e in value.errors]
    raise value


def _child_main(out: Connection, policy: network.NetworkPolicy, fn: Callable[..., Any],
                args: tuple[Any, ...]) -> None:
    network.configure(policy)
    out.send(True)
    try:
        answer: tuple[bool, Any] = (True, fn(*args))
    except Exception as exc:  # noqa: BLE001 - every failure travels back to the caller
        answer = (False, _portable(exc))
    out.send(answer)
    out.close()


def _portable(exc: Exception) -> Exception:
    """``exc`` if it survives pickling, else a RuntimeError saying what it was."""
    try:
        back = pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own bytes
    except Exception:  # noqa: BLE001 - any pickling failure means: send a plain copy
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return back if isinstance(back, Exception) else RuntimeError(str(exc))
