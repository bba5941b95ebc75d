"""Which handler serves a request, and whether it writes: one table, auditable at a glance.

The path level (account, container or object), the method and, for a few operations,
a query parameter pick the handler. `writes` is what a read-only member is refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from cumulo.swift import account, bulk, container, objects
from cumulo.swift.common import Call, Response

Handler = Callable[[Call], Awaitable[Response]]


@dataclass(frozen=True)
class Route:
    handler: Handler
    writes: bool


ROUTES: dict[tuple[str, str], Route] = {
    ("account", "HEAD"): Route(account.head_account, writes=False),
    ("account", "GET"): Route(account.list_containers, writes=False),
    ("account", "POST"): Route(account.post_account, writes=True),
    ("container", "PUT"): Route(container.create_container, writes=True),
    ("container", "HEAD"): Route(container.head_container, writes=False),
    ("container", "GET"): Route(container.list_objects, writes=False),
    ("container", "POST"): Route(container.post_container, writes=True),
    ("container", "DELETE"): Route(container.delete_container, writes=True),
    ("object", "PUT"): Route(objects.put_object, writes=True),
    ("object", "HEAD"): Route(objects.head_object, writes=False),
    ("object", "GET"): Route(objects.get_object, writes=False),
    ("object", "POST"): Route(objects.post_object, writes=True),
    ("object", "DELETE"): Route(objects.delete_object, writes=True),
    ("object", "COPY"): Route(objects.copy_object, writes=True),
}

BULK_DELETE = Route(bulk.bulk_delete, writes=True)


def level(container_name: str, object_name: str) -> str:
    if object_name:
        return "object"
    return "container" if container_name else "account"


def route(level_name: str, method: str, query: dict[str, str]) -> Route | None:
    if level_name == "account" and method in ("POST", "DELETE") and "bulk-delete" in query:
        return BULK_DELETE
    return ROUTES.get((level_name, method))


def allowed_methods(level_name: str) -> list[str]:
    return sorted(method for (lvl, method) in ROUTES if lvl == level_name)
