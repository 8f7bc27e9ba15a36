"""The dump family (seed 000, CRAFTS): ``/apis/{apiId}/dumps``, where an API is a source."""
