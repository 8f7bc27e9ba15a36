"""MySQL / MariaDB source (connectorx: the server's binary protocol straight into Arrow, in
primary-key chunks) and destination (Arrow encoded into ``LOAD DATA LOCAL INFILE`` text)."""
