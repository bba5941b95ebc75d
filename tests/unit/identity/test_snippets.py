from __future__ import annotations

import configparser

from cumulo.config import Settings
from cumulo.identity.service import ServiceCredentials
from cumulo.identity.snippets import (
    FILES,
    aws_config,
    aws_credentials,
    creds_document,
    openrc,
    render_file,
)

CREDS = ServiceCredentials(
    organization="system",
    environment="ccontini",
    username="system-ccontini-2925",
    password="hunter2",
    project_name="system-ccontini",
    project_id="p" * 32,
    access_key_id="a" * 32,
    secret_access_key="hunter2",
)
DOC = creds_document(Settings(identity_url="https://auth.example.com"), CREDS)


def test_openrc_is_the_seeds_block() -> None:
    assert openrc(DOC) == (
        "export OS_PASSWORD=hunter2\n"
        "export OS_USERNAME=system-ccontini-2925\n"
        "export OS_PROJECT_NAME=system-ccontini\n"
        "export OS_AUTH_URL=https://auth.example.com\n"
        "export OS_IDENTITY_API_VERSION=3\n"
    )
    v2 = openrc(DOC, v2=True)
    assert "OS_AUTH_URL=https://auth.example.com/v2.0" in v2
    assert "OS_IDENTITY_API_VERSION" not in v2


def test_aws_files_parse_and_split_keys_from_settings() -> None:
    creds = configparser.ConfigParser()
    creds.read_string(aws_credentials(DOC))
    assert dict(creds["default"]) == {
        "aws_access_key_id": "a" * 32,
        "aws_secret_access_key": "hunter2",
    }
    config = configparser.ConfigParser()
    config.read_string(aws_config(DOC))
    assert config["default"]["endpoint_url"] == DOC["s3"]["endpoint_url"]
    assert config["default"]["region"] == "RegionOne"


def test_every_download_renders() -> None:
    for kind in FILES:
        name, media, text = render_file(DOC, kind)
        assert name and media and ("hunter2" in text or kind == "aws-config")
