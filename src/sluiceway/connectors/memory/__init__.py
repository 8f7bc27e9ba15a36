"""An in-process source and destination over named Arrow tables: a real connector that ships,
used by tests and by embedding code (``DATASETS[name][stream] = pyarrow.Table``)."""
