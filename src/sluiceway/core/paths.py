"""Local paths confined to folders: every path is resolved with its symlinks followed, then
refused unless it lands inside one of the allowed roots.

Connectors configured over the API carry the server's file roots (``Connector.roots``); a
glob match, a database file, a destination folder or a restore target that leads out of them
through a symlink (made before or after the config was saved) is refused when it is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sluiceway.core.errors import ConfigInvalid, FieldError

ROOTS_SETTING = "SLUICEWAY_FILE_ROOTS"


def within(path: Path, roots: Sequence[Path]) -> bool:
    """Whether ``path``, with every symlink followed, is one of ``roots`` or inside one."""
    try:
        resolved = path.expanduser().resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return False
    return any(resolved == r or resolved.is_relative_to(r) for r in roots)


def confine(path: Path, roots: Sequence[Path] | None, field: str, shown: str | None = None,
            ) -> Path:
    """``path`` resolved; with ``roots`` given, ConfigInvalid naming ``field`` unless it
    resolves inside one of them. The resolved target is not shown (it may be anywhere)."""
    if roots is None:
        return path.expanduser().resolve()
    if not within(path, roots):
        raise ConfigInvalid("path outside the allowed folders", [FieldError(
            field, f"{shown or str(path)!r} leads outside the allowed folders (symlinks are "
            f"followed; see {ROOTS_SETTING})", shown or str(path))])
    return path.expanduser().resolve()
