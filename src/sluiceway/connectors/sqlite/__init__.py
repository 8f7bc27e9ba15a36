"""SQLite source and destination (stdlib ``sqlite3``): rows converted column-wise
to and from Arrow."""
