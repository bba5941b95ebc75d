"""The OpenAPI 3.0 document of the portal's REST API, generated from its route table,
and the small JSON-schema check that holds requests to the same schemas.

Only the subset of JSON Schema the routes use is supported: object (properties,
required, additionalProperties), string (minLength, maxLength, enum), integer
(minimum, maximum), boolean, nullable.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from cumulo import errors
from cumulo.config import Settings
from cumulo.portal import schemas
from cumulo.portal.web import Route

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def check(schema: dict[str, Any], value: Any, where: str) -> Any:
    """Returns the value if it fits the schema; raises InvalidInput saying why not."""
    if "$ref" in schema:
        schema = schemas.COMPONENTS[schema["$ref"].rsplit("/", 1)[1]]
    if value is None:
        if schema.get("nullable"):
            return None
        raise errors.InvalidInput(f"{where} must not be null")
    kind = schema.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            raise errors.InvalidInput(f"{where} must be a JSON object")
        props: dict[str, Any] = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                raise errors.InvalidInput(f"{where}: '{name}' is required")
        for name, item in value.items():
            if name not in props:
                raise errors.InvalidInput(f"{where}: unknown field {name!r}")
            check(props[name], item, f"'{name}'")
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise errors.InvalidInput(f"{where} must be a string")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise errors.InvalidInput(f"{where} is not valid Unicode text") from None
        if not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", 10**6):
            raise errors.InvalidInput(f"{where} has the wrong length")
        if "enum" in schema and value not in schema["enum"]:
            choices = ", ".join(str(c) for c in schema["enum"] if c is not None)
            raise errors.InvalidInput(f"{where} must be one of {choices}")
        if "pattern" in schema and not _pattern(schema["pattern"]).search(value):
            raise errors.InvalidInput(f"{where} is not in the expected form")
        return value
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise errors.InvalidInput(f"{where} must be an integer")
        if not schema.get("minimum", -(2**63)) <= value <= schema.get("maximum", 2**63):
            raise errors.InvalidInput(f"{where} is out of range")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise errors.InvalidInput(f"{where} must be true or false")
        return value
    raise AssertionError(f"unsupported schema {schema!r}")


def parse_body(route: Route, raw: bytes) -> Any:
    if route.body is None:
        return None
    try:
        document = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise errors.InvalidInput("the body is not valid JSON") from None
    return check(route.body, document, "the body")


def check_query(route: Route, query: dict[str, str]) -> None:
    for name, value in query.items():
        schema = route.query.get(name)
        if schema is None:
            continue  # unknown parameters are ignored, as is usual
        if schema["type"] == "integer":
            if not re.fullmatch(r"-?\d{1,18}", value):
                raise errors.InvalidInput(f"query parameter {name!r} must be an integer")
            check(schema, int(value), f"query parameter {name!r}")
        else:
            check(schema, value, f"query parameter {name!r}")


def _error_statuses(route: Route) -> list[int]:
    statuses = {401}
    if route.body is not None or route.query or route.method in UNSAFE:
        statuses.add(400)
    if route.method in UNSAFE:
        statuses.add(403)  # a session without its CSRF token
    if "{" in route.path:
        statuses.add(404)
    statuses |= set(schemas.EXTRA_ERRORS.get(route.handler.__name__, ()))
    return sorted(statuses)


_REASONS = {
    400: "The input is not valid.",
    401: "No valid API key or session.",
    403: "Not allowed for this user (or a session request without its CSRF token).",
    404: "No such resource among those this user may see.",
    409: "It exists already, or is in use.",
    429: "Too many failed attempts; try again later.",
}


def _operation(route: Route) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": route.handler.__name__,
        "summary": route.summary,
        "tags": [route.tag],
    }
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"\{(\w+)\}", route.path)
    ]
    params += [
        {"name": name, "in": "query", "required": False, "schema": schema}
        for name, schema in route.query.items()
    ]
    if params:
        op["parameters"] = params
    if route.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": route.body}},
        }
    ok: dict[str, Any] = {"description": "Success."}
    if route.response is not None:
        ok["content"] = {route.media_type: {"schema": route.response}}
    responses: dict[str, Any] = {str(route.status): ok}
    for status in _error_statuses(route):
        responses[str(status)] = {
            "description": _REASONS[status],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    op["responses"] = responses
    return op


def document(routes: list[Route], settings: Settings) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Cumulo portal API",
            "version": "1",
            "description": (
                "Everything the Cumulo portal does: API keys, your services and their "
                "credentials, administration and the activity log. Authenticate with "
                "`Authorization: Bearer <API key>` (or `X-API-Key`)."
            ),
        },
        "servers": [{"url": settings.public_portal_url}],
        "security": [{"bearer": []}, {"apiKey": []}],
        "paths": paths,
        "components": {
            "schemas": schemas.COMPONENTS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }


@functools.cache
def _pattern(ecma: str) -> re.Pattern[str]:
    """An OpenAPI (ECMAScript) pattern for Python's re: there `$` also matches before a
    final newline, which ECMAScript's does not, so a trailing `$` becomes `\\Z`."""
    if ecma.endswith("$") and not ecma.endswith("\\$"):
        ecma = ecma[:-1] + r"\Z"
    return re.compile(ecma)
