"""The job system: ledger, runner, executors and scheduler."""
