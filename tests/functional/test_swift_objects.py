"""Object semantics through python-swiftclient and raw HTTP: headers, ranges,
conditionals, errors, metadata, copy and expiry."""

from __future__ import annotations

import hashlib
import socket
import sqlite3
import time
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import quote, urlsplit

import pytest
import swiftclient
from swiftclient import ClientException

from tests.functional.swift_support import SwiftAccount, make_account
from tests.harness import Server

DATA = bytes(range(256)) * 40  # 10240 bytes


@pytest.fixture(scope="module")
def account(server: Server) -> SwiftAccount:
    return make_account(server, "swobj", "prod", "swobj-user")


@pytest.fixture(scope="module")
def conn(account: SwiftAccount) -> swiftclient.Connection:
    return account.connection()


@pytest.fixture
def container(conn: swiftclient.Connection, request: pytest.FixtureRequest) -> str:
    name = request.node.name.replace("[", "-").replace("]", "")[:200]
    conn.put_container(name)
    return name


def _status(excinfo: pytest.ExceptionInfo[ClientException]) -> int:
    return int(excinfo.value.http_status or 0)


def test_put_get_head_headers(conn: swiftclient.Connection, container: str) -> None:
    response: dict[str, object] = {}
    etag = conn.put_object(
        container,
        "dir/a b ü.txt",
        DATA,
        headers={
            "X-Object-Meta-Color": "blue",
            "Content-Disposition": 'attachment; filename="x.txt"',
            "Content-Encoding": "identity",
        },
        response_dict=response,
    )
    assert response["status"] == 201
    assert etag == hashlib.md5(DATA).hexdigest()
    headers = conn.head_object(container, "dir/a b ü.txt")
    assert headers["content-length"] == str(len(DATA))
    assert headers["etag"] == etag
    assert headers["content-type"] == "text/plain"  # guessed from the name
    assert headers["x-object-meta-color"] == "blue"
    assert headers["content-disposition"] == 'attachment; filename="x.txt"'
    assert headers["content-encoding"] == "identity"
    assert headers["accept-ranges"] == "bytes"
    assert "x-timestamp" in headers and "last-modified" in headers
    assert headers["x-trans-id"] == headers["x-openstack-request-id"]
    assert "date" in headers
    got_headers, body = conn.get_object(container, "dir/a b ü.txt")
    assert body == DATA
    assert got_headers["etag"] == etag


def test_put_chunked_and_explicit_content_type(
    conn: swiftclient.Connection, container: str
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"a" * 1000
        yield b"b" * 5000

    conn.put_object(container, "chunked", chunks(), content_type="application/x-thing")
    headers, body = conn.get_object(container, "chunked")
    assert body == b"a" * 1000 + b"b" * 5000
    assert headers["content-type"] == "application/x-thing"


def test_put_etag_mismatch_is_422(conn: swiftclient.Connection, container: str) -> None:
    with pytest.raises(ClientException) as excinfo:
        conn.put_object(container, "bad", b"abc", etag="0" * 32)
    assert _status(excinfo) == 422
    with pytest.raises(ClientException) as excinfo:
        conn.head_object(container, "bad")
    assert _status(excinfo) == 404


def test_put_if_none_match_star(conn: swiftclient.Connection, container: str) -> None:
    conn.put_object(container, "once", b"1", headers={"If-None-Match": "*"})
    with pytest.raises(ClientException) as excinfo:
        conn.put_object(container, "once", b"2", headers={"If-None-Match": "*"})
    assert _status(excinfo) == 412
    assert conn.get_object(container, "once")[1] == b"1"


def _raw(account: SwiftAccount, head: str) -> bytes:
    """Sends raw request bytes (for what clients will not send) and reads the reply."""
    url = urlsplit(account.storage_url)
    with socket.create_connection((url.hostname or "", url.port or 80), timeout=10) as sock:
        sock.sendall(head.encode("latin-1"))  # one byte per character, as on the wire
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    return reply


def _raw_all(account: SwiftAccount, request: str) -> bytes:
    """Like `_raw`, for a request asking `Connection: close`: everything sent back."""
    url = urlsplit(account.storage_url)
    with socket.create_connection((url.hostname or "", url.port or 80), timeout=10) as sock:
        sock.sendall(request.encode("latin-1"))
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_put_without_length_is_411_and_too_large_is_413(
    account: SwiftAccount, container: str
) -> None:
    path = urlsplit(account.storage_url).path + f"/{container}/x"
    token = account.token()
    reply = _raw(account, f"PUT {path} HTTP/1.1\r\nHost: h\r\nX-Auth-Token: {token}\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 411 ")
    huge = 6 * 1024**3
    reply = _raw(
        account,
        f"PUT {path} HTTP/1.1\r\nHost: h\r\nX-Auth-Token: {token}\r\n"
        f"Content-Length: {huge}\r\n\r\n",
    )
    assert reply.startswith(b"HTTP/1.1 413 ")


def test_ranges(account: SwiftAccount, conn: swiftclient.Connection, container: str) -> None:
    conn.put_object(container, "r", DATA, content_type="application/octet-stream")
    headers, body = conn.get_object(container, "r", headers={"Range": "bytes=10-19"})
    assert body == DATA[10:20]
    assert headers["content-range"] == f"bytes 10-19/{len(DATA)}"
    assert conn.get_object(container, "r", headers={"Range": "bytes=-5"})[1] == DATA[-5:]
    assert conn.get_object(container, "r", headers={"Range": "bytes=10000-"})[1] == DATA[10000:]
    response = account.request("GET", f"/{container}/r", headers={"Range": "bytes=0-1,100-102,-3"})
    assert response.status_code == 206
    content_type = response.headers["Content-Type"]
    assert content_type.startswith("multipart/byteranges")
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + response.content
    )
    parts = [(p["Content-Range"], p.get_payload(decode=True)) for p in message.iter_parts()]
    n = len(DATA)
    assert parts == [
        (f"bytes 0-1/{n}", DATA[0:2]),
        (f"bytes 100-102/{n}", DATA[100:103]),
        (f"bytes {n - 3}-{n - 1}/{n}", DATA[-3:]),
    ]
    assert int(response.headers["Content-Length"]) == len(response.content)
    bad = account.request("GET", f"/{container}/r", headers={"Range": f"bytes={n}-"})
    assert bad.status_code == 416
    assert bad.headers["Content-Range"] == f"bytes */{n}"
    # A malformed Range is ignored: the whole object.
    assert conn.get_object(container, "r", headers={"Range": "bytes=x-y"})[1] == DATA


def test_conditionals(conn: swiftclient.Connection, container: str) -> None:
    etag = conn.put_object(container, "c", DATA)
    modified = conn.head_object(container, "c")["last-modified"]
    assert conn.get_object(container, "c", headers={"If-Match": etag})[1] == DATA
    assert conn.get_object(container, "c", headers={"If-Match": f'"{etag}"'})[1] == DATA
    cases = [
        ({"If-Match": '"nope"'}, 412),
        ({"If-None-Match": etag}, 304),
        ({"If-Modified-Since": modified}, 304),
        ({"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}, 412),
    ]
    for headers, status in cases:
        response: dict[str, object] = {}
        try:
            conn.get_object(container, "c", headers=headers, response_dict=response)
        except ClientException as exc:
            assert exc.http_status == status, headers
        else:
            assert response["status"] == status, headers
    body = conn.get_object(
        container, "c", headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}
    )[1]
    assert body == DATA


def test_post_replaces_user_metadata(
    account: SwiftAccount, conn: swiftclient.Connection, container: str
) -> None:
    conn.put_object(container, "p", b"x", headers={"X-Object-Meta-A": "1", "X-Object-Meta-B": "2"})
    response = account.request(
        "POST", f"/{container}/p", headers={"X-Object-Meta-C": "3", "Content-Type": "text/x-new"}
    )
    assert response.status_code == 202
    assert response.text == (
        "<html><h1>Accepted</h1><p>The request is accepted for processing.</p></html>"
    )
    headers = conn.head_object(container, "p")
    assert headers["x-object-meta-c"] == "3"
    assert "x-object-meta-a" not in headers and "x-object-meta-b" not in headers
    assert headers["content-type"] == "text/x-new"
    with pytest.raises(ClientException) as excinfo:
        conn.post_object(container, "missing", {"X-Object-Meta-A": "1"})
    assert _status(excinfo) == 404


def test_delete_object(account: SwiftAccount, conn: swiftclient.Connection, container: str) -> None:
    conn.put_object(container, "d", b"x")
    assert account.request("DELETE", f"/{container}/d").status_code == 204
    missing = account.request("DELETE", f"/{container}/d")
    assert missing.status_code == 404
    assert missing.text == "<html><h1>Not Found</h1><p>The resource could not be found.</p></html>"


def test_copy_semantics(
    account: SwiftAccount, conn: swiftclient.Connection, container: str
) -> None:
    conn.put_object(
        container,
        "src",
        DATA,
        content_type="text/x-src",
        headers={"X-Object-Meta-A": "1", "X-Object-Meta-B": "2", "Content-Disposition": "inline"},
    )
    response: dict[str, object] = {}
    conn.put_object(
        container,
        "merged",
        None,
        headers={"X-Copy-From": f"/{container}/src", "X-Object-Meta-B": "3"},
        response_dict=response,
    )
    assert response["status"] == 201
    assert response["headers"]["x-copied-from"] == f"{container}/src"  # type: ignore[index]
    headers, body = conn.get_object(container, "merged")
    assert body == DATA
    assert headers["etag"] == hashlib.md5(DATA).hexdigest()
    assert (headers["x-object-meta-a"], headers["x-object-meta-b"]) == ("1", "3")
    assert headers["content-type"] == "text/x-src"
    assert headers["content-disposition"] == "inline"
    copied = account.request(
        "COPY",
        f"/{container}/src",
        headers={
            "Destination": f"{container}/fresh",
            "X-Fresh-Metadata": "true",
            "X-Object-Meta-C": "4",
        },
    )
    assert copied.status_code == 201
    headers = conn.head_object(container, "fresh")
    assert headers["x-object-meta-c"] == "4"
    assert "x-object-meta-a" not in headers
    missing = account.request(
        "COPY", f"/{container}/nope", headers={"Destination": f"{container}/x"}
    )
    assert missing.status_code == 404
    bad = account.request("COPY", f"/{container}/src", headers={"Destination": "no-slash"})
    assert bad.status_code == 412


def test_delete_after_expires_the_object(conn: swiftclient.Connection, container: str) -> None:
    conn.put_object(container, "soon", b"x", headers={"X-Delete-After": "1"})
    conn.put_object(container, "later", b"y", headers={"X-Delete-At": str(int(time.time()) + 3600)})
    headers = conn.head_object(container, "soon")
    assert int(headers["x-delete-at"]) <= time.time() + 2
    time.sleep(2.1)
    with pytest.raises(ClientException) as excinfo:
        conn.get_object(container, "soon")
    assert _status(excinfo) == 404
    names = [o["name"] for o in conn.get_container(container)[1]]
    assert names == ["later"]
    with pytest.raises(ClientException) as excinfo:
        conn.put_object(container, "past", b"z", headers={"X-Delete-At": "1000"})
    assert _status(excinfo) == 400


def test_name_limits(account: SwiftAccount, conn: swiftclient.Connection, container: str) -> None:
    too_long = account.request("PUT", "/" + "c" * 257)
    assert too_long.status_code == 400
    assert too_long.text == "Container name length of 257 longer than 256"
    object_too_long = account.request("PUT", f"/{container}/" + "o" * 1025, data=b"")
    assert object_too_long.status_code == 400
    conn.put_object(container, "o" * 1024, b"")
    missing_container = account.request("PUT", "/no-such-container/o", data=b"x")
    assert missing_container.status_code == 404


def test_empty_object_ranges(
    account: SwiftAccount, conn: swiftclient.Connection, container: str
) -> None:
    conn.put_object(container, "empty", b"")
    assert conn.get_object(container, "empty")[1] == b""
    ranged = account.request("GET", f"/{container}/empty", headers={"Range": "bytes=0-"})
    assert ranged.status_code == 416
    assert ranged.headers["Content-Range"] == "bytes */0"


def test_metadata_with_control_characters_is_refused(
    server: Server, account: SwiftAccount, conn: swiftclient.Connection, container: str
) -> None:
    """VT, NUL or a bare CR in a metadata value (or any header Swift stores) never reach a
    handler: the HTTP parser answers 400 and closes; nothing is stored."""
    conn.put_object(container, "keep", b"original", headers={"X-Object-Meta-Note": "fine"})
    path = f"/v1/AUTH_{account.project_id}/{container}"
    token = account.token()
    for bad in ("\x0b", "\x00", "\r"):
        for method, where, name in (
            ("PUT", "/keep", "X-Object-Meta-Note"),
            ("PUT", "/keep", "Content-Disposition"),
            ("PUT", "/keep", "X-Object-Manifest"),
            ("POST", "/keep", "X-Object-Meta-Note"),
            ("POST", "", "X-Container-Meta-Note"),
        ):
            answer = _raw(
                account,
                f"{method} {path}{where} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {token}\r\n"
                f"Content-Length: 1\r\n{name}: a{bad}b\r\n\r\nz",
            )
            assert answer.startswith(b"HTTP/1.1 400 "), answer
    headers, body = conn.get_object(container, "keep")
    assert (body, headers["x-object-meta-note"]) == (b"original", "fine")
    assert "content-disposition" not in headers
    assert "x-container-meta-note" not in conn.head_container(container)


def test_stored_header_with_control_characters_gets_an_answer(
    server: Server, account: SwiftAccount, conn: swiftclient.Connection, container: str
) -> None:
    """A value stored before values were checked on the way in gets Swift's 400, not a
    dropped connection."""
    conn.put_object(container, "old", b"x")
    with sqlite3.connect(server.data_dir / "metadata.sqlite3") as db:
        db.execute("UPDATE objects SET content_type = ? WHERE name = 'old'", ("a\nX-Injected: 1",))
        db.execute(
            "UPDATE containers SET metadata = ? WHERE name = ?",
            ('{"x-container-meta-note": "a\\r\\nX-Injected: 1"}', container),
        )
    for method, where in (("GET", "/old"), ("HEAD", "/old"), ("HEAD", ""), ("GET", "")):
        reply = account.request(method, f"/{container}{where}")
        assert reply.status_code == 400, (method, where)
        assert "X-Injected" not in reply.headers
        assert reply.headers["X-Trans-Id"]
        if method == "GET":
            assert reply.text.startswith("Invalid character in the value of ")


def test_header_values_that_are_not_utf8_are_refused(
    account: SwiftAccount, conn: swiftclient.Connection, container: str
) -> None:
    """A byte that is not UTF-8 in metadata (or another value Swift stores) is Swift's
    400 "Metadata must be valid UTF-8" (constraints.check_metadata); it was a 500."""
    conn.put_object(container, "keep", b"original", headers={"X-Object-Meta-Note": "fine"})
    base = f"/v1/AUTH_{account.project_id}"
    token = account.token()
    for bad in ("\xff", "\xb2"):
        for method, where, name, says in (
            ("PUT", f"/{container}/keep", "X-Object-Meta-Note", "Metadata must be valid UTF-8"),
            ("POST", f"/{container}/keep", "X-Object-Meta-Note", "Metadata must be valid UTF-8"),
            ("POST", f"/{container}", "X-Container-Meta-Note", "Metadata must be valid UTF-8"),
            ("PUT", f"/{container}-new", "X-Container-Meta-Note", "Metadata must be valid UTF-8"),
            ("POST", "", "X-Account-Meta-Note", "Metadata must be valid UTF-8"),
            ("PUT", f"/{container}/keep", "Content-Type", "Invalid UTF-8 in the value of"),
            ("PUT", f"/{container}/keep", "Content-Disposition", "Invalid UTF-8 in the value of"),
            ("PUT", f"/{container}/keep", "X-Object-Manifest", "Invalid UTF-8 in the value of"),
        ):
            answer = _raw_all(
                account,
                f"{method} {base}{where} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {token}\r\n"
                f"Content-Length: 1\r\nConnection: close\r\n{name}: a{bad}\r\n\r\nz",
            )
            assert answer.startswith(b"HTTP/1.1 400 "), (name, answer)
            assert answer.partition(b"\r\n\r\n")[2].startswith(says.encode()), answer
    headers, body = conn.get_object(container, "keep")
    assert (body, headers["x-object-meta-note"]) == (b"original", "fine")
    assert "x-container-meta-note" not in conn.head_container(container)
    assert "x-account-meta-note" not in conn.head_account()
    with pytest.raises(ClientException) as missing:
        conn.head_container(f"{container}-new")
    assert _status(missing) == 404


def test_numbers_in_unicode_digits(
    account: SwiftAccount, conn: swiftclient.Connection, container: str
) -> None:
    """ "²" passes `str.isdigit` but not int(): a limit or a Range in it was a 500. Swift
    ignores a limit that is not a number, and a Range that is not valid."""
    conn.put_object(container, "o", b"hello")
    for digit in ("\u00b2", "\u0661", "\uff11"):
        for where in (f"/{container}", ""):
            assert account.request("GET", f"{where}?limit={quote(digit)}").status_code == 200
    reply = _raw_all(
        account,
        f"GET /v1/AUTH_{account.project_id}/{container}/o HTTP/1.1\r\nHost: x\r\n"
        f"X-Auth-Token: {account.token()}\r\nRange: bytes=\xb2-\r\nConnection: close\r\n\r\n",
    )
    assert reply.startswith(b"HTTP/1.1 200 ") and reply.endswith(b"hello"), reply
