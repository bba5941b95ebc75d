"""Service credentials as documents and ready-to-paste client configuration.

Pure formatting shared by the CLI (`cumulo creds show`) and the portal (its blocks and
downloads), so both always print the same text. The export blocks follow the seed
help page: for Keystone v3 `OS_PASSWORD`, `OS_USERNAME`, `OS_PROJECT_NAME`, a bare
`OS_AUTH_URL` and `OS_IDENTITY_API_VERSION=3`; for v2.0 the `/v2.0` URL and no version.
"""

from __future__ import annotations

import json
import shlex
from typing import Any, Protocol
from urllib.parse import urlsplit

from cumulo.config import Settings


class Credentials(Protocol):
    @property
    def organization(self) -> str: ...
    @property
    def environment(self) -> str: ...
    @property
    def username(self) -> str: ...
    @property
    def password(self) -> str: ...
    @property
    def project_name(self) -> str: ...
    @property
    def project_id(self) -> str: ...
    @property
    def access_key_id(self) -> str: ...
    @property
    def secret_access_key(self) -> str: ...


def creds_document(settings: Settings, creds: Credentials) -> dict[str, Any]:
    """The stable JSON shape of `creds show --format json` and the portal API."""
    auth_url = settings.public_identity_url
    return {
        "organization": creds.organization,
        "environment": creds.environment,
        "openstack": {
            "auth_url": auth_url,
            "auth_url_v2": auth_url + "/v2.0",
            "identity_api_version": "3",
            "username": creds.username,
            "password": creds.password,
            "project_name": creds.project_name,
            "project_id": creds.project_id,
            "user_domain_name": "Default",
            "project_domain_name": "Default",
            "region_name": settings.region,
        },
        "s3": {
            "access_key_id": creds.access_key_id,
            "secret_access_key": creds.secret_access_key,
            "endpoint_url": settings.public_object_url,
            "region": settings.region,
        },
    }


def openrc(document: dict[str, Any], *, v2: bool = False) -> str:
    """The seed's export blocks, in the seed's order."""
    os_ = document["openstack"]
    q = shlex.quote
    if v2:
        lines = [
            f"export OS_USERNAME={q(os_['username'])}",
            f"export OS_PROJECT_NAME={q(os_['project_name'])}",
            f"export OS_PASSWORD={q(os_['password'])}",
            f"export OS_AUTH_URL={q(os_['auth_url_v2'])}",
        ]
    else:
        lines = [
            f"export OS_PASSWORD={q(os_['password'])}",
            f"export OS_USERNAME={q(os_['username'])}",
            f"export OS_PROJECT_NAME={q(os_['project_name'])}",
            f"export OS_AUTH_URL={q(os_['auth_url'])}",
            f"export OS_IDENTITY_API_VERSION={os_['identity_api_version']}",
        ]
    return "\n".join(lines) + "\n"


def aws_profile(document: dict[str, Any], profile: str = "default") -> str:
    """One profile for ~/.aws/credentials that works alone with today's AWS CLI and boto3:
    endpoint and region at profile level (botocore merges the credentials file into the
    profile; it ignores the seed's nested `s3 =` block and refuses dotted regions)."""
    s3 = document["s3"]
    return (
        f"[{profile}]\n"
        f"aws_access_key_id = {s3['access_key_id']}\n"
        f"aws_secret_access_key = {s3['secret_access_key']}\n"
        f"region = {s3['region']}\n"
        f"endpoint_url = {s3['endpoint_url']}\n"
    )


def aws_credentials(document: dict[str, Any], profile: str = "default") -> str:
    """~/.aws/credentials: the keys only (the config file carries the rest)."""
    s3 = document["s3"]
    return (
        f"[{profile}]\n"
        f"aws_access_key_id = {s3['access_key_id']}\n"
        f"aws_secret_access_key = {s3['secret_access_key']}\n"
    )


def aws_config(document: dict[str, Any], profile: str = "default") -> str:
    """~/.aws/config: region and the profile-level `endpoint_url` the current CLI reads."""
    s3 = document["s3"]
    section = "default" if profile == "default" else f"profile {profile}"
    return f"[{section}]\nregion = {s3['region']}\nendpoint_url = {s3['endpoint_url']}\n"


def clouds_yaml(document: dict[str, Any]) -> str:
    """clouds.yaml for the OpenStack CLI (`--os-cloud NAME`); JSON strings are valid YAML."""
    os_ = document["openstack"]
    q = json.dumps
    return (
        "clouds:\n"
        f"  {q(os_['project_name'])}:\n"
        "    auth:\n"
        f"      auth_url: {q(os_['auth_url'])}\n"
        f"      username: {q(os_['username'])}\n"
        f"      password: {q(os_['password'])}\n"
        f"      project_name: {q(os_['project_name'])}\n"
        f"      project_id: {q(os_['project_id'])}\n"
        f"      user_domain_name: {q(os_['user_domain_name'])}\n"
        f"      project_domain_name: {q(os_['project_domain_name'])}\n"
        f"    region_name: {q(os_['region_name'])}\n"
        f"    identity_api_version: {os_['identity_api_version']}\n"
    )


def rclone_conf(document: dict[str, Any]) -> str:
    """Two rclone remotes over the same data: `<project>-swift` and `<project>-s3`."""
    os_, s3 = document["openstack"], document["s3"]
    name = os_["project_name"]
    return (
        f"[{name}-swift]\n"
        "type = swift\n"
        f"auth = {os_['auth_url']}/v3\n"
        "auth_version = 3\n"
        f"user = {os_['username']}\n"
        f"key = {os_['password']}\n"
        f"tenant = {os_['project_name']}\n"
        f"domain = {os_['user_domain_name']}\n"
        f"tenant_domain = {os_['project_domain_name']}\n"
        f"region = {os_['region_name']}\n"
        "\n"
        f"[{name}-s3]\n"
        "type = s3\n"
        "provider = Other\n"
        f"access_key_id = {s3['access_key_id']}\n"
        f"secret_access_key = {s3['secret_access_key']}\n"
        f"endpoint = {s3['endpoint_url']}\n"
        f"region = {s3['region']}\n"
        "force_path_style = true\n"
    )


def s3cfg(document: dict[str, Any]) -> str:
    """~/.s3cfg for s3cmd, path-style (host_bucket without a %(bucket)s part)."""
    s3 = document["s3"]
    url = urlsplit(s3["endpoint_url"])
    return (
        "[default]\n"
        f"access_key = {s3['access_key_id']}\n"
        f"secret_key = {s3['secret_access_key']}\n"
        f"host_base = {url.netloc}\n"
        f"host_bucket = {url.netloc}\n"
        f"use_https = {'True' if url.scheme == 'https' else 'False'}\n"
        f"bucket_location = {s3['region']}\n"
        "signature_v2 = False\n"
    )


def table(document: dict[str, Any]) -> str:
    rows = [("Organization", document["organization"]), ("Environment", document["environment"])]
    rows += [(OPENSTACK_LABELS[k], v) for k, v in document["openstack"].items()]
    rows += [
        ("S3 access key ID", document["s3"]["access_key_id"]),
        ("S3 secret access key", document["s3"]["secret_access_key"]),
        ("S3 endpoint URL", document["s3"]["endpoint_url"]),
        ("S3 region", document["s3"]["region"]),
    ]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label.ljust(width)}  {value}" for label, value in rows) + "\n"


OPENSTACK_LABELS = {
    "auth_url": "Auth URL",
    "auth_url_v2": "Auth URL (v2.0, deprecated)",
    "identity_api_version": "Identity API version",
    "username": "Username",
    "password": "Password",
    "project_name": "Project name",
    "project_id": "Project ID",
    "user_domain_name": "User domain",
    "project_domain_name": "Project domain",
    "region_name": "Region",
}

# Every download: name → (file name, media type, renderer).
FILES: dict[str, tuple[str, str, Any]] = {
    "openrc": ("{project}-openrc.sh", "text/x-shellscript", openrc),
    "openrc-v2": ("{project}-openrc-v2.sh", "text/x-shellscript", lambda d: openrc(d, v2=True)),
    "clouds.yaml": ("clouds.yaml", "application/yaml", clouds_yaml),
    "aws-config": ("config", "text/plain", aws_config),
    "aws-credentials": ("credentials", "text/plain", aws_credentials),
    "rclone.conf": ("rclone.conf", "text/plain", rclone_conf),
    "s3cfg": (".s3cfg", "text/plain", s3cfg),
}


def render_file(document: dict[str, Any], kind: str) -> tuple[str, str, str]:
    """(file name, media type, text) of one download; KeyError for an unknown kind."""
    filename, media_type, render = FILES[kind]
    text: str = render(document)
    return filename.format(project=document["openstack"]["project_name"]), media_type, text
