"""The portal's own pages: sign-in, API Credentials (API keys and service API keys),
regenerate, profile, invitations. Forms post back here and redirect (post/redirect/get)
with a flash message, except where a secret is shown once."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

from cumulo import errors
from cumulo.identity.portal import SESSION_TTL
from cumulo.portal.api import credentials_doc, service_doc
from cumulo.portal.web import (
    ANON_CSRF_COOKIE,
    SESSION_COOKIE,
    Ctx,
    FieldError,
    FormPage,
    Response,
    Route,
    cookies,
    local_target,
    redirect,
)

MASK = "••••••••••••••••"
LANDING = "/credentials"


def _anon_csrf(ctx: Ctx) -> str:
    token = cookies(ctx.request).get(ANON_CSRF_COOKIE) or secrets.token_urlsafe(24)
    ctx.out_cookies.append((ANON_CSRF_COOKIE, token, None))
    return token


def _signed_in(ctx: Ctx, token: str, target: str) -> Response:
    response = redirect(target)
    response.cookie(SESSION_COOKIE, token, secure=ctx.portal.secure, max_age=int(SESSION_TTL))
    return response


# --- sign-in ----------------------------------------------------------------------


def home(ctx: Ctx) -> Response:
    return redirect(LANDING if ctx.actor else "/signin")


def signin_form(ctx: Ctx) -> Response:
    if ctx.actor is not None:
        return redirect(LANDING)
    return ctx.portal.render(
        ctx, "signin.html", csrf=_anon_csrf(ctx), next=ctx.request.query.get("next", ""), error=""
    )


def signin(ctx: Ctx) -> Response:
    form = ctx.form
    # Checked first: a forged target is refused before any session is made.
    target = local_target(form.get("next", ""), LANDING)
    try:
        token, _ = ctx.portal.accounts.sign_in(
            form.get("login", "").strip(), form.get("password", ""), ctx.request.client_ip
        )
    except errors.Unauthenticated as exc:
        key = "signin.throttled" if isinstance(exc, errors.TooManyAttempts) else "signin.failed"
        status = 429 if isinstance(exc, errors.TooManyAttempts) else 401
        return ctx.portal.render(
            ctx,
            "signin.html",
            status,
            csrf=_anon_csrf(ctx),
            next=form.get("next", ""),
            error=ctx.t(key),
            login=form.get("login", ""),
        )
    return _signed_in(ctx, token, target)


def signout(ctx: Ctx) -> Response:
    ctx.portal.accounts.sign_out(ctx.me)
    response = redirect("/signin")
    response.cookie(SESSION_COOKIE, "", secure=ctx.portal.secure, max_age=0)
    return response


# --- API Credentials ----------------------------------------------------------------


def service_panel(ctx: Ctx, service_id: str) -> dict[str, Any]:
    """What the page shows of one service: everything, with the secret masked."""
    accounts = ctx.portal.accounts
    service = accounts.service(ctx.me, service_id)
    document = credentials_doc(accounts.credentials(ctx.me, service_id))
    secret = document["openstack"]["password"]
    document["openstack"]["password"] = MASK
    document["s3"]["secret_access_key"] = MASK
    blocks = {k: v.replace(secret, MASK) for k, v in document.pop("snippets").items()}
    return {
        "service": service_doc(service),
        "doc": document,
        "blocks": blocks,
        "mask": MASK,
        "ec2": accounts.ec2_credentials(ctx.me, service_id),
    }


def credentials_page(ctx: Ctx, **extra: Any) -> Response:
    accounts = ctx.portal.accounts
    services = [service_doc(s) for s in accounts.services(ctx.me)]
    selected = ctx.request.query.get("service", "")
    panel = service_panel(ctx, selected) if selected else None
    return ctx.portal.render(
        ctx,
        "credentials.html",
        services=services,
        panel=panel,
        keys=accounts.api_keys(ctx.me),
        suggested=accounts.suggested_key_name(ctx.me),
        new_key=extra.get("new_key"),
    )


def credentials(ctx: Ctx) -> Response:
    return credentials_page(ctx)


def service_fragment(ctx: Ctx) -> Response:
    """The service panel alone, for the combobox to insert without a reload."""
    panel = service_panel(ctx, ctx.params["service_id"])
    return ctx.portal.render(ctx, "_service.html", panel=panel)


def create_key(ctx: Ctx) -> Response:
    key, secret = ctx.portal.accounts.create_api_key(ctx.me, ctx.form.get("name", ""))
    # The secret is shown this once: rendered, not redirected.
    return credentials_page(ctx, new_key={"name": key.name, "secret": secret})


def rename_key(ctx: Ctx) -> Response:
    key = ctx.portal.accounts.rename_api_key(ctx.me, ctx.params["key_id"], ctx.form.get("name", ""))
    ctx.set_flash("ok", ctx.t("keys.renamed", name=key.name))
    return redirect("/credentials#api-keys")


def revoke_key(ctx: Ctx) -> Response:
    key = ctx.portal.accounts.revoke_api_key(ctx.me, ctx.params["key_id"])
    ctx.set_flash("ok", ctx.t("keys.revoked", name=key.name))
    return redirect("/credentials#api-keys")


def _service_url(service_id: str) -> str:
    query = f"?service={quote(service_id)}" if service_id else ""
    return f"/credentials{query}#service-keys"


def delete_ec2(ctx: Ctx) -> Response:
    service_id, access = ctx.params["service_id"], ctx.params["access"]
    ctx.portal.accounts.delete_ec2(ctx.me, service_id, access)
    ctx.set_flash("ok", ctx.t("ec2.deleted", access=access))
    return redirect(_service_url(service_id))


def regenerate_form(ctx: Ctx) -> Response:
    return ctx.portal.render(
        ctx,
        "regenerate.html",
        service=ctx.request.query.get("service", ""),
        environments=[service_doc(s) for s in ctx.portal.accounts.services(ctx.me)],
    )


def regenerate(ctx: Ctx) -> Response:
    ctx.portal.accounts.regenerate(ctx.me)
    ctx.set_flash("ok", ctx.t("regenerate.done"))
    return redirect(_service_url(ctx.form.get("service", "")))


# --- profile and invitations ----------------------------------------------------------


def profile(ctx: Ctx) -> Response:
    account = ctx.portal.accounts.store.portal_user(user_id=ctx.me.user.id)
    return ctx.portal.render(ctx, "profile.html", account=account)


def change_password(ctx: Ctx) -> Response:
    form = ctx.form
    if form.get("new_password", "") != form.get("confirm_password", ""):
        raise FieldError("confirm_password", ctx.t("password.mismatch"))
    ctx.portal.accounts.change_password(
        ctx.me, form.get("current_password", ""), form.get("new_password", "")
    )
    ctx.set_flash("ok", ctx.t("password.changed"))
    return redirect("/profile")


def set_language(ctx: Ctx) -> Response:
    language = ctx.form.get("language") or None
    back = local_target(ctx.form.get("back", ""), "/profile")
    ctx.portal.accounts.set_language(ctx.me, language)
    ctx.lang = language or ctx.lang
    ctx.set_flash("ok", ctx.t("language.changed"))
    return redirect(back)


def invitation_form(ctx: Ctx) -> Response:
    user = ctx.portal.accounts.invited_user(ctx.params["token"])
    return ctx.portal.render(ctx, "invite.html", csrf=_anon_csrf(ctx), invited=user, error="")


def accept_invitation(ctx: Ctx) -> Response:
    form = ctx.form
    token = ctx.params["token"]
    if form.get("password", "") != form.get("confirm_password", ""):
        user = ctx.portal.accounts.invited_user(token)
        return ctx.portal.render(
            ctx,
            "invite.html",
            400,
            csrf=_anon_csrf(ctx),
            invited=user,
            error=ctx.t("password.mismatch"),
        )
    session, _ = ctx.portal.accounts.accept_invitation(
        token, form.get("password", ""), ctx.request.client_ip
    )
    return _signed_in(ctx, session, LANDING)


_KEYS = FormPage(
    credentials, "/credentials", "key-name", ((errors.InvalidInput, "keys.bad_name", None),)
)
_KEY = FormPage(
    credentials, "/credentials", "key-{key_id}", ((errors.InvalidInput, "keys.bad_name", None),)
)
_PASSWORD = FormPage(
    profile,
    "/profile",
    "current_password",
    (
        (errors.AccessDenied, "password.wrong_current", None),
        (errors.InvalidInput, "password.too_short", "new_password"),
    ),
)

ROUTES: list[Route] = [
    Route("GET", "/", home, signed_in=False),
    Route("GET", "/signin", signin_form, signed_in=False),
    Route("POST", "/signin", signin, signed_in=False),
    Route("POST", "/signout", signout),
    Route("GET", "/credentials", credentials),
    Route("GET", "/credentials/services/{service_id}", service_fragment),
    Route("POST", "/credentials/keys", create_key, form=_KEYS),
    Route("POST", "/credentials/keys/{key_id}/rename", rename_key, form=_KEY),
    Route("POST", "/credentials/keys/{key_id}/revoke", revoke_key, form=_KEY),
    Route("POST", "/credentials/services/{service_id}/ec2/{access}/delete", delete_ec2),
    Route("GET", "/credentials/regenerate", regenerate_form),
    Route(
        "POST",
        "/credentials/regenerate",
        regenerate,
        form=FormPage(regenerate_form, "/credentials/regenerate", "regenerate"),
    ),
    Route("GET", "/profile", profile),
    Route("POST", "/profile/password", change_password, form=_PASSWORD),
    Route(
        "POST", "/profile/language", set_language, form=FormPage(profile, "/profile", "language")
    ),
    Route("GET", "/invite/{token}", invitation_form, signed_in=False),
    Route(
        "POST",
        "/invite/{token}",
        accept_invitation,
        signed_in=False,
        form=FormPage(
            invitation_form,
            "/invite/{token}",
            "password",
            ((errors.InvalidInput, "password.too_short", None),),
        ),
    ),
]
