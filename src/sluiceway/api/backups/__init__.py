"""The project-backup family (seed 003, mittwald API v2 style): ``/v2/projects/{id}/backups``
and ``/v2/project-backups/...``, with that family's error bodies."""
