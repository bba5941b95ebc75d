"""Isolation: a token reaches only its own account, with only its role's rights; every
refusal is Swift's own status and body, and nothing else is exposed."""

from __future__ import annotations

import pytest
import requests
import swiftclient
from swiftclient import ClientException

from tests.functional.swift_support import SwiftAccount, make_account
from tests.harness import Server

UNAUTHORIZED = (
    "<html><h1>Unauthorized</h1><p>This server could not verify that you are authorized to "
    "access the document you requested.</p></html>"
)
FORBIDDEN = "<html><h1>Forbidden</h1><p>Access was denied to this resource.</p></html>"


@pytest.fixture(scope="module")
def owner(server: Server) -> SwiftAccount:
    account = make_account(server, "swauth", "prod", "swauth-owner")
    conn = account.connection()
    conn.put_container("shared")
    conn.put_object("shared", "doc", b"secret")
    return account


@pytest.fixture(scope="module")
def reader(server: Server, owner: SwiftAccount) -> SwiftAccount:
    return make_account(server, "swauth", "prod", "swauth-reader", role="read-only")


@pytest.fixture(scope="module")
def stranger(server: Server) -> SwiftAccount:
    return make_account(server, "swauth", "other", "swauth-stranger")


def test_no_or_bad_token_is_401(owner: SwiftAccount) -> None:
    for headers in ({}, {"X-Auth-Token": "garbage"}, {"X-Storage-Token": "gAAAAABbad"}):
        response = requests.get(owner.storage_url + "/shared/doc", headers=headers, timeout=10)
        assert response.status_code == 401
        assert response.text == UNAUTHORIZED
        assert response.headers["X-Trans-Id"] == response.headers["X-Openstack-Request-Id"]
        assert "Date" in response.headers


def test_x_storage_token_is_accepted(owner: SwiftAccount) -> None:
    response = requests.get(
        owner.storage_url + "/shared/doc", headers={"X-Storage-Token": owner.token()}, timeout=10
    )
    assert response.status_code == 200 and response.content == b"secret"


def test_another_environments_account_is_403(owner: SwiftAccount, stranger: SwiftAccount) -> None:
    for method, path in [
        ("GET", ""),
        ("HEAD", "/shared"),
        ("GET", "/shared/doc"),
        ("PUT", "/mine"),
        ("DELETE", "/shared/doc"),
    ]:
        response = requests.request(
            method,
            owner.storage_url + path,
            headers={"X-Auth-Token": stranger.token()},
            timeout=10,
        )
        assert response.status_code == 403, (method, path)
        if method != "HEAD":
            assert response.text == FORBIDDEN
    assert owner.connection().get_object("shared", "doc")[1] == b"secret"


def test_read_only_member_reads_but_cannot_write(owner: SwiftAccount, reader: SwiftAccount) -> None:
    conn = reader.connection()
    assert conn.get_object("shared", "doc")[1] == b"secret"
    assert [c["name"] for c in conn.get_account()[1]] == ["shared"]
    writes = [
        lambda: conn.put_container("new"),
        lambda: conn.put_object("shared", "doc", b"overwritten"),
        lambda: conn.post_object("shared", "doc", {"X-Object-Meta-A": "1"}),
        lambda: conn.post_container("shared", {"X-Container-Meta-A": "1"}),
        lambda: conn.post_account({"X-Account-Meta-A": "1"}),
        lambda: conn.delete_object("shared", "doc"),
        lambda: conn.delete_container("shared"),
    ]
    for write in writes:
        with pytest.raises(ClientException) as excinfo:
            write()
        assert excinfo.value.http_status == 403
    bulk = requests.post(
        owner.storage_url + "?bulk-delete",
        data=b"/shared/doc\n",
        headers={"X-Auth-Token": reader.token()},
        timeout=10,
    )
    assert bulk.status_code == 403
    assert owner.connection().get_object("shared", "doc")[1] == b"secret"


def test_unscoped_token_is_403(owner: SwiftAccount) -> None:
    o = owner.creds["openstack"]
    response = requests.post(
        f"{owner.server.auth_url}/v3/auth/tokens",
        json={
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": o["username"],
                            "password": o["password"],
                            "domain": {"name": "Default"},
                        }
                    },
                },
                "scope": "unscoped",
            }
        },
        timeout=10,
    )
    assert response.status_code == 201
    token = response.headers["X-Subject-Token"]
    denied = requests.get(owner.storage_url, headers={"X-Auth-Token": token}, timeout=10)
    assert denied.status_code == 403


def test_info_needs_no_token_and_other_paths_are_s3(owner: SwiftAccount) -> None:
    info = requests.get(owner.server.object_url + "/info", timeout=10)
    assert info.status_code == 200
    assert "slo" in info.json() and "bulk_delete" in info.json()
    # Everything outside /info and /v1 is the S3 API: an anonymous bucket listing.
    other = requests.get(owner.server.object_url + "/elsewhere", timeout=10)
    assert other.status_code == 403
    assert other.headers["Content-Type"] == "application/xml"
    assert "<Code>AccessDenied</Code>" in other.text


def test_unsupported_method_is_405(owner: SwiftAccount) -> None:
    response = requests.request(
        "PATCH", owner.storage_url + "/shared", headers={"X-Auth-Token": owner.token()}, timeout=10
    )
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


def test_swiftclient_full_login_reaches_the_account(owner: SwiftAccount) -> None:
    o = owner.creds["openstack"]
    conn = swiftclient.Connection(
        authurl=f"{owner.server.auth_url}/v3",
        user=o["username"],
        key=o["password"],
        auth_version="3",
        os_options={"project_name": o["project_name"]},
        retries=0,
    )
    with pytest.warns(DeprecationWarning):  # swiftclient's v3 login uses keystoneclient
        url, _ = conn.get_auth()
    assert url == owner.storage_url
