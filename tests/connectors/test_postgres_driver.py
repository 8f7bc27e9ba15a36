"""The PostgreSQL source decodes binary COPY with ADBC's driver, a C++ library: it must be a
build made with the compiler's optimiser on.

The driver's wheels 1.9.0 to 1.13.0 on PyPI were compiled without optimisation (-O0): every
small helper of the decoder stays a function of its own, which an optimised build inlines.
Reading the benchmark's 2M rows then costs the client 4.7 CPU-seconds against 2.1 with
1.8.0, and postgres -> parquet or -> duckdb lose a fifth of their speed. pyproject.toml keeps
the driver below 1.9; this test says so if a later pin brings such a build back.
"""

from __future__ import annotations

from pathlib import Path

import adbc_driver_postgresql

# Template helpers of the decoder (``adbcpq::ReadUnsafe<T>``) and ``SwapNetworkToHost``:
# names an -O0 build keeps in its symbol table and an optimised one inlines away.
UNOPTIMISED_MARKERS = (b"_ZN6adbcpq10ReadUnsafe", b"SwapNetworkToHost")


def test_the_postgres_driver_is_an_optimised_build() -> None:
    library = Path(adbc_driver_postgresql._driver_path())
    image = library.read_bytes()
    assert b"adbcpq" in image, f"{library} does not look like ADBC's PostgreSQL driver"
    found = [m.decode() for m in UNOPTIMISED_MARKERS if m in image]
    assert not found, (
        f"adbc-driver-postgresql {adbc_driver_postgresql.__version__} ({library}) is an "
        f"unoptimised build (it keeps {found} out of line): decoding COPY costs twice the CPU; "
        "pin a release built with optimisation (see pyproject.toml)")
