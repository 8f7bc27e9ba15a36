"""Built-in connectors, one package per external system.

Each package has the same files: ``spec.py`` (the config JSON Schema; imports no driver),
``source.py`` and/or ``destination.py``, ``types.py`` (its type mapping), ``errors.py`` (turns
the driver's exceptions into ``sluiceway.core.errors`` at one boundary). ``registry`` finds
them by name without importing a driver; ``testing`` is the shared conformance suite.
"""
