"""The connector protocol: catalog, messages, specs and the Arrow type mapping.

A leaf that imports only ``sluiceway.core`` and pyarrow. Built-in connectors and the engine
meet here: a source turns its rows into Arrow record batches described by ``arrow_types``;
a destination turns those batches into its own types.
"""
