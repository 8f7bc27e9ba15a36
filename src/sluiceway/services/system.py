"""Health and debug information: versions for anyone signed in; the server's settings
(without secrets) and its metadata database for the admin only."""

from __future__ import annotations

import platform as pyplatform
from importlib import metadata
from typing import Any

from sqlalchemy.engine import make_url

from sluiceway import __version__
from sluiceway.services.auth import Caller
from sluiceway.services.platform import Platform

_LIBRARIES = ("sqlalchemy", "alembic", "fastapi", "pyarrow", "duckdb", "psycopg")
_HIDDEN = {"secret_key", "admin_password", "database_url"}


def healthy(p: Platform) -> bool:
    return p.db.ping()


def debug_info(p: Platform, caller: Caller) -> dict[str, Any]:
    versions: dict[str, str | None] = {"sluiceway": __version__,
                                       "python": pyplatform.python_version()}
    for lib in _LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = None
    if not caller.is_admin:
        return {"version": __version__, "versions": versions}
    settings = {k: (str(v) if not isinstance(v, int | float | bool) else v)
                for k, v in p.settings.model_dump().items()
                if k not in _HIDDEN and v is not None}
    settings["metadata_database"] = make_url(p.settings.metadata_url).render_as_string(
        hide_password=True)
    return {"version": __version__, "versions": versions, "settings": settings,
            "metadataDatabase": p.db.dialect}
