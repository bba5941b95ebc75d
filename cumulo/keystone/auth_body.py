"""Parsing of Keystone authentication requests (v3 `auth.identity`/`auth.scope`, v2.0).

Every malformed shape is a 400 with a message that names the field. Domains may be
given by id (`default`), by name (`Default`, as rclone sends) or not at all: all mean
the one default domain; any other domain can hold no user here, so it fails as a
wrong password does (401), as Keystone answers for an unknown user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cumulo import errors


@dataclass(frozen=True)
class AuthRequest:
    username: str | None = None
    user_id: str | None = None
    password: str | None = None
    token: str | None = None
    project_name: str | None = None
    project_id: str | None = None
    unscoped: bool = False


def _dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise errors.InvalidInput(f"Invalid input for field '{where}': expected an object.")
    return value


def _str(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise errors.InvalidInput(f"Invalid input for field '{where}': expected a string.")
    return value


def _check_domain(holder: dict[str, Any], where: str) -> None:
    domain = holder.get("domain")
    if domain is None:
        return
    domain = _dict(domain, f"{where}/domain")
    domain_id = _str(domain.get("id"), f"{where}/domain/id")
    domain_name = _str(domain.get("name"), f"{where}/domain/name")
    if domain_id is None and domain_name is None:
        raise errors.InvalidInput(f"Invalid input for field '{where}/domain': id or name needed.")
    if (domain_id is not None and domain_id != "default") or (
        domain_name is not None and domain_name.lower() != "default"
    ):
        raise errors.Unauthenticated("The request you have made requires authentication.")


def parse_v3(body: Any) -> AuthRequest:
    auth = _dict(_dict(body, "body").get("auth"), "auth")
    identity = _dict(auth.get("identity"), "auth/identity")
    methods = identity.get("methods")
    if not isinstance(methods, list) or not methods or not all(isinstance(m, str) for m in methods):
        raise errors.InvalidInput("Invalid input for field 'identity/methods'.")
    scope = _scope(auth.get("scope"))
    if "password" in methods:
        user = _dict(_dict(identity.get("password"), "identity/password").get("user"), "user")
        _check_domain(user, "user")
        username = _str(user.get("name"), "user/name")
        user_id = _str(user.get("id"), "user/id")
        if username is None and user_id is None:
            raise errors.InvalidInput("Invalid input for field 'user': name or id is required.")
        password = _str(user.get("password"), "user/password")
        return AuthRequest(username=username, user_id=user_id, password=password or "", **scope)
    if "token" in methods:
        token = _str(_dict(identity.get("token"), "identity/token").get("id"), "token/id")
        if not token:
            raise errors.InvalidInput("Invalid input for field 'token/id'.")
        return AuthRequest(token=token, **scope)
    raise errors.Unauthenticated(f"Unsupported authentication method: {', '.join(methods)}")


def _scope(scope: Any) -> dict[str, Any]:
    if scope is None:
        return {}
    if scope == "unscoped":
        return {"unscoped": True}
    scope = _dict(scope, "scope")
    if "unscoped" in scope:
        return {"unscoped": True}
    if "project" in scope:
        project = _dict(scope["project"], "scope/project")
        _check_domain(project, "scope/project")
        name = _str(project.get("name"), "project/name")
        project_id = _str(project.get("id"), "project/id")
        if name is None and project_id is None:
            raise errors.InvalidInput("Invalid input for field 'scope/project': name or id.")
        return {"project_name": name, "project_id": project_id}
    # Domain and system scopes hold no object storage here.
    raise errors.Unauthenticated("The request you have made requires authentication.")


def parse_v2(body: Any) -> AuthRequest:
    auth = _dict(_dict(body, "body").get("auth"), "auth")
    project_name = _str(auth.get("tenantName"), "tenantName")
    project_id = _str(auth.get("tenantId"), "tenantId")
    if "passwordCredentials" in auth:
        creds = _dict(auth["passwordCredentials"], "passwordCredentials")
        username = _str(creds.get("username"), "username")
        if not username:
            raise errors.InvalidInput("Invalid input for field 'username'.")
        return AuthRequest(
            username=username,
            password=_str(creds.get("password"), "password") or "",
            project_name=project_name,
            project_id=project_id,
        )
    if "token" in auth:
        token = _str(_dict(auth["token"], "token").get("id"), "token/id")
        if not token:
            raise errors.InvalidInput("Invalid input for field 'token/id'.")
        return AuthRequest(token=token, project_name=project_name, project_id=project_id)
    raise errors.InvalidInput("Expecting to find passwordCredentials or token in auth.")
