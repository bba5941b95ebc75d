"""JSON schemas of the portal API's documents (OpenAPI components)."""

from __future__ import annotations

from typing import Any

from cumulo.identity.portal import EMAIL_PATTERN, KEY_NAME_PATTERN


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def array(name: str) -> dict[str, Any]:
    return {"type": "array", "items": ref(name)}


def obj(required: list[str] | None = None, **props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": list(props) if required is None else required,
        "additionalProperties": False,
    }


S: dict[str, Any] = {"type": "string"}
N: dict[str, Any] = {"type": "number"}
B: dict[str, Any] = {"type": "boolean"}
NS: dict[str, Any] = {"type": "string", "nullable": True}
NN: dict[str, Any] = {"type": "number", "nullable": True}
NAME: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 63,
    "pattern": "^[a-z0-9][a-z0-9_.-]*$",
}
ROLE: dict[str, Any] = {"type": "string", "enum": ["admin", "member", "read-only"]}
LANGUAGE: dict[str, Any] = {"type": "string", "enum": ["en", "es", None], "nullable": True}
KEY_NAME: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 100,
    "pattern": KEY_NAME_PATTERN,
}
PASSWORD: dict[str, Any] = {"type": "string", "minLength": 8, "maxLength": 1024}

COMPONENTS: dict[str, Any] = {
    "Error": obj(
        error=obj(status={"type": "integer"}, code=S, message=S),
    ),
    "Me": obj(
        login=S,
        email=NS,
        is_admin=B,
        disabled=B,
        language=LANGUAGE,
        created_at=N,
        administers=array("Organization"),
    ),
    "ApiKey": obj(id=S, name=S, created_at=N, last_used_at=NN, last_used_ip=NS),
    "Ec2Credential": obj(access=S, project_id=S, created_at=N),
    "NewApiKey": obj(id=S, name=S, created_at=N, last_used_at=NN, last_used_ip=NS, secret=S),
    "Service": obj(
        id=S,
        type={"type": "string", "enum": ["object-storage"]},
        label=S,
        organization=S,
        environment=S,
        project_name=S,
        project_id=S,
        username=S,
        role=ROLE,
    ),
    "Credentials": obj(
        organization=S,
        environment=S,
        openstack=obj(
            auth_url=S,
            auth_url_v2=S,
            identity_api_version=S,
            username=S,
            password=S,
            project_name=S,
            project_id=S,
            user_domain_name=S,
            project_domain_name=S,
            region_name=S,
        ),
        s3=obj(access_key_id=S, secret_access_key=S, endpoint_url=S, region=S),
        snippets=obj(
            openrc=S,
            openrc_v2=S,
            aws_credentials=S,
            aws_config=S,
            clouds_yaml=S,
            rclone_conf=S,
            s3cfg=S,
        ),
    ),
    "Organization": obj(id=S, name=S, created_at=N),
    "Environment": obj(id=S, organization=S, name=S, project_name=S, project_id=S, created_at=N),
    "Member": obj(login=S, role=ROLE, username=S, access_key_id=S, created_at=N),
    "User": obj(login=S, email=NS, is_admin=B, disabled=B, language=LANGUAGE, created_at=N),
    "NewUser": obj(user=ref("User"), invitation_url=NS),
    "Event": obj(id=S, at=N, actor=S, action=S, target=S, ip=S),
}

# Statuses some operations answer beyond those every operation of their kind does.
EXTRA_ERRORS: dict[str, tuple[int, ...]] = {
    "create_organization": (403, 409),
    "list_environments": (403,),
    "create_environment": (409,),
    "update_environment": (409,),
    "delete_environment": (409,),
    "list_members": (403,),
    "add_member": (409,),
    "list_users": (403,),
    "create_user": (409,),
    "change_password": (429,),
}

BODIES: dict[str, dict[str, Any]] = {
    "update_me": obj(required=[], language=LANGUAGE),
    "change_password": obj(
        current_password={"type": "string", "maxLength": 1024}, new_password=PASSWORD
    ),
    "create_key": obj(required=[], name=KEY_NAME),
    "rename_key": obj(name=KEY_NAME),
    "create_organization": obj(name=NAME),
    "create_environment": obj(name=NAME),
    "update_environment": obj(name=NAME),
    "add_member": obj(required=["login"], login=NAME, role=ROLE),
    "set_member_role": obj(role=ROLE),
    "create_user": obj(
        required=["login"],
        login=NAME,
        email={"type": "string", "maxLength": 254, "pattern": EMAIL_PATTERN, "nullable": True},
        password={**PASSWORD, "nullable": True},
        invite=B,
        is_admin=B,
    ),
    "update_user": obj(disabled=B),
}
