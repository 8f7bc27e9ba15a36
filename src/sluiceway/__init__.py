"""Sluiceway: a self-hosted data-integration server.

Layers (an arrow means "may import"): cli -> engine -> connectors -> protocol -> core.
"""

from __future__ import annotations

__version__ = "0.1.0"
