"""What the kinds that make a file share: updating their artifact row, and marking it failed
(or waiting for its retry) whatever stops the attempt."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from sluiceway.core.errors import Fatal
from sluiceway.jobs.context import AttemptContext, classify
from sluiceway.secrets import Cipher
from sluiceway.store.db import Database
from sluiceway.store.models import Artifact, Attempt, Job


def note(db: Database, artifact_id: str, *, meta: dict[str, Any] | None = None,
         **values: Any) -> None:
    """Set columns of an artifact row and merge ``meta`` into its meta. A read then a
    write: on SQLite the write lock is taken first (``claim``), so a heartbeat writing
    meanwhile cannot make it fail as busy."""
    with db.claim() as s:
        a = s.get(Artifact, artifact_id)
        if a is None:
            raise Fatal(f"artifact {artifact_id} was deleted")
        for k, v in values.items():
            setattr(a, k, v)
        if meta:
            a.meta = {**(a.meta or {}), **meta}


def marking_failure(ctx: AttemptContext, body: Callable[[AttemptContext, str], dict[str, Any]],
                    *, failed_meta: Callable[[], dict[str, Any]] | None = None,
                    describe: Callable[[BaseException], str] = str) -> dict[str, Any]:
    """Run ``body(ctx, artifact_id)``; on any exception the exception goes on and the
    artifact's phase becomes ``failed`` with the (redacted) reason, or ``pending`` with
    the reason when the ledger will run another attempt (a passing fault with attempts
    left): a file waiting for its retry is not shown as failed."""
    artifact_id = str(ctx.input["artifact_id"])
    try:
        return body(ctx, artifact_id)
    except BaseException as exc:
        reason = ctx.redact(describe(exc))
        if _will_retry(ctx, exc):
            note(ctx.db, artifact_id, phase="pending",
                 error=f"this attempt failed and another follows: {reason}"[:2000])
        else:
            note(ctx.db, artifact_id, meta=failed_meta() if failed_meta else None,
                 phase="failed", error=reason[:2000])
        raise


def _will_retry(ctx: AttemptContext, exc: BaseException) -> bool:
    """Whether the ledger ends this attempt with another to follow (as its ``finish``
    decides: a retryable failure, not cancelled, with attempts left)."""
    if not isinstance(exc, Exception) or ctx.cancel.is_set():
        return False
    outcome, retryable = classify(exc)
    if outcome != "failed" or not retryable:
        return False
    with ctx.db.session() as s:
        row = s.execute(select(Attempt.number, Job.max_attempts, Job.cancel_requested,
                               Job.cancel_mode)
                        .join(Job, Job.id == Attempt.job_id)
                        .where(Attempt.id == ctx.attempt_id)).first()
    if row is None:
        return False
    number, max_attempts, cancel_requested, cancel_mode = row
    return (not cancel_requested and cancel_mode != "stop"
            and int(number) < int(max_attempts))


def held_password(ctx: AttemptContext, protected: bool) -> str | None:
    """The file password a job was given (decrypted, and registered for redaction), or
    None for an unprotected file. A protected file whose password an earlier attempt used
    up is :class:`Fatal`: never fall back to writing it unencrypted."""
    sealed = ctx.input.get("password")
    if not sealed:
        if protected:
            raise Fatal("the file's password is no longer held (it is kept only for the "
                        "first attempt); ask for the file again")
        return None
    password = Cipher.from_settings(ctx.settings).decrypt(str(sealed))
    ctx.add_secrets([password])
    return password


def forget_password(ctx: AttemptContext) -> None:
    """Wipe a file password from the job's input once an attempt used it (it travels
    encrypted with the server key, and only until then)."""
    with ctx.db.session() as s:
        job = s.get(Job, ctx.job_id)
        if job is not None and (job.input or {}).get("password"):
            job.input = {**job.input, "password": None}
