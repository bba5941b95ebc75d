"""Accounts and containers through python-swiftclient and raw HTTP: listings in every
format and with every parameter, metadata, counts, creation and deletion statuses."""

from __future__ import annotations

import http.client
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
import swiftclient
from swiftclient import ClientException

from tests.functional.swift_support import SwiftAccount, make_account
from tests.harness import Server

NAMES = ["a", "b/1", "b/2", "c", "d/x/1", "é"]


@pytest.fixture(scope="module")
def account(server: Server) -> SwiftAccount:
    return make_account(server, "swcont", "prod", "swcont-user")


@pytest.fixture(scope="module")
def conn(account: SwiftAccount) -> swiftclient.Connection:
    return account.connection()


@pytest.fixture(scope="module")
def filled(conn: swiftclient.Connection) -> str:
    conn.put_container("filled")
    for name in NAMES:
        conn.put_object("filled", name, name.encode(), content_type="text/plain")
    return "filled"


def test_create_head_post_delete_statuses(
    account: SwiftAccount, conn: swiftclient.Connection
) -> None:
    created = account.request("PUT", "/life", headers={"X-Container-Meta-Color": "blue"})
    assert created.status_code == 201
    assert account.request("PUT", "/life").status_code == 202
    headers = conn.head_container("life")
    assert headers["x-container-meta-color"] == "blue"
    assert headers["x-container-object-count"] == "0"
    assert headers["x-container-bytes-used"] == "0"
    assert headers["x-storage-policy"] == "Policy-0"
    assert "x-timestamp" in headers
    posted = account.request(
        "POST",
        "/life",
        headers={"X-Container-Meta-Size": "L", "X-Remove-Container-Meta-Color": "x"},
    )
    assert posted.status_code == 204
    headers = conn.head_container("life")
    assert headers["x-container-meta-size"] == "L"
    assert "x-container-meta-color" not in headers
    conn.put_object("life", "o", b"12345")
    headers = conn.head_container("life")
    assert (headers["x-container-object-count"], headers["x-container-bytes-used"]) == ("1", "5")
    conflict = account.request("DELETE", "/life")
    assert conflict.status_code == 409
    assert conflict.text == (
        "<html><h1>Conflict</h1><p>There was a conflict when trying to complete your "
        "request.</p></html>"
    )
    conn.delete_object("life", "o")
    assert account.request("DELETE", "/life").status_code == 204
    assert account.request("DELETE", "/life").status_code == 404
    assert account.request("HEAD", "/life").status_code == 404
    assert account.request("POST", "/life").status_code == 404


def test_listing_formats(account: SwiftAccount, filled: str) -> None:
    plain = account.request("GET", f"/{filled}")
    assert plain.status_code == 200
    assert plain.text.splitlines() == NAMES
    document = account.request("GET", f"/{filled}", params={"format": "json"}).json()
    assert [e["name"] for e in document] == NAMES
    first = document[0]
    assert set(first) == {"name", "hash", "bytes", "content_type", "last_modified"}
    assert first["bytes"] == 1 and first["content_type"] == "text/plain"
    assert len(first["last_modified"]) == len("2024-01-01T00:00:00.000000")
    by_accept = account.request("GET", f"/{filled}", headers={"Accept": "application/json"})
    assert by_accept.headers["Content-Type"] == "application/json; charset=utf-8"
    xml = account.request("GET", f"/{filled}", params={"format": "xml", "delimiter": "/"})
    root = ET.fromstring(xml.content)
    assert root.tag == "container" and root.get("name") == filled
    assert [child.tag for child in root] == ["object", "subdir", "object", "subdir", "object"]
    assert [child.findtext("name") for child in root] == ["a", "b/", "c", "d/", "é"]


def test_listing_parameters(conn: swiftclient.Connection, filled: str) -> None:
    def names(**query: object) -> list[str]:
        _, listing = conn.get_container(filled, **query)  # type: ignore[arg-type]
        return [e.get("name", e.get("subdir")) for e in listing]

    assert names(prefix="b/") == ["b/1", "b/2"]
    assert names(delimiter="/") == ["a", "b/", "c", "d/", "é"]
    assert names(prefix="d/", delimiter="/") == ["d/x/"]
    assert names(marker="b/2") == ["c", "d/x/1", "é"]
    assert names(end_marker="c") == ["a", "b/1", "b/2"]
    assert names(limit=2) == ["a", "b/1"]
    _, listing = conn.get_container(filled, query_string="reverse=true")
    assert [e["name"] for e in listing] == list(reversed(NAMES))
    _, listing = conn.get_container(filled, query_string="reverse=on&marker=c")
    assert [e["name"] for e in listing] == ["b/2", "b/1", "a"]


def test_listing_limit_over_maximum_is_412(account: SwiftAccount, filled: str) -> None:
    response = account.request("GET", f"/{filled}", params={"limit": "10001"})
    assert response.status_code == 412
    assert response.text == "Maximum limit is 10000"
    assert account.request("GET", "", params={"limit": "10001"}).status_code == 412


def test_empty_plain_listing_is_204(account: SwiftAccount, conn: swiftclient.Connection) -> None:
    conn.put_container("empty-list")
    assert account.request("GET", "/empty-list").status_code == 204
    as_json = account.request("GET", "/empty-list", params={"format": "json"})
    assert as_json.status_code == 200 and as_json.json() == []


def test_account_listing_and_metadata(
    account: SwiftAccount, conn: swiftclient.Connection, filled: str
) -> None:
    for name in ("acc-a", "acc-b/x", "acc-b/y"):
        conn.put_container(name.replace("/", "-"))
    headers, listing = conn.get_account(prefix="acc-")
    assert [c["name"] for c in listing] == ["acc-a", "acc-b-x", "acc-b-y"]
    assert set(listing[0]) == {"name", "count", "bytes", "last_modified"}
    _, listing = conn.get_account(prefix="acc-b", delimiter="-")
    assert listing == [{"subdir": "acc-b-"}]
    _, full = conn.get_account(prefix=filled)
    assert full[0]["count"] == len(NAMES)
    assert int(headers["x-account-container-count"]) >= 3
    assert "x-account-object-count" in headers and "x-account-bytes-used" in headers
    xml = account.request("GET", "", params={"format": "xml", "prefix": "acc-"})
    root = ET.fromstring(xml.content)
    assert root.tag == "account" and root.get("name") == f"AUTH_{account.project_id}"
    assert [c.findtext("name") for c in root] == ["acc-a", "acc-b-x", "acc-b-y"]
    assert account.request("POST", "", headers={"X-Account-Meta-Dept": "ops"}).status_code == 204
    assert conn.head_account()["x-account-meta-dept"] == "ops"
    conn.post_account({"X-Remove-Account-Meta-Dept": "x"})
    assert "x-account-meta-dept" not in conn.head_account()


def test_metadata_limits(account: SwiftAccount, conn: swiftclient.Connection) -> None:
    conn.put_container("meta-limits")
    long_value = account.request(
        "POST", "/meta-limits", headers={"X-Container-Meta-Big": "v" * 257}
    )
    assert long_value.status_code == 400
    with pytest.raises(ClientException) as excinfo:
        conn.put_object("meta-limits", "o", b"", headers={"X-Object-Meta-" + "n" * 129: "v"})
    assert excinfo.value.http_status == 400


def test_unsupported_container_features_are_refused(account: SwiftAccount) -> None:
    response = account.request("PUT", "/acl", headers={"X-Container-Read": ".r:*"})
    assert response.status_code == 400
    assert response.text == "X-Container-Read is not supported (Container ACLs)"
    assert account.request("HEAD", "/acl").status_code == 404


@pytest.mark.parametrize("size", [1_500_000, 20_000_000])
def test_early_errors_reach_a_client_still_sending_the_body(
    account: SwiftAccount, size: int
) -> None:
    """A PUT refused from its headers (no such container, a bad token), from a client
    that writes its whole body before reading: it gets Swift's answer, not EPIPE."""
    body = b"x" * size
    path = urlsplit(account.storage_url).path
    account.request("PUT", "/kept")
    cases = [
        (f"{path}/missing/obj", account.token(), 404),
        (f"{path}/kept/obj", "not-a-token", 401),
    ]
    for target, token, status in cases:
        conn = http.client.HTTPConnection("127.0.0.1", account.server.object_port, timeout=30)
        conn.request("PUT", target, body=body, headers={"X-Auth-Token": token})
        response = conn.getresponse()
        answer = response.read()
        assert response.status == status, answer
        assert (b"Unauthorized" if status == 401 else b"Not Found") in answer, answer
        if size <= 4 * 1024 * 1024:
            conn.request("HEAD", f"{path}/kept", headers={"X-Auth-Token": account.token()})
            again = conn.getresponse()
            again.read()
            assert again.status == 204
        else:
            assert response.getheader("Connection") == "close"
        conn.close()
    assert account.request("GET", "/kept").status_code == 204
    assert account.request("GET", "/missing").status_code == 404
