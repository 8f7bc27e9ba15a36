"""The job system: ledger, runner, executors and scheduler.

* :mod:`~sluiceway.jobs.ledger` — enqueue, claim, heartbeat, finish, cancel, reap, logs;
* :mod:`~sluiceway.jobs.kinds` — what each ``Job.config_type`` does (``sync``,
  ``reset_connection``), given an :class:`~sluiceway.jobs.context.AttemptContext`;
* :mod:`~sluiceway.jobs.runner` — runs one claimed attempt (heartbeat, error classes);
* :mod:`~sluiceway.jobs.executors` — where attempts run (in process, or worker processes);
* :mod:`~sluiceway.jobs.scheduler` — fires scheduled connections exactly once per slot;
* :mod:`~sluiceway.jobs.runtime` — executor plus scheduler, as the server runs them.
"""
