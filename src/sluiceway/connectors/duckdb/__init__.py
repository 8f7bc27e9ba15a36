"""DuckDB source and destination: Arrow batches in and out of DuckDB, zero-copy."""
