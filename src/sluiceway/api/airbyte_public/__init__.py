"""Airbyte's public API (``/api/public/v1``): the subset that today's clients use (the
Airbyte SDK behind Airflow's provider, Dagster's ``AirbyteWorkspace``).

Every operation goes through the services, with the same roles and audit as the
Configuration API face; only the shapes differ."""

from sluiceway.api.airbyte_public.errors import PREFIXES, render
from sluiceway.api.airbyte_public.routes import router, token_router

__all__ = ["PREFIXES", "render", "router", "token_router"]
