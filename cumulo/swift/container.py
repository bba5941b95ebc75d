"""Container operations (OpenStack Object Storage API v1, "Containers").

Metadata is kept under full lowercase header names (`x-container-meta-color`), leaving
room for other container settings beside it; responses title-case them as Swift does.
"""

from __future__ import annotations

from cumulo.model import Container
from cumulo.swift.common import (
    MAX_CONTAINER_NAME_LENGTH,
    Call,
    Response,
    check_name,
    empty,
    last_modified,
    metadata_changes,
    timestamp,
    title,
    wire,
)
from cumulo.swift.errors import SwiftError
from cumulo.swift.listing import listing_params, render_objects

PREFIX = "x-container"


def container_headers(container: Container) -> dict[str, str]:
    headers = {
        "X-Container-Object-Count": str(container.object_count),
        "X-Container-Bytes-Used": str(container.bytes_used),
        "X-Timestamp": timestamp(container.created_at),
        "X-Put-Timestamp": timestamp(container.created_at),
        "Last-Modified": last_modified(container.created_at),
        "X-Storage-Policy": "Policy-0",
        "Accept-Ranges": "bytes",
    }
    for name, value in sorted(container.metadata.items()):
        if name.startswith(f"{PREFIX}-meta-"):
            headers[title(name)] = wire(value)
    return headers


# Container features Swift has and this store does not (yet): refused rather than
# silently dropped, so nobody believes a container shared or versioned when it is not.
UNSUPPORTED = {
    "x-container-read": "Container ACLs",
    "x-container-write": "Container ACLs",
    "x-versions-location": "Object versioning",
    "x-history-location": "Object versioning",
    "x-container-sync-to": "Container sync",
}


def _changes(call: Call) -> dict[str, str | None]:
    for name, feature in UNSUPPORTED.items():
        if call.header(name).strip():
            raise SwiftError(400, f"{title(name)} is not supported ({feature})")
    changes = metadata_changes(call.request.headers, PREFIX)
    return {f"{PREFIX}-meta-{k}": v for k, v in changes.items()}


async def create_container(call: Call) -> Response:
    check_name(call.container, "Container", MAX_CONTAINER_NAME_LENGTH)
    changes = _changes(call)
    created = await call.objects.create_container(
        call.project_id, call.container, {k: v for k, v in changes.items() if v is not None}
    )
    if not created and any(v is None for v in changes.values()):
        await call.objects.set_container_metadata(
            call.project_id,
            call.container,
            {k: v for k, v in changes.items() if v is None},
        )
    return empty(201 if created else 202)


async def head_container(call: Call) -> Response:
    container = await call.objects.container(call.project_id, call.container)
    return Response(
        204, {**container_headers(container), "Content-Type": "text/plain; charset=utf-8"}
    )


async def list_objects(call: Call) -> Response:
    params = listing_params(call)
    container = await call.objects.container(call.project_id, call.container)
    found = await call.objects.list_objects(
        call.project_id,
        call.container,
        prefix=params.prefix,
        marker=params.marker,
        end_marker=params.end_marker,
        limit=params.limit,
        reverse=params.reverse,
        delimiter=params.delimiter,
    )
    return render_objects(call, found, container_headers(container))


async def post_container(call: Call) -> Response:
    changes = _changes(call)
    if changes:
        await call.objects.set_container_metadata(call.project_id, call.container, changes)
    else:
        await call.objects.container(call.project_id, call.container)  # 404 when missing
    return empty(204)


async def delete_container(call: Call) -> Response:
    await call.objects.delete_container(call.project_id, call.container)
    return empty(204)
