"""Run a pipeline file: discover, plan, sync, keep state per pipeline in the data dir."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sluiceway.connectors import registry
from sluiceway.core.errors import ConfigInvalid, FieldError
from sluiceway.core.settings import Settings
from sluiceway.engine import pipeline as engine
from sluiceway.engine.checkpoint import FileStateStore
from sluiceway.engine.pipeline import PhaseFn, ProgressFn, SyncResult
from sluiceway.engine.plan import configure
from sluiceway.protocol.spec import ConnectorSpec, validate_config
from sluiceway.services.pipeline_file import Pipeline

__all__ = ["PhaseFn", "ProgressFn", "SyncResult", "run"]


def run(p: Pipeline, settings: Settings, progress: ProgressFn | None = None, *,
        estimate: Callable[[str, int], None] | None = None,
        phase: PhaseFn | None = None) -> SyncResult:
    """Validate both configs, discover, plan and run; raises on bad input before any write.
    ``progress``, ``estimate`` and ``phase`` are told what :class:`engine.Options` says."""
    src_spec = registry.entry(p.source, "source").load_spec()
    dst_spec = registry.entry(p.destination, "destination").load_spec()
    src_cfg = _validated("source", src_spec, p.source_config)
    dst_cfg = _validated("destination", dst_spec, p.destination_config)
    source = registry.source(p.source)
    destination = registry.destination(p.destination)
    source.checkpoint_rows = settings.checkpoint_rows
    catalog = configure(source.discover(src_cfg), p.streams)
    settings.ensure_dirs()
    store = FileStateStore(settings.state_dir / f"{p.name}.json")
    opts = engine.Options(buffer_bytes=settings.buffer_bytes,
                          parallel_streams=settings.parallel_streams, progress=progress,
                          estimate=estimate, phase=phase)
    return engine.run(catalog, source, src_cfg, destination, dst_cfg, store, opts)


def _validated(side: str, spec: ConnectorSpec, config: dict[str, Any]) -> dict[str, Any]:
    """Validate a config, naming fields as they stand in the pipeline file."""
    try:
        return validate_config(spec, config)
    except ConfigInvalid as exc:
        raise ConfigInvalid(f"invalid {side} config", [
            FieldError(f"{side}.config.{e.path}" if e.path else f"{side}.config", e.reason,
                       e.value) for e in exc.errors]) from None
