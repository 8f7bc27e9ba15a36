"""Secrets at rest: the secret fields of connector configs, encrypted with Fernet.

What enters: a plain connector config and its spec (fields marked ``airbyte_secret``),
and the settings that give the key (``SLUICEWAY_SECRET_KEY``, else ``<data_dir>/secret.key``,
generated with mode 0600 on first use).

What leaves: :func:`seal` gives the config to store, each secret replaced by
``{"$sealed": <Fernet token>}``; :func:`unseal` gives back the plain config to run a connector
(it needs no spec); :func:`merge_masked` turns an update that sends the mask back into one that
keeps the stored secret; :func:`secret_values` and :func:`redact` keep secrets out of logs.
No secret value ever appears in an error message.
"""

from __future__ import annotations

from sluiceway.secrets.cipher import (
    SEALED,
    Cipher,
    load_key,
    merge_masked,
    redact,
    seal,
    secret_values,
    unseal,
)

__all__ = [
    "SEALED",
    "Cipher",
    "load_key",
    "merge_masked",
    "redact",
    "seal",
    "secret_values",
    "unseal",
]
