"""Account and container listings: query parameters and the plain, JSON and XML forms.

OpenStack Object Storage API v1, "Show account details and list containers" and "Show
container details and list objects": `format=` wins over Accept; an empty plain listing
is 204; limits above 10000 are refused with 412.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from cumulo.http.asgi import digits
from cumulo.model import Container, ListEntry
from cumulo.swift.common import LISTING_LIMIT, Call, Response, check_utf8, iso_time, true_value
from cumulo.swift.errors import SwiftError

JSON = "application/json; charset=utf-8"
XML = "application/xml; charset=utf-8"
PLAIN = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class ListingParams:
    prefix: str
    delimiter: str
    marker: str
    end_marker: str
    limit: int
    reverse: bool


def listing_params(call: Call) -> ListingParams:
    values = {}
    for name in ("prefix", "delimiter", "marker", "end_marker"):
        values[name] = call.query(name)
        check_utf8(values[name])
    limit = LISTING_LIMIT
    given = call.query("limit")
    # Swift ignores a limit that is not a number (constrain_req_limit).
    if digits(given):
        limit = int(given)
        if limit > LISTING_LIMIT:
            raise SwiftError(412, f"Maximum limit is {LISTING_LIMIT}")
    return ListingParams(
        prefix=values["prefix"],
        delimiter=values["delimiter"],
        marker=values["marker"],
        end_marker=values["end_marker"],
        limit=limit,
        reverse=true_value(call.query("reverse")),
    )


def listing_format(call: Call) -> str:
    """'json', 'xml' or 'plain', from `format=` or else the Accept header."""
    given = call.query("format").lower()
    if given in ("json", "xml", "plain"):
        return given
    if given == "text":
        return "plain"
    accept = call.header("accept").lower()
    best, best_q = "plain", -1.0
    for item in accept.split(","):
        kind, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        found = {
            "application/json": "json",
            "application/xml": "xml",
            "text/xml": "xml",
            "text/plain": "plain",
        }.get(kind.strip())
        if found and quality > best_q:
            best, best_q = found, quality
    return best


def render_objects(call: Call, entries: list[ListEntry], headers: dict[str, str]) -> Response:
    kind = listing_format(call)
    if kind == "json":
        document = [
            {"subdir": e.name}
            if e.is_prefix
            else {
                "name": e.name,
                "hash": e.etag,
                "bytes": e.size,
                "content_type": e.content_type,
                "last_modified": iso_time(e.last_modified),
            }
            for e in entries
        ]
        return _document(json.dumps(document).encode(), JSON, headers)
    if kind == "xml":
        rows = []
        for e in entries:
            if e.is_prefix:
                rows.append(
                    f"<subdir name={quoteattr(e.name)}><name>{escape(e.name)}</name></subdir>"
                )
                continue
            rows.append(
                f"<object><name>{escape(e.name)}</name><hash>{e.etag}</hash>"
                f"<bytes>{e.size}</bytes><content_type>{escape(e.content_type)}</content_type>"
                f"<last_modified>{iso_time(e.last_modified)}</last_modified></object>"
            )
        return _xml("container", call.container, rows, headers)
    return _plain([e.name for e in entries], headers)


def render_containers(
    call: Call, entries: list[Container | ListEntry], headers: dict[str, str]
) -> Response:
    kind = listing_format(call)
    if kind == "json":
        document = [
            {"subdir": e.name}
            if isinstance(e, ListEntry)
            else {
                "name": e.name,
                "count": e.object_count,
                "bytes": e.bytes_used,
                "last_modified": iso_time(e.created_at),
            }
            for e in entries
        ]
        return _document(json.dumps(document).encode(), JSON, headers)
    if kind == "xml":
        rows = []
        for e in entries:
            if isinstance(e, ListEntry):
                rows.append(
                    f"<subdir name={quoteattr(e.name)}><name>{escape(e.name)}</name></subdir>"
                )
                continue
            rows.append(
                f"<container><name>{escape(e.name)}</name><count>{e.object_count}</count>"
                f"<bytes>{e.bytes_used}</bytes>"
                f"<last_modified>{iso_time(e.created_at)}</last_modified></container>"
            )
        return _xml("account", call.account, rows, headers)
    return _plain([e.name for e in entries], headers)


def _subdir(name: str) -> str:
    return f"<subdir name={quoteattr(name)}><name>{escape(name)}</name></subdir>"


def _document(body: bytes, content_type: str, headers: dict[str, str]) -> Response:
    return Response(200, {**headers, "Content-Type": content_type}, body)


def _xml(root: str, name: str, rows: list[str], headers: dict[str, str]) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<{root} name={quoteattr(name)}>" + "".join(rows) + f"</{root}>"
    )
    return _document(body.encode("utf-8", "surrogateescape"), XML, headers)


def _plain(names: list[str], headers: dict[str, str]) -> Response:
    if not names:
        return Response(204, {**headers, "Content-Type": PLAIN})
    body = "".join(f"{name}\n" for name in names).encode("utf-8", "surrogateescape")
    return _document(body, PLAIN, headers)
