"""The Airbyte Configuration API v1 face (seed 001): POST RPC under ``/v1`` and ``/api/v1``."""
