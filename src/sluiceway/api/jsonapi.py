"""JSON:API conventions of the dataset family (seed 004): ``page[number]``, ``page[size]``,
``sort`` (``-`` for descending), ``count``, ``fields``, ``filter[name]`` with ``__in``,
``__gte``, ``__lte``; documents ``{data, meta, links}``; errors ``{errors: [...]}``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from sluiceway.api.inputs import bool_param, int_param
from sluiceway.core.errors import FieldError
from sluiceway.services.listing import MAX_PAGE_SIZE, BadQuery, Filter, Query

_FILTER = re.compile(r"^filter\[([A-Za-z0-9_]+?)(?:__(in|gte|lte))?\]$")
_KNOWN = {"page[number]", "page[size]", "sort", "count", "fields", "included"}




def parse_query(request: Request, *, allowed_extra: Iterable[str] = ()) -> Query:
    """The listing query of a request; any parameter this family does not know is refused."""
    page_number, page_size, count = 1, 1000, False
    sort: list[tuple[str, bool]] = []
    filters: list[Filter] = []
    fields: frozenset[str] | None = None
    errors: list[FieldError] = []
    extra = set(allowed_extra)
    for name, value in request.query_params.multi_items():
        try:
            if name == "page[number]":
                page_number = int_param(name, value, 1, 10**9)
            elif name == "page[size]":
                page_size = int_param(name, value, 1, MAX_PAGE_SIZE)
            elif name == "count":
                count = bool_param(name, value)
            elif name == "sort":
                for part in filter(None, (p.strip() for p in value.split(","))):
                    sort.append((part.lstrip("-"), part.startswith("-")))
            elif name == "fields" or (name.startswith("fields[") and name.endswith("]")):
                fields = frozenset(f.strip() for f in value.split(",") if f.strip())
            elif name == "included":
                if value.strip():
                    errors.append(FieldError(name, f"{value!r} cannot be included here; "
                                             "this resource has no includable relations"))
            elif (m := _FILTER.match(name)) is not None:
                op = m.group(2) or "eq"
                filters.append(Filter(m.group(1), op, value.split(",") if op == "in"
                                      else value, name))
            elif name not in extra:
                errors.append(FieldError(name, "unknown query parameter"))
        except BadQuery as exc:
            errors.extend(exc.errors)
    if errors:
        raise BadQuery("invalid query", errors)
    return Query(page_number, page_size, tuple(sort), count, tuple(filters), fields)


def resource(kind: str, id_: Any, attributes: dict[str, Any],
             fields: frozenset[str] | None, links: dict[str, str] | None = None,
             relationships: dict[str, Any] | None = None) -> dict[str, Any]:
    """A resource object; ``fields`` keeps only the named attributes (sparse fieldsets)."""
    attrs = attributes if fields is None else {k: v for k, v in attributes.items()
                                               if k in fields}
    out: dict[str, Any] = {"type": kind, "id": str(id_), "attributes": attrs}
    if relationships:
        out["relationships"] = relationships
    if links:
        out["links"] = links
    return out


def check_fields(fields: frozenset[str] | None, known: Iterable[str]) -> None:
    if fields is None:
        return
    unknown = sorted(fields - set(known))
    if unknown:
        raise BadQuery("invalid query", [FieldError(
            "fields", f"unknown fields {unknown}; fields are: {', '.join(sorted(known))}")])


def collection(request: Request, items: list[dict[str, Any]], query: Query,
               total: int | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"page": {"number": query.page_number, "size": query.page_size}}
    if total is not None:
        meta["count"] = total
    url = request.url

    def page(n: int) -> str:
        return str(url.include_query_params(**{"page[number]": n}))

    links = {"self": str(url)}
    if query.page_number > 1:
        links["prev"] = page(query.page_number - 1)
    if len(items) == query.page_size:
        links["next"] = page(query.page_number + 1)
    return {"data": items, "meta": meta, "links": links}


def error_response(status: int, title: str, errors: list[FieldError] | None = None,
                   detail: str | None = None, code: str | None = None) -> JSONResponse:
    """``{"errors": [{status, code, title, detail, source}]}``: one entry per bad field."""
    entries: list[dict[str, Any]] = []
    for e in errors or []:
        source = ({"parameter": e.path} if status == 400
                  else {"pointer": "/" + e.path.replace(".", "/") if e.path else ""})
        entries.append({"status": str(status), "code": code or "invalid", "title": title,
                        "detail": f"{e.path}: {e.reason}" if e.path else e.reason,
                        "source": source})
    if not entries:
        entries.append({"status": str(status), "code": code or "error", "title": title,
                        "detail": detail or title})
    return JSONResponse(status_code=status, content={"errors": entries},
                        media_type="application/vnd.api+json")
