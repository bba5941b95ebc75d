"""Administration pages (organizations, environments, members, users) and the
activity log. Who may do what is decided by the services (`identity/admin.py`)."""

from __future__ import annotations

from urllib.parse import quote

from cumulo import errors
from cumulo.model import Role
from cumulo.portal.api import invitation_url, member_doc, user_doc
from cumulo.portal.web import Ctx, FormPage, Reason, Response, Route, redirect

ROLES = [r.value for r in Role]


def _require_admin(ctx: Ctx) -> None:
    if not ctx.portal.admin.is_admin_anywhere(ctx.me):
        raise errors.AccessDenied(ctx.t("admin.denied"))


def _org_url(org: str) -> str:
    return f"/admin/orgs/{quote(org)}"


def _env_url(org: str, env: str) -> str:
    return f"{_org_url(org)}/envs/{quote(env)}"


# --- organizations and environments ---------------------------------------------------


def admin_home(ctx: Ctx) -> Response:
    _require_admin(ctx)
    admin = ctx.portal.admin
    orgs = admin.organizations(ctx.me)
    counts = {o.name: len(ctx.portal.admin.environments(ctx.me, o.name)) for o in orgs}
    return ctx.portal.render(ctx, "admin.html", orgs=orgs, counts=counts)


def create_organization(ctx: Ctx) -> Response:
    org = ctx.portal.admin.create_organization(ctx.me, ctx.form.get("name", "").strip())
    ctx.set_flash("ok", ctx.t("org.created", name=org.name))
    return redirect(_org_url(org.name))


def organization(ctx: Ctx) -> Response:
    org = ctx.params["org"]
    envs = ctx.portal.admin.environments(ctx.me, org)
    counts = {e.name: len(ctx.portal.accounts.store.members(e.id)) for e in envs}
    return ctx.portal.render(ctx, "admin_org.html", org=org, envs=envs, counts=counts)


def create_environment(ctx: Ctx) -> Response:
    org = ctx.params["org"]
    env = ctx.portal.admin.create_environment(ctx.me, org, ctx.form.get("name", "").strip())
    ctx.set_flash("ok", ctx.t("env.created", name=env.name, project=env.project_name))
    return redirect(_env_url(org, env.name))


def rename_environment(ctx: Ctx) -> Response:
    org, env = ctx.params["org"], ctx.params["env"]
    new = ctx.portal.admin.rename_environment(ctx.me, org, env, ctx.form.get("name", "").strip())
    ctx.set_flash("ok", ctx.t("env.renamed", name=new.name, project=new.project_name))
    return redirect(_org_url(org))


def delete_environment(ctx: Ctx) -> Response:
    org, env = ctx.params["org"], ctx.params["env"]
    ctx.portal.admin.delete_environment(ctx.me, org, env)
    ctx.set_flash("ok", ctx.t("env.deleted", name=env))
    return redirect(_org_url(org))


# --- members ------------------------------------------------------------------------------


def environment(ctx: Ctx) -> Response:
    org, env_name = ctx.params["org"], ctx.params["env"]
    admin = ctx.portal.admin
    env = admin.environment(ctx.me, org, env_name)
    members = [member_doc(m, login) for m, login in admin.members(ctx.me, org, env_name)]
    present = {m["login"] for m in members}
    candidates = [u.user.login for u in admin.users(ctx.me) if u.user.login not in present]
    return ctx.portal.render(
        ctx,
        "admin_env.html",
        org=org,
        env=env,
        members=members,
        roles=ROLES,
        candidates=candidates,
    )


def add_member(ctx: Ctx) -> Response:
    org, env = ctx.params["org"], ctx.params["env"]
    login = ctx.form.get("login", "").strip()
    role = ctx.form.get("role", Role.MEMBER.value)
    if role not in ROLES:
        raise errors.InvalidInput(f"role must be one of {', '.join(ROLES)}")
    added = ctx.portal.admin.add_member(ctx.me, org, env, login, Role(role))
    ctx.set_flash("ok", ctx.t("member.added", login=login, role=role, username=added.username))
    return redirect(_env_url(org, env))


def set_member_role(ctx: Ctx) -> Response:
    org, env, login = ctx.params["org"], ctx.params["env"], ctx.params["login"]
    role = ctx.form.get("role", "")
    if role not in ROLES:
        raise errors.InvalidInput(f"role must be one of {', '.join(ROLES)}")
    ctx.portal.admin.set_role(ctx.me, org, env, login, Role(role))
    ctx.set_flash("ok", ctx.t("member.role_changed", login=login, role=role))
    return redirect(_env_url(org, env))


def remove_member(ctx: Ctx) -> Response:
    org, env, login = ctx.params["org"], ctx.params["env"], ctx.params["login"]
    gone = ctx.portal.admin.remove_member(ctx.me, org, env, login)
    ctx.set_flash("ok", ctx.t("member.removed", login=login, username=gone.username))
    return redirect(_env_url(org, env))


# --- users -----------------------------------------------------------------------------


def users_page(ctx: Ctx, invitation: dict[str, str] | None = None) -> Response:
    _require_admin(ctx)
    users = [user_doc(u) for u in ctx.portal.admin.users(ctx.me)]
    return ctx.portal.render(ctx, "admin_users.html", users=users, invitation=invitation)


def users(ctx: Ctx) -> Response:
    return users_page(ctx)


def create_user(ctx: Ctx) -> Response:
    form = ctx.form
    made = ctx.portal.admin.create_user(
        ctx.me,
        form.get("login", "").strip(),
        email=form.get("email", "").strip() or None,
        password=form.get("password") or None,
        invite=form.get("invite") == "on",
        is_admin=form.get("is_admin") == "on",
    )
    if made.invitation:
        # The one-time link is shown to the admin this once, to hand over.
        link = invitation_url(ctx, made.invitation)
        return users_page(ctx, {"login": made.user.login, "url": link})
    ctx.set_flash("ok", ctx.t("user.created", login=made.user.login))
    return redirect("/admin/users")


def disable_user(ctx: Ctx) -> Response:
    user = ctx.portal.admin.set_disabled(ctx.me, ctx.params["login"], True)
    ctx.set_flash("ok", ctx.t("user.disabled", login=user.login))
    return redirect("/admin/users")


def enable_user(ctx: Ctx) -> Response:
    user = ctx.portal.admin.set_disabled(ctx.me, ctx.params["login"], False)
    ctx.set_flash("ok", ctx.t("user.enabled", login=user.login))
    return redirect("/admin/users")


# --- activity --------------------------------------------------------------------------


def activity(ctx: Ctx) -> Response:
    events = ctx.portal.accounts.activity(ctx.me, 300)
    return ctx.portal.render(ctx, "activity.html", events=events)


_ENV = "/admin/orgs/{org}/envs/{env}"
_NAMED: tuple[Reason, ...] = ((errors.InvalidName, "form.bad_name", None),)
_NEW_ENV = ((errors.Conflict, "env.exists", None), *_NAMED)


def _on_org(field: str, *reasons: Reason) -> FormPage:
    return FormPage(organization, "/admin/orgs/{org}", field, reasons)


def _on_env(field: str, *reasons: Reason) -> FormPage:
    return FormPage(environment, _ENV, field, reasons)


def _on_users(field: str, *reasons: Reason) -> FormPage:
    return FormPage(users, "/admin/users", field, reasons)


ROUTES: list[Route] = [
    Route("GET", "/admin", admin_home),
    Route(
        "POST",
        "/admin/orgs",
        create_organization,
        form=FormPage(
            admin_home, "/admin", "name", ((errors.Conflict, "org.exists", None), *_NAMED)
        ),
    ),
    Route("GET", "/admin/orgs/{org}", organization),
    Route("POST", "/admin/orgs/{org}/envs", create_environment, form=_on_org("name", *_NEW_ENV)),
    Route("GET", _ENV, environment),
    Route("POST", _ENV + "/rename", rename_environment, form=_on_org("rename-{env}", *_NEW_ENV)),
    Route(
        "POST",
        _ENV + "/delete",
        delete_environment,
        form=_on_org("delete-{env}", (errors.Conflict, "env.not_empty", None)),
    ),
    Route(
        "POST",
        _ENV + "/members",
        add_member,
        form=_on_env(
            "login",
            (errors.UserNotFound, "member.unknown_user", None),
            (errors.Conflict, "member.exists", None),
        ),
    ),
    Route("POST", _ENV + "/members/{login}/role", set_member_role, form=_on_env("role-{login}")),
    Route("POST", _ENV + "/members/{login}/remove", remove_member, form=_on_env("remove-{login}")),
    Route("GET", "/admin/users", users),
    Route(
        "POST",
        "/admin/users",
        create_user,
        form=_on_users("login", (errors.Conflict, "user.exists", None), *_NAMED),
    ),
    Route("POST", "/admin/users/{login}/disable", disable_user, form=_on_users("status-{login}")),
    Route("POST", "/admin/users/{login}/enable", enable_user, form=_on_users("status-{login}")),
    Route("GET", "/activity", activity),
]
