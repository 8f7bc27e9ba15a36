"""Process memory habits of a sync.

Most of a sync's data is not allocated by Arrow's pool but by the drivers with plain
``malloc`` (ADBC's record batches, MySQL rows, the COPY buffers), in blocks of tens of KB to
a few MB that live as long as a batch does. Two glibc habits then keep freed batches as RSS:

- each thread that contends for the heap gets an arena of its own (up to 8 per core), and
  arenas are returned to the system only from their top. With reader, writer and driver
  threads that showed as 80 MB of peak RSS on a 2M-row mysql -> postgres sync (315 MB
  against 236 MB with two arenas);
- a block of at least ``M_MMAP_THRESHOLD`` (128 KiB) is its own mapping, unmapped when freed,
  but glibc raises that threshold to the size of every mapped block that is freed (up to
  32 MiB), so after the first batches the batch buffers come from the arenas instead and
  stay there. Setting the threshold fixes it at 128 KiB: a batch's buffers go back to the
  system when the batch is dropped (2M rows through ``sluiceway run``: mysql -> postgres
  peaked at 192 MB instead of 238, postgres -> parquet 186 instead of 208, no slower).

:func:`tune_malloc` does both at run time (``mallopt``), which is what ``MALLOC_ARENA_MAX``
and ``MALLOC_MMAP_THRESHOLD_`` do at start-up; elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
#: blocks from this size on are mapped on their own and unmapped when freed (glibc's default
#: starting value, kept from moving up)
MMAP_THRESHOLD = 128 * 1024
_done = False


def tune_malloc(arenas: int = 2, mmap_threshold: int = MMAP_THRESHOLD) -> bool:
    """Cap glibc's malloc arenas (for threads made from now on) and fix its mmap threshold;
    True when both took effect (once per process)."""
    global _done  # noqa: PLW0603 - once per process
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # not glibc (musl has no mallopt)
    arenas_set = bool(mallopt(M_ARENA_MAX, arenas))
    threshold_set = bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold))
    _done = arenas_set and threshold_set
    return _done


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Former name of :func:`tune_malloc`."""
    return tune_malloc(arenas)
