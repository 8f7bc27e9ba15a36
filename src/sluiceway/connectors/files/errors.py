"""Turn OS and Arrow errors about files into Sluiceway's error tree, at one boundary.

Arrow's parse errors do not always say where the bad row is (a conversion error names the
column only, a parse error counts CSV records rather than lines). When one happens the file
is scanned again, streaming, with Python's ``csv`` / ``json`` modules up to the bad record to
name its physical line; this runs only on the error path.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import errno
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from sluiceway.core.errors import ConnectorError, Fatal, RecordRejected, Retryable, SluicewayError

_RETRYABLE_ERRNOS = {errno.EIO, errno.EAGAIN, errno.ETIMEDOUT, errno.ESTALE, errno.EINTR}
_ROW = re.compile(r"Row #(\d+)")
_CSV_COLUMN = re.compile(r"In CSV column #(\d+)")
_JSON_ROW = re.compile(r" in row (\d+)")


@contextlib.contextmanager
def translate(what: str) -> Iterator[None]:
    """Wrap file-system calls about ``what`` (a file or folder name)."""
    try:
        yield
    except SluicewayError:
        raise
    except FileNotFoundError as exc:
        raise Fatal(f"{what}: no such file or directory (was it removed during the sync?)"
                    ) from exc
    except PermissionError as exc:
        raise ConnectorError(f"{what}: permission denied") from exc
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise RecordRejected(str(exc), location=what) from exc
    except pa.ArrowNotImplementedError as exc:
        raise Fatal(f"{what}: {exc}") from exc
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno in _RETRYABLE_ERRNOS:
            raise Retryable(f"{what}: {reason}") from exc
        raise ConnectorError(f"{what}: {reason}") from exc


def _text(path: Path, encoding: str) -> Iterator[str]:
    """Decoded lines of a (possibly compressed) file, split at "\n" only, ends kept."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    pending = ""
    with pa.input_stream(str(path), compression="detect") as stream:
        while chunk := stream.read(1 << 20):
            *lines, pending = (pending + decoder.decode(chunk)).split("\n")
            yield from (line + "\n" for line in lines)
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


def csv_error(exc: pa.ArrowInvalid, path: Path, name: str, *, encoding: str, delimiter: str,
              quote_char: str) -> RecordRejected:
    """A RecordRejected naming the file and physical line of the row Arrow refused."""
    message = str(exc).replace("CSV parse error: ", "").strip()
    record = _ROW.search(message)
    target = int(record.group(1)) if record else None
    line = _find_csv_line(path, encoding, delimiter, quote_char, target)
    where = f"{name}, line {line}" if line else name
    message = _ROW.sub("", message).replace(":  ", ": ").strip()
    if _CSV_COLUMN.search(message):
        message += (" (column types are inferred from the first rows of the files; set "
                    "`schema` in the config to read the column as another type)")
    return RecordRejected(message, location=where)


def _find_csv_line(path: Path, encoding: str, delimiter: str, quote_char: str,
                   record: int | None) -> int | None:
    """The line where CSV record number ``record`` (1 = the first, header included) starts;
    without a number, the first record whose field count differs from the first one's."""
    reader = csv.reader(_text(path, encoding), delimiter=delimiter, quotechar=quote_char,
                        strict=False)
    start, number, width = 1, 0, None
    try:
        for row in reader:
            if not row:
                start = reader.line_num + 1
                continue
            number += 1
            width = len(row) if width is None else width
            if number == record or (record is None and len(row) != width):
                return start
            start = reader.line_num + 1
    except (csv.Error, UnicodeError, OSError):
        return start
    return None


def jsonl_error(exc: pa.ArrowInvalid, path: Path, name: str, *, encoding: str,
                rows_before: int) -> RecordRejected:
    """A RecordRejected naming the file and line of the JSON record Arrow refused."""
    message = str(exc).replace("JSON parse error: ", "").strip()
    found = _JSON_ROW.search(message)
    line = None
    with contextlib.suppress(UnicodeError, OSError):
        records = 0
        for number, text in enumerate(_text(path, encoding), start=1):
            if not text.strip():
                continue
            try:
                json.loads(text)
            except ValueError:
                line = number
                break
            if found is not None and records == rows_before + int(found.group(1)):
                line = number
                break
            records += 1
    where = f"{name}, line {line}" if line else name
    return RecordRejected(_JSON_ROW.sub("", message), location=where)
