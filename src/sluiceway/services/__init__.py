"""Use-cases the faces (CLI, API) call: run a pipeline, check, discover, describe connectors."""
