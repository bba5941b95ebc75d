"""Keystone's JSON documents: version discovery, token bodies and service catalogs.

Shapes follow the Identity API v3 reference (and v2.0, deprecated) as keystoneauth1,
python-swiftclient, python-openstackclient and rclone read them.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from cumulo.config import Settings
from cumulo.identity.tokens import TokenPayload
from cumulo.model import Principal

V3_ID = "v3.14"
UPDATED = "2020-04-07T00:00:00Z"
DEFAULT_DOMAIN = {"id": "default", "name": "Default"}
MEDIA_V3 = [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]
MEDIA_V2 = [{"base": "application/json", "type": "application/vnd.openstack.identity-v2.0+json"}]


def iso(timestamp: float) -> str:
    micro = round((timestamp % 1) * 1_000_000) % 1_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(timestamp)) + f".{micro:06d}Z"


def iso_v2(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def _stable_id(*parts: str) -> str:
    return hashlib.md5("/".join(parts).encode(), usedforsecurity=False).hexdigest()


def version_v3(base: str) -> dict[str, Any]:
    return {
        "id": V3_ID,
        "status": "stable",
        "updated": UPDATED,
        "links": [{"rel": "self", "href": f"{base}/v3/"}],
        "media-types": MEDIA_V3,
    }


def version_v2(base: str) -> dict[str, Any]:
    return {
        "id": "v2.0",
        "status": "deprecated",
        "updated": "2014-04-17T00:00:00Z",
        "links": [
            {"rel": "self", "href": f"{base}/v2.0/"},
            {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
        ],
        "media-types": MEDIA_V2,
    }


def versions(base: str) -> dict[str, Any]:
    return {"versions": {"values": [version_v3(base), version_v2(base)]}}


def object_url(settings: Settings, project_id: str) -> str:
    return f"{settings.public_object_url}/v1/AUTH_{project_id}"


def catalog_v3(settings: Settings, project_id: str | None) -> list[dict[str, Any]]:
    region = settings.region
    services = [("identity", "keystone", settings.public_identity_url)]
    if project_id is not None:
        services.append(("object-store", "swift", object_url(settings, project_id)))
    return [
        {
            "id": _stable_id("service", kind),
            "type": kind,
            "name": name,
            "endpoints": [
                {
                    "id": _stable_id("endpoint", kind, interface),
                    "interface": interface,
                    "region": region,
                    "region_id": region,
                    "url": url,
                }
                for interface in ("public", "internal", "admin")
            ],
        }
        for kind, name, url in services
    ]


def catalog_v2(settings: Settings, project_id: str) -> list[dict[str, Any]]:
    entries = [
        ("object-store", "swift", object_url(settings, project_id)),
        ("identity", "keystone", settings.public_identity_url + "/v2.0"),
    ]
    return [
        {
            "type": kind,
            "name": name,
            "endpoints_links": [],
            "endpoints": [
                {
                    "id": _stable_id("endpoint", kind),
                    "region": settings.region,
                    "publicURL": url,
                    "internalURL": url,
                    "adminURL": url,
                }
            ],
        }
        for kind, name, url in entries
    ]


def _roles(principal: Principal) -> list[dict[str, str]]:
    return [{"id": _stable_id("role", r), "name": r} for r in principal.role.keystone_roles]


def user_ref(principal: Principal) -> dict[str, Any]:
    return {
        "id": principal.membership_id,
        "name": principal.username,
        "domain": DEFAULT_DOMAIN,
        "password_expires_at": None,
    }


def project_ref(principal: Principal) -> dict[str, Any]:
    return {"id": principal.project_id, "name": principal.project_name, "domain": DEFAULT_DOMAIN}


def token_v3(
    settings: Settings, principal: Principal, payload: TokenPayload, *, catalog: bool = True
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "methods": list(payload.methods),
        "user": user_ref(principal),
        "audit_ids": [payload.audit_id],
        "expires_at": iso(payload.expires_at),
        "issued_at": iso(payload.issued_at),
    }
    if payload.project_id is not None:
        body["project"] = project_ref(principal)
        body["is_domain"] = False
        body["roles"] = _roles(principal)
        if catalog:
            body["catalog"] = catalog_v3(settings, principal.project_id)
    return {"token": body}


def token_v2(
    settings: Settings, principal: Principal, payload: TokenPayload, token: str
) -> dict[str, Any]:
    roles = [{"name": r["name"]} for r in _roles(principal)]
    return {
        "access": {
            "token": {
                "id": token,
                "issued_at": iso(payload.issued_at),
                "expires": iso_v2(payload.expires_at),
                "audit_ids": [payload.audit_id],
                "tenant": {
                    "id": principal.project_id,
                    "name": principal.project_name,
                    "enabled": True,
                    "description": None,
                },
            },
            "serviceCatalog": catalog_v2(settings, principal.project_id),
            "user": {
                "id": principal.membership_id,
                "name": principal.username,
                "username": principal.username,
                "roles": roles,
                "roles_links": [],
            },
            "metadata": {"is_admin": 0, "roles": [r["id"] for r in _roles(principal)]},
        }
    }
