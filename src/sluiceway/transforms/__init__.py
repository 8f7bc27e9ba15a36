"""Row and column transforms applied to Arrow record batches, specified as plain data.

Enters: a spec from the caller (JSON-shaped: lists, dicts, strings, numbers) and the Arrow
schema it applies to. Leaves: a callable over record batches, or a validated column list.
Nothing here evaluates code or SQL; every problem in a spec is an ``InvalidInput`` whose
``FieldError`` paths name the offending spot (``filter[1].column``).
"""
