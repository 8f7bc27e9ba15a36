"""The server's log lines: text, or one JSON object a line (``--log-format json``).

A line carries what its record was given as ``extra`` among :data:`FIELDS` (a job's log line
has ``job_id`` and ``attempt_id``), so a log collector can filter by job."""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.config
from typing import Any, Literal

LogFormat = Literal["text", "json"]

#: ``extra`` keys a line keeps, in this order
FIELDS = ("job_id", "attempt_id", "job_kind")
#: the loggers the server's lines come from
LOGGERS = ("sluiceway", "uvicorn", "uvicorn.error", "uvicorn.access")


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ...FIELDS, "exception"}``, one a line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in FIELDS:
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time level logger: message`` with ``[job N]`` before a job's message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if hasattr(record, "job_id"):
            where = f"[job {record.job_id}] "
            head, sep, tail = text.partition(": ")
            text = f"{head}{sep}{where}{tail}"
        return text


def logging_config(fmt: LogFormat = "text") -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` configuration: every line to stderr, in ``fmt``."""
    formatter = JsonFormatter if fmt == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"line": {"()": f"{__name__}.{formatter.__name__}"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "line",
                                "stream": "ext://sys.stderr"}},
        "loggers": {name: {"handlers": ["stderr"], "level": "INFO", "propagate": False}
                    for name in LOGGERS},
    }


def configure(fmt: LogFormat = "text") -> None:
    """Send this process's lines to stderr in ``fmt`` (a worker process calls it)."""
    logging.config.dictConfig(logging_config(fmt))
