"""The portal's request context, responses, cookies and the route record.

One `Route` describes a page or an API operation; the API's routes also carry the JSON
schemas the OpenAPI document is generated from (`openapi.py`), so the document cannot
say something the code does not do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote

from cumulo import errors
from cumulo.http.asgi import Request, json_body, unsafe_header_value
from cumulo.identity.portal import Actor

if TYPE_CHECKING:
    from cumulo.portal.app import Portal

SESSION_COOKIE = "cumulo_session"
ANON_CSRF_COOKIE = "cumulo_csrf"
FLASH_COOKIE = "cumulo_flash"


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    def cookie(self, name: str, value: str, *, secure: bool, max_age: int | None = None) -> None:
        parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        if secure:
            parts.append("Secure")
        self.headers.append(("Set-Cookie", "; ".join(parts)))


def html(text: str, status: int = 200) -> Response:
    return Response(status, text.encode(), [("Content-Type", "text/html; charset=utf-8")])


def json_response(document: Any, status: int = 200) -> Response:
    return Response(status, json_body(document), [("Content-Type", "application/json")])


# Printable ASCII stays as given in a Location; anything else is percent-encoded.
_LOCATION_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))


def local_target(target: str, default: str) -> str:
    r"""A redirect target a client gave (`next`, `back`), kept only when it is a path on
    this site, else `default`.

    Browsers drop tabs and newlines from a URL, strip its leading spaces and controls,
    and read "\" as "/": "/\t/evil.example" and "/\evil.example" both lead them to
    //evil.example. So a target with any of those is not taken as a path. One holding CR,
    LF, NUL or another control character is refused outright: it is a forged request, and
    could not be sent as a header anyway.
    """
    if unsafe_header_value(target):
        raise errors.InvalidInput("the redirect target holds a control character")
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or "\t" in target
        or target != target.strip()
    ):
        return default
    return quote(target, safe=_LOCATION_SAFE)


def redirect(location: str, status: int = 303) -> Response:
    return Response(status, b"", [("Location", location)])


def attachment(filename: str, media_type: str, text: str) -> Response:
    return Response(
        200,
        text.encode(),
        [
            ("Content-Type", f"{media_type}; charset=utf-8"),
            ("Content-Disposition", f'attachment; filename="{filename}"'),
        ],
    )


@dataclass
class Ctx:
    """Everything a handler sees: the request, path parameters, who acts, the language
    and the parsed body (form fields for pages, JSON for the API)."""

    portal: Portal
    request: Request
    params: dict[str, str]
    actor: Actor | None
    lang: str
    form: dict[str, str] = field(default_factory=dict)
    body: Any = None
    flash: tuple[str, str] | None = None
    out_cookies: list[tuple[str, str, int | None]] = field(default_factory=list)
    # A refused form shown again: {field: why}, and the address of the page shown.
    form_errors: dict[str, str] = field(default_factory=dict)
    page_path: str | None = None

    @property
    def me(self) -> Actor:
        assert self.actor is not None, "route requires sign-in"
        return self.actor

    def t(self, key: str, **values: Any) -> str:
        return self.portal.i18n.text(self.lang, key, **values)

    def set_flash(self, kind: str, text: str) -> None:
        self.out_cookies.append((FLASH_COOKIE, quote(json.dumps([kind, text])), 60))


Handler = Callable[[Ctx], Response]


class FieldError(errors.InvalidInput):
    """A form's own check failed; the message, in the page's language, goes by `field`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


# (domain error, catalog key saying why, the field it concerns or None for the default)
Reason = tuple[type[errors.CumuloError], str, str | None]


@dataclass(frozen=True)
class FormPage:
    """Where a refused form is shown again, with the reason beside its field: the page
    holding the form (its GET handler and address) and, by domain error, the catalog key
    that says why, formatted with the form's fields and the route's parameters. Field
    names and the address take the route's parameters too, for forms a page repeats
    per row ("rename-{env}")."""

    page: Handler
    path: str
    field: str
    reasons: tuple[Reason, ...] = ()

    def show(self, ctx: Ctx, exc: errors.CumuloError, status: int) -> Response:
        where, message = self.field, ""
        if isinstance(exc, FieldError):
            where, message = exc.field, exc.message
        else:
            for kind, key, field_name in self.reasons:
                if isinstance(exc, kind):
                    # format_map: form fields are the client's, any names at all.
                    message = ctx.t(key).format_map(_Blank({**ctx.form, **ctx.params}))
                    where = field_name or where
                    break
            else:
                reason = exc.message[:1].upper() + exc.message[1:]
                message = ctx.t("form.refused", reason=reason)
        ctx.form_errors = {where.format(**ctx.params): message}
        ctx.page_path = self.path.format(**{k: quote(v, safe="") for k, v in ctx.params.items()})
        response = self.page(ctx)
        response.status = status
        return response


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    signed_in: bool = True
    # The API's description (OpenAPI): operation id = handler name.
    summary: str = ""
    tag: str = ""
    body: dict[str, Any] | None = None
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    response: dict[str, Any] | None = None
    status: int = 200
    media_type: str = "application/json"
    # A page's form: where it is shown again when refused (None: an error page).
    form: FormPage | None = None
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.path)
        object.__setattr__(self, "pattern", re.compile(regex))

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)
        return None if found is None else {k: unquote(v) for k, v in found.groupdict().items()}


def cookies(request: Request) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(request.header("cookie"))
    except Exception:  # a malformed Cookie header is treated as none
        return {}
    return {k: v.value for k, v in jar.items()}


def parse_form(raw: bytes) -> dict[str, str]:
    text = raw.decode("utf-8", "replace")
    return dict(parse_qsl(text, keep_blank_values=True))


def read_flash(value: str) -> tuple[str, str] | None:
    try:
        kind, text = json.loads(unquote(value))
        return str(kind), str(text)
    except (ValueError, TypeError):
        return None
