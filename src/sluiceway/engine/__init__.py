"""The data plane: plan -> read -> (bounded buffer) -> write, with state checkpoints.

Enters: a source and destination (``connectors.base``), their configs, a configured catalog
and a :class:`~sluiceway.engine.checkpoint.StateStore`. Leaves: :class:`Stats` per stream; the
store holds each stream's last committed state. Knows nothing of HTTP or the metadata DB.
"""
