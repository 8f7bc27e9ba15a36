"""The benchmark's memory figure: each run's own process tree, nothing carried over."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from bench.measure import Memory, TreeSampler

pytest.importorskip("psutil")
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="VmHWM and wait4's inheritance are Linux behaviour")

MIB = 2**20

# Allocates (and touches) MB mebibytes, optionally frees them, says "ready" and holds
# until its stdin closes. With CHILD_MB it first starts a copy of itself holding that much.
HOLDER = """
import os, subprocess, sys
mb, free, child_mb = int(sys.argv[1]), sys.argv[2] == "free", int(sys.argv[3])
kid = None
if child_mb:
    kid = subprocess.Popen([sys.executable, "-c", sys.argv[4], str(child_mb), "keep", "0",
                            sys.argv[4]], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    kid.stdout.readline()
block = bytearray(os.urandom(1024)) * (mb * 1024)
if free:
    del block
print("ready", flush=True)
sys.stdin.read()
if kid:
    kid.stdin.close()
    kid.wait()
"""


@contextmanager
def holding(mb: int, *, free: bool = False, child_mb: int = 0) -> Iterator[Memory]:
    """Run a holder; once it is ready (its memory allocated, or allocated and freed), sample it
    twice, then let it end. Starting the sampler only then keeps a freed peak out of every
    sample, whatever the machine's load."""
    with subprocess.Popen([sys.executable, "-c", HOLDER, str(mb), "free" if free else "keep",
                           str(child_mb), HOLDER],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE) as proc:
        assert proc.stdin is not None
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        sampler = TreeSampler([proc.pid])
        try:
            assert sampler.wait_samples(2), "the sampler took no samples"
        finally:
            proc.stdin.close()
            proc.wait(timeout=60)
            memory = sampler.stop()
    yield memory


def test_a_run_reads_its_own_peak_not_an_earlier_runs() -> None:
    with holding(100) as first:
        pass
    with holding(20) as second:
        pass
    assert first.peak_mb is not None
    assert second.peak_mb is not None
    assert first.peak_mb >= 100
    # an interpreter is ~10-20 MB; the 100 MB of the first run must not show
    assert 20 <= second.peak_mb < 60


@linux_only
def test_the_runners_own_memory_is_not_counted_although_wait4_counts_it() -> None:
    ballast = bytearray(os.urandom(1024)) * (150 * 1024)  # this process grows by 150 MB
    with holding(20) as memory:
        pass
    assert memory.peak_mb is not None
    assert memory.peak_mb < 60
    assert memory.hwm_mb is not None
    assert memory.hwm_mb < 60
    # why wait4 is not used: a child's ru_maxrss starts at its parent's RSS
    proc = subprocess.Popen(["true"])
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    assert usage.ru_maxrss * 1024 >= 150 * MIB
    del ballast


def test_grandchildren_are_counted() -> None:
    with holding(10, child_mb=60) as memory:
        pass
    assert memory.processes == 2
    assert memory.peak_mb is not None
    assert memory.peak_mb >= 70


@linux_only
def test_high_water_mark_catches_a_peak_between_samples() -> None:
    with holding(80, free=True) as memory:
        pass
    assert memory.peak_mb is not None
    assert memory.hwm_mb is not None
    assert memory.hwm_mb >= 80
    assert memory.peak_mb < 60  # the samples only saw it after the free
