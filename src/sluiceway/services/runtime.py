"""Start and stop the job system (executor, reaper, scheduler) of a server process."""

from __future__ import annotations

from sluiceway.jobs.runtime import JobRuntime
from sluiceway.services.platform import Platform


def start(platform: Platform) -> JobRuntime:
    rt = JobRuntime(platform.settings, platform.db)
    rt.start()
    return rt
