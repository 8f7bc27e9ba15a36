"""A side-by-side line diff of two texts, as rows a table shows (no markup here: the template
escapes every line)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One line pair: ``kind`` is ``same``, ``changed``, ``removed`` (left only) or ``added``
    (right only); a missing side has no number and no text."""

    kind: str
    left_no: int | None
    left: str
    right_no: int | None
    right: str


def side_by_side(old: str, new: str) -> list[Row]:
    a, b = old.splitlines(), new.splitlines()
    rows: list[Row] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            rows += [Row("same", i + 1, a[i], j + 1, b[j])
                     for i, j in zip(range(i1, i2), range(j1, j2), strict=True)]
            continue
        left, right = list(range(i1, i2)), list(range(j1, j2))
        for n in range(max(len(left), len(right))):
            i = left[n] if n < len(left) else None
            j = right[n] if n < len(right) else None
            kind = "changed" if i is not None and j is not None else (
                "removed" if i is not None else "added")
            rows.append(Row(kind, None if i is None else i + 1, "" if i is None else a[i],
                            None if j is None else j + 1, "" if j is None else b[j]))
    return rows
