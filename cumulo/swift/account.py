"""Account operations (OpenStack Object Storage API v1, "Accounts").

An account is a project's whole store: `/v1/AUTH_<project_id>`. Its metadata is kept
under full lowercase header names (`x-account-meta-color`), like container metadata.
"""

from __future__ import annotations

from cumulo.model import Account
from cumulo.swift.common import (
    Call,
    Response,
    empty,
    metadata_changes,
    timestamp,
    title,
    wire,
)
from cumulo.swift.listing import listing_params, render_containers

PREFIX = "x-account"


def account_headers(account: Account) -> dict[str, str]:
    headers = {
        "X-Account-Container-Count": str(account.container_count),
        "X-Account-Object-Count": str(account.object_count),
        "X-Account-Bytes-Used": str(account.bytes_used),
        "X-Timestamp": timestamp(account.created_at),
        "X-Put-Timestamp": timestamp(account.created_at),
        "X-Account-Storage-Policy-Policy-0-Container-Count": str(account.container_count),
        "X-Account-Storage-Policy-Policy-0-Object-Count": str(account.object_count),
        "X-Account-Storage-Policy-Policy-0-Bytes-Used": str(account.bytes_used),
        "Accept-Ranges": "bytes",
    }
    for name, value in sorted(account.metadata.items()):
        if name.startswith(f"{PREFIX}-meta-"):
            headers[title(name)] = wire(value)
    return headers


async def head_account(call: Call) -> Response:
    account = await call.objects.account(call.project_id)
    return Response(204, {**account_headers(account), "Content-Type": "text/plain; charset=utf-8"})


async def list_containers(call: Call) -> Response:
    params = listing_params(call)
    account = await call.objects.account(call.project_id)
    found = await call.objects.list_containers(
        call.project_id,
        prefix=params.prefix,
        marker=params.marker,
        end_marker=params.end_marker,
        limit=params.limit,
        reverse=params.reverse,
        delimiter=params.delimiter,
    )
    return render_containers(call, found, account_headers(account))


async def post_account(call: Call) -> Response:
    changes = metadata_changes(call.request.headers, PREFIX)
    if changes:
        await call.objects.set_account_metadata(
            call.project_id, {f"{PREFIX}-meta-{k}": v for k, v in changes.items()}
        )
    return empty(204)
