"""Static and dynamic large objects, and bulk delete, through python-swiftclient."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
import swiftclient
from swiftclient import ClientException

from tests.functional.swift_support import SwiftAccount, make_account
from tests.harness import Server

SEGMENTS = [os.urandom(1000), os.urandom(2000), os.urandom(500)]


@pytest.fixture(scope="module")
def account(server: Server) -> SwiftAccount:
    return make_account(server, "swlarge", "prod", "swlarge-user")


@pytest.fixture(scope="module")
def conn(account: SwiftAccount) -> swiftclient.Connection:
    return account.connection()


def _segments(conn: swiftclient.Connection, container: str) -> list[dict[str, object]]:
    conn.put_container(container)
    manifest = []
    for index, data in enumerate(SEGMENTS):
        etag = conn.put_object(container, f"seg/{index}", data)
        manifest.append(
            {"path": f"/{container}/seg/{index}", "etag": etag, "size_bytes": len(data)}
        )
    return manifest


def test_slo_put_get_head_and_ranges(conn: swiftclient.Connection) -> None:
    manifest = _segments(conn, "slo-a")
    whole = b"".join(SEGMENTS)
    slo_etag = hashlib.md5("".join(str(m["etag"]) for m in manifest).encode()).hexdigest()
    response: dict[str, object] = {}
    conn.put_object(
        "slo-a",
        "big",
        json.dumps(manifest),
        query_string="multipart-manifest=put",
        headers={"X-Object-Meta-Kind": "slo"},
        response_dict=response,
    )
    assert response["status"] == 201
    headers = conn.head_object("slo-a", "big")
    assert headers["x-static-large-object"] == "True"
    assert headers["content-length"] == str(len(whole))
    assert headers["etag"] == f'"{slo_etag}"'
    assert headers["x-object-meta-kind"] == "slo"
    assert conn.get_object("slo-a", "big")[1] == whole
    assert (
        conn.get_object("slo-a", "big", headers={"Range": "bytes=990-1010"})[1] == whole[990:1011]
    )
    assert conn.get_object("slo-a", "big", headers={"Range": "bytes=-600"})[1] == whole[-600:]
    assert conn.get_object("slo-a", "big", headers={"If-Match": slo_etag})[1] == whole
    listing = {o["name"]: o for o in conn.get_container("slo-a")[1]}
    assert listing["big"]["bytes"] == len(whole) and listing["big"]["hash"] == slo_etag
    _, stored = conn.get_object("slo-a", "big", query_string="multipart-manifest=get")
    entries = json.loads(stored)
    assert [e["name"] for e in entries] == [m["path"] for m in manifest]
    assert {"name", "hash", "bytes", "content_type", "last_modified"} <= set(entries[0])
    _, raw = conn.get_object("slo-a", "big", query_string="multipart-manifest=get&format=raw")
    assert json.loads(raw) == manifest


def test_slo_with_segment_ranges(conn: swiftclient.Connection) -> None:
    manifest = _segments(conn, "slo-r")
    manifest[0]["range"] = "10-19"
    manifest[1]["range"] = "-5"
    conn.put_object("slo-r", "ranged", json.dumps(manifest), query_string="multipart-manifest=put")
    expected = SEGMENTS[0][10:20] + SEGMENTS[1][-5:] + SEGMENTS[2]
    assert conn.get_object("slo-r", "ranged")[1] == expected
    assert conn.head_object("slo-r", "ranged")["content-length"] == str(len(expected))


def test_slo_validation_errors(account: SwiftAccount, conn: swiftclient.Connection) -> None:
    manifest = _segments(conn, "slo-bad")
    manifest[0]["etag"] = "0" * 32
    manifest[1]["size_bytes"] = 1
    manifest.append({"path": "/slo-bad/missing", "etag": None, "size_bytes": None})
    response = account.request(
        "PUT", "/slo-bad/m?multipart-manifest=put", data=json.dumps(manifest)
    )
    assert response.status_code == 400
    assert response.text == (
        "Errors:\n/slo-bad/seg/0, Etag Mismatch\n/slo-bad/seg/1, Size Mismatch\n"
        "/slo-bad/missing, 404 Not Found\n"
    )
    not_json = account.request("PUT", "/slo-bad/m?multipart-manifest=put", data=b"{nope")
    assert not_json.status_code == 400
    with pytest.raises(ClientException) as excinfo:
        conn.head_object("slo-bad", "m")
    assert excinfo.value.http_status == 404


def test_slo_delete_with_segments(account: SwiftAccount, conn: swiftclient.Connection) -> None:
    manifest = _segments(conn, "slo-del")
    conn.put_object("slo-del", "big", json.dumps(manifest), query_string="multipart-manifest=put")
    response = account.request(
        "DELETE", "/slo-del/big?multipart-manifest=delete", headers={"Accept": "application/json"}
    )
    assert response.status_code == 200
    report = response.json()
    assert report["Number Deleted"] == 4
    assert report["Response Status"] == "200 OK"
    assert conn.get_container("slo-del")[1] == []


def test_dlo(conn: swiftclient.Connection) -> None:
    conn.put_container("dlo-segs")
    for index, data in enumerate(SEGMENTS):
        conn.put_object("dlo-segs", f"part/{index:03d}", data)
    conn.put_container("dlo")
    conn.put_object("dlo", "big", b"", headers={"X-Object-Manifest": "dlo-segs/part/"})
    headers, body = conn.get_object("dlo", "big")
    assert body == b"".join(SEGMENTS)
    assert headers["x-object-manifest"] == "dlo-segs/part/"
    assert headers["content-length"] == str(sum(len(s) for s in SEGMENTS))
    assert conn.get_object("dlo", "big", headers={"Range": "bytes=999-1000"})[1] == (
        SEGMENTS[0][-1:] + SEGMENTS[1][:1]
    )
    # Segments added later show up: the manifest is a prefix, resolved at read time.
    conn.put_object("dlo-segs", "part/999", b"tail")
    assert conn.get_object("dlo", "big")[1].endswith(b"tail")


def test_copy_of_slo_is_plain_bytes(conn: swiftclient.Connection) -> None:
    manifest = _segments(conn, "slo-copy")
    conn.put_object("slo-copy", "big", json.dumps(manifest), query_string="multipart-manifest=put")
    conn.put_object("slo-copy", "flat", None, headers={"X-Copy-From": "slo-copy/big"})
    headers, body = conn.get_object("slo-copy", "flat")
    assert body == b"".join(SEGMENTS)
    assert headers["etag"] == hashlib.md5(body).hexdigest()
    assert "x-static-large-object" not in headers


def test_bulk_delete(account: SwiftAccount, conn: swiftclient.Connection) -> None:
    conn.put_container("bulk")
    conn.put_container("bulk-full")
    conn.put_object("bulk-full", "keep", b"x")
    for name in ("a", "b c", "d/é"):
        conn.put_object("bulk", name, b"x")
    from urllib.parse import quote

    lines = [quote(p) for p in ("/bulk/a", "/bulk/b c", "/bulk/d/é", "/bulk/missing", "/bulk-full")]
    response = account.request(
        "POST",
        "?bulk-delete",
        data="\n".join(lines).encode(),
        headers={"Accept": "application/json", "Content-Type": "text/plain"},
    )
    assert response.status_code == 200
    report = response.json()
    assert report["Number Deleted"] == 3
    assert report["Number Not Found"] == 1
    assert report["Response Status"] == "400 Bad Request"
    assert report["Errors"] == [["/bulk-full", "409 Conflict"]]
    assert conn.get_container("bulk")[1] == []
    plain = account.request("DELETE", "?bulk-delete", data=b"/bulk\n")
    assert plain.status_code == 200
    assert plain.text == (
        "Number Deleted: 1\nNumber Not Found: 0\nResponse Body: \nResponse Status: 200 OK\n"
        "Errors:\n"
    )


def test_slo_segment_names_are_raw(conn: swiftclient.Connection) -> None:
    conn.put_container("slo-names")
    names = ["seg ü/%41 1", "seg ü/%41 2"]
    manifest = [
        {
            "path": f"/slo-names/{name}",
            "etag": conn.put_object("slo-names", name, name.encode()),
            "size_bytes": len(name.encode()),
        }
        for name in names
    ]
    conn.put_object("slo-names", "m", json.dumps(manifest), query_string="multipart-manifest=put")
    assert conn.get_object("slo-names", "m")[1] == "".join(names).encode()
