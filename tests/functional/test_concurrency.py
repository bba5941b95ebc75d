"""Concurrency across worker processes.

Read-your-writes for containers: a container deleted and created again is the new one
at once, on every worker, for every request that follows. Concurrent writes of one key
(copies of an object onto itself, PUTs, POSTs) each get their answer, never a 500.

The server runs two workers, on SQLite and (when CUMULO_TEST_POSTGRES_URL names a
server) on PostgreSQL; every request below goes on a fresh connection, so consecutive
requests land on either worker, and each round first warms both workers with requests
on the container about to be replaced.
"""

from __future__ import annotations

import os
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.functional.s3_support import S3User, error_code, signed, unique
from tests.functional.swift_support import SwiftAccount, make_account
from tests.harness import Server

ROUNDS = 15
# Requests per warm-up: enough fresh connections that both workers see the container.
WARM = 6


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """Two workers on SQLite, or on a fresh PostgreSQL database."""
    env: dict[str, str] = {}
    admin_url = os.environ.get("CUMULO_TEST_POSTGRES_URL")
    name = "cumulo_conc_" + uuid.uuid4().hex[:12]
    if request.param == "postgresql":
        if not admin_url:
            if os.environ.get("CUMULO_REQUIRE_POSTGRES") == "1":
                pytest.fail("CUMULO_REQUIRE_POSTGRES=1 but CUMULO_TEST_POSTGRES_URL is not set")
            pytest.skip("no PostgreSQL: set CUMULO_TEST_POSTGRES_URL to run these on it")
        import psycopg

        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        env["CUMULO_METADATA_URL"] = admin_url.rsplit("/", 1)[0] + "/" + name
    srv = Server(tmp_path_factory.mktemp("cumulo-data"), workers=2, env=env).start()
    try:
        yield srv
    finally:
        srv.stop()
        if env:
            import psycopg

            with psycopg.connect(str(admin_url), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        log = srv.log()
        assert "Traceback" not in log, log[-5000:]


@pytest.fixture(scope="module")
def account(server: Server) -> SwiftAccount:
    return make_account(server, unique("ryw"), "env", "rita")


@pytest.fixture
def user(server: Server, tmp_path: Path) -> S3User:
    return S3User.create(server, unique("ryw3"), "env", "sam", tmp_path / "home")


def test_swift_recreated_container_takes_writes_at_once(account: SwiftAccount) -> None:
    assert account.request("PUT", "/again").status_code == 201
    for round_ in range(ROUNDS):
        name = f"/again/obj-{round_}"
        assert account.request("PUT", name, data=b"first").status_code == 201
        for _ in range(WARM):
            assert account.request("HEAD", name).status_code == 200
        assert account.request("DELETE", name).status_code == 204
        assert account.request("DELETE", "/again").status_code == 204
        assert account.request("PUT", "/again").status_code == 201
        put = account.request("PUT", name, data=b"second")
        assert put.status_code == 201, (round_, put.status_code, put.text)
        for _ in range(WARM):
            got = account.request("GET", name)
            assert (got.status_code, got.content) == (200, b"second"), round_
        listing = account.request("GET", "/again")
        assert listing.text.split() == [name.rsplit("/", 1)[1]], round_
        copy = account.request("COPY", name, headers={"Destination": f"/again/copy-{round_}"})
        assert copy.status_code == 201, (round_, copy.status_code)
        post = account.request("POST", name, headers={"X-Object-Meta-Round": str(round_)})
        assert post.status_code == 202, round_
        for path in (name, f"/again/copy-{round_}"):
            assert account.request("DELETE", path).status_code == 204, (round_, path)


def test_swift_deleted_container_is_gone_at_once(account: SwiftAccount) -> None:
    for round_ in range(ROUNDS):
        assert account.request("PUT", "/gone").status_code == 201
        assert account.request("PUT", "/gone/x", data=b"x").status_code == 201
        for _ in range(WARM):
            assert account.request("HEAD", "/gone/x").status_code == 200
        assert account.request("DELETE", "/gone/x").status_code == 204
        assert account.request("DELETE", "/gone").status_code == 204
        for _ in range(WARM):
            assert account.request("PUT", "/gone/x", data=b"y").status_code == 404, round_
            assert account.request("GET", "/gone").status_code == 404, round_
            assert account.request("HEAD", "/gone/x").status_code == 404, round_


def _s3(user: S3User, method: str, path: str, **kwargs: Any) -> requests.Response:
    return signed(
        user.server,
        method,
        path,
        access_key=user.access_key,
        secret_key=user.secret_key,
        region=user.region,
        **kwargs,
    )


def test_s3_recreated_bucket_takes_writes_at_once(user: S3User) -> None:
    assert _s3(user, "PUT", "/again").status_code == 200
    for round_ in range(ROUNDS):
        key = f"/again/obj-{round_}"
        assert _s3(user, "PUT", key, body=b"first").status_code == 200
        for _ in range(WARM):
            assert _s3(user, "HEAD", key).status_code == 200
        assert _s3(user, "DELETE", key).status_code == 204
        # An upload left in progress does not keep the bucket; aborting it does.
        started = _s3(user, "POST", f"{key}-mp?uploads")
        assert started.status_code == 200, started.text
        upload_id = _upload_id(started)
        assert _s3(user, "DELETE", f"{key}-mp?uploadId={upload_id}").status_code == 204
        assert _s3(user, "DELETE", "/again").status_code == 204, round_
        assert _s3(user, "PUT", "/again").status_code == 200
        put = _s3(user, "PUT", key, body=b"second")
        assert put.status_code == 200, (round_, put.status_code, put.text)
        created = _s3(user, "POST", f"{key}-mp?uploads")
        assert created.status_code == 200, (round_, created.status_code, created.text)
        upload_id = _upload_id(created)
        part = _s3(user, "PUT", f"{key}-mp?partNumber=1&uploadId={upload_id}", body=b"part")
        assert part.status_code == 200, (round_, part.text)
        for _ in range(WARM):
            got = _s3(user, "GET", key)
            assert (got.status_code, got.content) == (200, b"second"), round_
        copied = _s3(user, "PUT", f"{key}-copy", headers={"x-amz-copy-source": f"/again{key[6:]}"})
        assert copied.status_code == 200, (round_, copied.text)
        assert _s3(user, "DELETE", f"{key}-mp?uploadId={upload_id}").status_code == 204
        for path in (key, f"{key}-copy"):
            assert _s3(user, "DELETE", path).status_code == 204


def test_s3_deleted_bucket_is_gone_at_once(user: S3User) -> None:
    for round_ in range(ROUNDS):
        assert _s3(user, "PUT", "/gone").status_code == 200
        assert _s3(user, "PUT", "/gone/x", body=b"x").status_code == 200
        for _ in range(WARM):
            assert _s3(user, "HEAD", "/gone/x").status_code == 200
        assert _s3(user, "DELETE", "/gone/x").status_code == 204
        assert _s3(user, "DELETE", "/gone").status_code == 204
        for _ in range(WARM // 2):
            for reply in (
                _s3(user, "PUT", "/gone/x", body=b"y"),
                _s3(user, "POST", "/gone/x?uploads"),
                _s3(user, "GET", "/gone/x"),
                _s3(user, "GET", "/gone?list-type=2"),
            ):
                assert (reply.status_code, error_code(reply)) == (404, "NoSuchBucket"), round_


# Past the inline limit (64 KiB), so each version's bytes are a blob of their own that
# the next write unlinks; and one of several MiB, linked while others replace it.
RACE_SIZES = (200_000, 3_000_000)


def test_s3_concurrent_self_copies_all_succeed(user: S3User) -> None:
    assert _s3(user, "PUT", "/race").status_code == 200
    for size in RACE_SIZES:
        body = bytes(range(256)) * (size // 256)
        assert _s3(user, "PUT", "/race/self", body=body).status_code == 200

        def copy(i: int) -> requests.Response:
            headers = {
                "x-amz-copy-source": "/race/self",
                "x-amz-metadata-directive": "REPLACE",
                "x-amz-meta-copy": str(i),
            }
            return _s3(user, "PUT", "/race/self", headers=headers)

        for _ in range(8):
            with ThreadPoolExecutor(6) as pool:
                replies = list(pool.map(copy, range(6)))
            assert [r.status_code for r in replies] == [200] * 6, [r.text for r in replies]
        got = _s3(user, "GET", "/race/self")
        assert got.content == body and got.headers["x-amz-meta-copy"] in "012345"


def test_swift_concurrent_writes_of_one_key_all_succeed(account: SwiftAccount) -> None:
    assert account.request("PUT", "/race").status_code in (201, 202)
    for size in RACE_SIZES:
        body = bytes(range(256)) * (size // 256)
        assert account.request("PUT", "/race/self", data=body).status_code == 201

        def write(i: int) -> requests.Response:
            meta = {"X-Object-Meta-Writer": str(i)}
            if i % 3 == 0:
                return account.request(
                    "COPY", "/race/self", headers={"Destination": "race/self", **meta}
                )
            if i % 3 == 1:
                return account.request(
                    "PUT", "/race/self", headers={"X-Copy-From": "race/self", **meta}
                )
            return account.request("POST", "/race/self", headers=meta)

        for _ in range(8):
            with ThreadPoolExecutor(6) as pool:
                replies = list(pool.map(write, range(6)))
            statuses = [r.status_code for r in replies]
            assert statuses == [201, 201, 202] * 2, [r.text for r in replies]
        got = account.request("GET", "/race/self")
        assert got.content == body and got.headers["X-Object-Meta-Writer"] in "012345"


def _upload_id(reply: requests.Response) -> str:
    root = ET.fromstring(reply.content)
    found = [e.text for e in root.iter() if e.tag.endswith("UploadId")]
    assert found and found[0], reply.text
    return str(found[0])
