"""PostgreSQL source (ADBC: binary COPY straight into Arrow) and destination (pgpq: Arrow
into binary COPY through psycopg)."""
