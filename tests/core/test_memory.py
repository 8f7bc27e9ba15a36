"""glibc malloc tuning: a freed batch-sized block goes back to the system."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="mallopt is glibc's")

# Maps, frees and maps again a 4 MiB block, then reports how many bytes malloc holds in
# blocks of their own (mallinfo2's hblkhd) while the second block is alive.
PROBE = """
import ctypes, json, sys
from sluiceway.core.memory import tune_malloc
libc = ctypes.CDLL("libc.so.6")
if not hasattr(libc, "mallinfo2"):
    print(json.dumps(None)); sys.exit()
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks",
                "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc.mallinfo2.restype = Info
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
tuned = tune_malloc() if sys.argv[1] == "tuned" else None
size = 4 * 2**20
first = libc.malloc(size)
libc.free(first)  # untuned, glibc now raises its mmap threshold to 4 MiB
second = libc.malloc(size)
print(json.dumps({"tuned": tuned, "mapped": libc.mallinfo2().hblkhd}))
libc.free(second)
"""


def _probe(mode: str) -> dict[str, object] | None:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                         check=True, timeout=60)
    result: dict[str, object] | None = json.loads(out.stdout)
    return result


@pytest.mark.parametrize(("mode", "mapped"), [("tuned", True), ("default", False)])
def test_batch_sized_blocks_stay_mapped_only_when_tuned(mode: str, mapped: bool) -> None:
    result = _probe(mode)
    if result is None:
        pytest.skip("not glibc >= 2.33 (no mallinfo2)")
    if mode == "tuned":
        assert result["tuned"] is True
    assert isinstance(result["mapped"], int)
    assert (result["mapped"] >= 4 * 2**20) is mapped
