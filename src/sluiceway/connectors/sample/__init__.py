"""Sample source: a deterministic generator of a realistic ``events`` table (no I/O)."""
