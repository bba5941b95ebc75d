"""The portal's REST API: everything the pages do, as JSON, one handler per operation.

Each route carries its schemas; `openapi.py` builds `/api/openapi.json` from this table.
"""

from __future__ import annotations

from typing import Any

from cumulo import errors
from cumulo.identity import snippets
from cumulo.identity.portal import Actor
from cumulo.metadata.portal import PortalUser, Service
from cumulo.model import ActivityEvent, ApiKey, Environment, Membership, Organization, Role
from cumulo.portal.schemas import BODIES, array, ref
from cumulo.portal.web import Ctx, Response, Route, attachment, json_response

# --- documents -----------------------------------------------------------------


def key_doc(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "last_used_ip": key.last_used_ip,
    }


def service_doc(service: Service) -> dict[str, Any]:
    env, org = service.environment, service.organization
    return {
        "id": env.id,
        "type": "object-storage",
        "label": f"Object Storage — {org.name} / {env.name}",
        "organization": org.name,
        "environment": env.name,
        "project_name": env.project_name,
        "project_id": env.project_id,
        "username": service.membership.username,
        "role": service.membership.role.value,
    }


def credentials_doc(document: dict[str, Any]) -> dict[str, Any]:
    return {
        **document,
        "snippets": {
            "openrc": snippets.openrc(document),
            "openrc_v2": snippets.openrc(document, v2=True),
            "aws_credentials": snippets.aws_credentials(document),
            "aws_config": snippets.aws_config(document),
            "clouds_yaml": snippets.clouds_yaml(document),
            "rclone_conf": snippets.rclone_conf(document),
            "s3cfg": snippets.s3cfg(document),
        },
    }


def org_doc(org: Organization) -> dict[str, Any]:
    return {"id": org.id, "name": org.name, "created_at": org.created_at}


def env_doc(org: str, env: Environment) -> dict[str, Any]:
    return {
        "id": env.id,
        "organization": org,
        "name": env.name,
        "project_name": env.project_name,
        "project_id": env.project_id,
        "created_at": env.created_at,
    }


def member_doc(membership: Membership, login: str) -> dict[str, Any]:
    return {
        "login": login,
        "role": membership.role.value,
        "username": membership.username,
        "access_key_id": membership.access_key,
        "created_at": membership.created_at,
    }


def user_doc(account: PortalUser) -> dict[str, Any]:
    user = account.user
    return {
        "login": user.login,
        "email": user.email,
        "is_admin": user.is_admin,
        "disabled": user.disabled,
        "language": account.language,
        "created_at": user.created_at,
    }


def event_doc(event: ActivityEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at,
        "actor": event.actor,
        "action": event.action,
        "target": event.target,
        "ip": event.ip,
    }


def reveal_reason(actor: Actor, what: str) -> str:
    return f"{what} via {'portal' if actor.session_id else 'API key'}"


# --- the signed-in user ----------------------------------------------------------


def get_me(ctx: Ctx) -> Response:
    accounts, me = ctx.portal.accounts, ctx.me
    account = accounts.store.portal_user(user_id=me.user.id)
    return json_response(
        {
            **user_doc(account),
            "administers": [org_doc(o) for o in ctx.portal.admin.organizations(me)],
        }
    )


def update_me(ctx: Ctx) -> Response:
    if "language" in ctx.body:
        ctx.portal.accounts.set_language(ctx.me, ctx.body["language"])
    return get_me(ctx)


def change_password(ctx: Ctx) -> Response:
    ctx.portal.accounts.change_password(
        ctx.me, ctx.body["current_password"], ctx.body["new_password"]
    )
    return Response(204)


# --- API keys ----------------------------------------------------------------------


def list_keys(ctx: Ctx) -> Response:
    return json_response([key_doc(k) for k in ctx.portal.accounts.api_keys(ctx.me)])


def create_key(ctx: Ctx) -> Response:
    key, secret = ctx.portal.accounts.create_api_key(ctx.me, ctx.body.get("name", ""))
    return json_response({**key_doc(key), "secret": secret}, 201)


def rename_key(ctx: Ctx) -> Response:
    key = ctx.portal.accounts.rename_api_key(ctx.me, ctx.params["key_id"], ctx.body["name"])
    return json_response(key_doc(key))


def revoke_key(ctx: Ctx) -> Response:
    ctx.portal.accounts.revoke_api_key(ctx.me, ctx.params["key_id"])
    return Response(204)


# --- services and their credentials ---------------------------------------------------


def list_services(ctx: Ctx) -> Response:
    return json_response([service_doc(s) for s in ctx.portal.accounts.services(ctx.me)])


def get_credentials(ctx: Ctx) -> Response:
    reason = reveal_reason(ctx.me, "credentials")
    document = ctx.portal.accounts.credentials(ctx.me, ctx.params["service_id"], reveal=reason)
    return json_response(credentials_doc(document))


def download_file(ctx: Ctx) -> Response:
    kind = ctx.params["kind"]
    if kind not in snippets.FILES:
        raise errors.NotFound(f"no file {kind!r}; one of {', '.join(snippets.FILES)}")
    reason = reveal_reason(ctx.me, f"download {kind}")
    document = ctx.portal.accounts.credentials(ctx.me, ctx.params["service_id"], reveal=reason)
    return attachment(*snippets.render_file(document, kind))


def list_ec2_credentials(ctx: Ctx) -> Response:
    found = ctx.portal.accounts.ec2_credentials(ctx.me, ctx.params["service_id"])
    return json_response(
        [
            {"access": c.access, "project_id": c.project_id, "created_at": c.created_at}
            for c in found
        ]
    )


def delete_ec2_credential(ctx: Ctx) -> Response:
    ctx.portal.accounts.delete_ec2(ctx.me, ctx.params["service_id"], ctx.params["access"])
    return Response(204)


def regenerate(ctx: Ctx) -> Response:
    ctx.portal.accounts.regenerate(ctx.me)
    return Response(204)


# --- administration -------------------------------------------------------------------


def list_organizations(ctx: Ctx) -> Response:
    return json_response([org_doc(o) for o in ctx.portal.admin.organizations(ctx.me)])


def create_organization(ctx: Ctx) -> Response:
    return json_response(
        org_doc(ctx.portal.admin.create_organization(ctx.me, ctx.body["name"])), 201
    )


def list_environments(ctx: Ctx) -> Response:
    org = ctx.params["org"]
    return json_response([env_doc(org, e) for e in ctx.portal.admin.environments(ctx.me, org)])


def create_environment(ctx: Ctx) -> Response:
    org = ctx.params["org"]
    env = ctx.portal.admin.create_environment(ctx.me, org, ctx.body["name"])
    return json_response(env_doc(org, env), 201)


def update_environment(ctx: Ctx) -> Response:
    org, env = ctx.params["org"], ctx.params["env"]
    renamed = ctx.portal.admin.rename_environment(ctx.me, org, env, ctx.body["name"])
    return json_response(env_doc(org, renamed))


def delete_environment(ctx: Ctx) -> Response:
    ctx.portal.admin.delete_environment(ctx.me, ctx.params["org"], ctx.params["env"])
    return Response(204)


def list_members(ctx: Ctx) -> Response:
    found = ctx.portal.admin.members(ctx.me, ctx.params["org"], ctx.params["env"])
    return json_response([member_doc(m, login) for m, login in found])


def add_member(ctx: Ctx) -> Response:
    role = Role(ctx.body.get("role", Role.MEMBER.value))
    login = ctx.body["login"]
    added = ctx.portal.admin.add_member(ctx.me, ctx.params["org"], ctx.params["env"], login, role)
    return json_response(member_doc(added, login), 201)


def set_member_role(ctx: Ctx) -> Response:
    org, env, login = ctx.params["org"], ctx.params["env"], ctx.params["login"]
    ctx.portal.admin.set_role(ctx.me, org, env, login, Role(ctx.body["role"]))
    for membership, name in ctx.portal.admin.members(ctx.me, org, env):
        if name == login:
            return json_response(member_doc(membership, login))
    raise errors.MembershipNotFound(f"{login!r} is not a member")


def remove_member(ctx: Ctx) -> Response:
    org, env, login = ctx.params["org"], ctx.params["env"], ctx.params["login"]
    ctx.portal.admin.remove_member(ctx.me, org, env, login)
    return Response(204)


def list_users(ctx: Ctx) -> Response:
    if not ctx.portal.admin.is_admin_anywhere(ctx.me):
        raise errors.AccessDenied("only administrators may list users")
    return json_response([user_doc(u) for u in ctx.portal.admin.users(ctx.me)])


def create_user(ctx: Ctx) -> Response:
    body = ctx.body
    made = ctx.portal.admin.create_user(
        ctx.me,
        body["login"],
        email=body.get("email") or None,
        password=body.get("password") or None,
        invite=bool(body.get("invite")),
        is_admin=bool(body.get("is_admin")),
    )
    account = ctx.portal.accounts.store.portal_user(user_id=made.user.id)
    url = invitation_url(ctx, made.invitation) if made.invitation else None
    return json_response({"user": user_doc(account), "invitation_url": url}, 201)


def update_user(ctx: Ctx) -> Response:
    login = ctx.params["login"]
    if "disabled" in ctx.body:
        ctx.portal.admin.set_disabled(ctx.me, login, ctx.body["disabled"])
    users = {u.user.login: u for u in ctx.portal.admin.users(ctx.me)}
    if login not in users:
        raise errors.UserNotFound(f"no user {login!r}")
    return json_response(user_doc(users[login]))


def list_activity(ctx: Ctx) -> Response:
    limit = int(ctx.request.query.get("limit", "100"))
    return json_response([event_doc(e) for e in ctx.portal.accounts.activity(ctx.me, limit)])


def invitation_url(ctx: Ctx, token: str) -> str:
    return f"{ctx.portal.settings.public_portal_url}/invite/{token}"


def _route(method: str, path: str, handler: Any, summary: str, tag: str, **kw: Any) -> Route:
    body = BODIES.get(handler.__name__)
    return Route(method, "/api" + path, handler, summary=summary, tag=tag, body=body, **kw)


_FILE = {"type": "string"}
ROUTES: list[Route] = [
    _route("GET", "/me", get_me, "Who you are", "me", response=ref("Me")),
    _route("PATCH", "/me", update_me, "Set your language", "me", response=ref("Me")),
    _route("POST", "/me/password", change_password, "Change your password", "me", status=204),
    _route("GET", "/keys", list_keys, "Your API keys", "keys", response=array("ApiKey")),
    _route(
        "POST",
        "/keys",
        create_key,
        "Create an API key (its secret is shown once)",
        "keys",
        response=ref("NewApiKey"),
        status=201,
    ),
    _route(
        "PATCH", "/keys/{key_id}", rename_key, "Rename an API key", "keys", response=ref("ApiKey")
    ),
    _route("DELETE", "/keys/{key_id}", revoke_key, "Revoke an API key", "keys", status=204),
    _route(
        "GET",
        "/services",
        list_services,
        "The services you can reach",
        "services",
        response=array("Service"),
    ),
    _route(
        "GET",
        "/services/{service_id}/credentials",
        get_credentials,
        "A service's credentials and snippets (logged as revealed)",
        "services",
        response=ref("Credentials"),
    ),
    _route(
        "GET",
        "/services/{service_id}/files/{kind}",
        download_file,
        "A configuration file: openrc, openrc-v2, clouds.yaml, aws-config, aws-credentials, "
        "rclone.conf, s3cfg (logged as revealed)",
        "services",
        response=_FILE,
        media_type="text/plain",
    ),
    _route(
        "GET",
        "/services/{service_id}/ec2-credentials",
        list_ec2_credentials,
        "Your EC2 credentials in a service (made over Keystone; secrets are not shown again)",
        "services",
        response=array("Ec2Credential"),
    ),
    _route(
        "DELETE",
        "/services/{service_id}/ec2-credentials/{access}",
        delete_ec2_credential,
        "Delete one of your EC2 credentials in a service",
        "services",
        status=204,
    ),
    _route(
        "POST",
        "/credentials/regenerate",
        regenerate,
        "New object-storage password for Swift and S3 in all your environments",
        "services",
        status=204,
    ),
    _route(
        "GET",
        "/organizations",
        list_organizations,
        "Organizations you administer",
        "admin",
        response=array("Organization"),
    ),
    _route(
        "POST",
        "/organizations",
        create_organization,
        "Create an organization",
        "admin",
        response=ref("Organization"),
        status=201,
    ),
    _route(
        "GET",
        "/organizations/{org}/environments",
        list_environments,
        "Environments",
        "admin",
        response=array("Environment"),
    ),
    _route(
        "POST",
        "/organizations/{org}/environments",
        create_environment,
        "Create an environment",
        "admin",
        response=ref("Environment"),
        status=201,
    ),
    _route(
        "PATCH",
        "/organizations/{org}/environments/{env}",
        update_environment,
        "Rename an environment",
        "admin",
        response=ref("Environment"),
    ),
    _route(
        "DELETE",
        "/organizations/{org}/environments/{env}",
        delete_environment,
        "Delete an empty environment",
        "admin",
        status=204,
    ),
    _route(
        "GET",
        "/organizations/{org}/environments/{env}/members",
        list_members,
        "Members",
        "admin",
        response=array("Member"),
    ),
    _route(
        "POST",
        "/organizations/{org}/environments/{env}/members",
        add_member,
        "Add a member (a new service username and access key)",
        "admin",
        response=ref("Member"),
        status=201,
    ),
    _route(
        "PATCH",
        "/organizations/{org}/environments/{env}/members/{login}",
        set_member_role,
        "Change a member's role",
        "admin",
        response=ref("Member"),
    ),
    _route(
        "DELETE",
        "/organizations/{org}/environments/{env}/members/{login}",
        remove_member,
        "Remove a member (its username and keys are gone)",
        "admin",
        status=204,
    ),
    _route("GET", "/users", list_users, "Users", "admin", response=array("User")),
    _route(
        "POST",
        "/users",
        create_user,
        "Create or invite a user",
        "admin",
        response=ref("NewUser"),
        status=201,
    ),
    _route(
        "PATCH",
        "/users/{login}",
        update_user,
        "Disable or enable a user",
        "admin",
        response=ref("User"),
    ),
    _route(
        "GET",
        "/activity",
        list_activity,
        "The activity log (your scope)",
        "activity",
        response=array("Event"),
        query={"limit": {"type": "integer", "minimum": 1, "maximum": 1000}},
    ),
]
