"""The HTTP faces: one FastAPI app, one package per API family."""
