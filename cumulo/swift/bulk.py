"""Bulk delete (Swift's bulk middleware, `?bulk-delete`; OpenStack Object Storage API
v1, "Bulk delete").

The body is a newline-separated list of URL-encoded `/container/object` or `/container`
paths, read line by line as it arrives so memory stays flat. The answer is always 200;
the outcome is in the report (Number Deleted, Number Not Found, Response Status,
Response Body, Errors), as Swift does because it streams its answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, unquote

from cumulo import errors
from cumulo.swift.common import (
    MAX_CONTAINER_NAME_LENGTH,
    MAX_OBJECT_NAME_LENGTH,
    Call,
    Response,
    check_name,
)
from cumulo.swift.errors import SwiftError, status_line, to_swift
from cumulo.swift.report import render_report, report_format

MAX_DELETES_PER_REQUEST = 10000
MAX_FAILED_DELETES = 1000
MAX_LINE = 3 * (MAX_CONTAINER_NAME_LENGTH + MAX_OBJECT_NAME_LENGTH) + 16


async def _lines(call: Call) -> AsyncIterator[str]:
    pending = b""
    async for chunk in call.request.stream():
        pending += chunk
        *complete, pending = pending.split(b"\n")
        if len(pending) > MAX_LINE:
            raise SwiftError(400, "Invalid File Name")
        for line in complete:
            yield line.decode("utf-8", "surrogateescape")
    if pending:
        yield pending.decode("utf-8", "surrogateescape")


async def bulk_delete(call: Call) -> Response:
    deleted, not_found, count = 0, 0, 0
    problems: list[list[str]] = []
    status, body = 200, ""
    try:
        async for line in _lines(call):
            path = line.strip()
            if not path:
                continue
            count += 1
            if count > MAX_DELETES_PER_REQUEST:
                status = 413
                body = f"Maximum Bulk Deletes: {MAX_DELETES_PER_REQUEST} per request"
                break
            name = unquote(path, errors="surrogateescape")
            outcome = await _delete_one(call, name)
            if outcome == 204:
                deleted += 1
            elif outcome == 404:
                not_found += 1
            else:
                problems.append(
                    [quote("/" + name.lstrip("/"), errors="surrogateescape"), status_line(outcome)]
                )
                if len(problems) >= MAX_FAILED_DELETES:
                    status, body = 400, "Max delete failures exceeded"
                    break
    except SwiftError as exc:
        status, body = exc.status, exc.body.decode()
    if problems and status == 200:
        status = 400
    summary: dict[str, Any] = {
        "Number Deleted": deleted,
        "Number Not Found": not_found,
        "Response Status": status_line(status),
        "Response Body": body,
    }
    kind = report_format(call)
    return Response(200, {"Content-Type": kind}, render_report(kind, summary, problems, "delete"))


async def _delete_one(call: Call, path: str) -> int:
    """Deletes `/container[/object]`; the status Swift would have answered alone."""
    container, _, obj = path.lstrip("/").partition("/")
    try:
        if not container:
            return 400
        check_name(container, "Container", MAX_CONTAINER_NAME_LENGTH)
        if obj:
            check_name(obj, "Object", MAX_OBJECT_NAME_LENGTH)
            await call.objects.delete_object(call.project_id, container, obj)
        else:
            await call.objects.delete_container(call.project_id, container)
    except SwiftError as exc:
        return exc.status
    except errors.CumuloError as exc:
        mapped = to_swift(exc)
        return mapped.status if mapped is not None else 500
    return 204
