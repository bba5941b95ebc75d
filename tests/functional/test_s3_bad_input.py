"""Bad input gets S3's own error code, in an S3 XML error document, and changes nothing."""

from __future__ import annotations

import base64
import hashlib
import http.client
import socket
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests
from botocore.exceptions import ClientError

from tests.functional.s3_support import (
    S3User,
    chunked_body,
    chunked_length,
    error_code,
    signed,
    unique,
)
from tests.harness import Server

STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"


@pytest.fixture
def user(server: Server, tmp_path: Path) -> S3User:
    u = S3User.create(server, unique("bad"), "env", "bea", tmp_path / "home")
    s3 = u.client()
    s3.create_bucket(Bucket="bkt")
    s3.put_object(Bucket="bkt", Key="keep", Body=b"original")
    return u


def _send(user: S3User, method: str, path: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("access_key", user.access_key)
    kwargs.setdefault("secret_key", user.secret_key)
    kwargs.setdefault("region", user.region)
    return signed(user.server, method, path, **kwargs)


def _md5(body: bytes) -> dict[str, str]:
    return {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()}


def _unchanged(user: S3User) -> None:
    s3 = user.client()
    assert s3.get_object(Bucket="bkt", Key="keep")["Body"].read() == b"original"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="bkt")["Contents"]] == ["keep"]


def _expect(reply: requests.Response, status: int, code: str) -> None:
    assert (reply.status_code, error_code(reply)) == (status, code), reply.text


def test_malformed_xml_delete_objects(user: S3User) -> None:
    for body in (
        b"<Delete><Object><Key>keep</Key></Object>",  # not closed
        b"<Delete><Object><Key>keep</Key></Object></Delete>trailing<",
        b"<NotDelete><Object><Key>keep</Key></Object></NotDelete>",
        b"\xff\xfe<Delete/>",
        b"",
    ):
        _expect(
            _send(user, "POST", "/bkt?delete", body=body, headers=_md5(body)), 400, "MalformedXML"
        )
    _unchanged(user)


def test_malformed_xml_complete_multipart_upload(user: S3User) -> None:
    s3 = user.client()
    uid = s3.create_multipart_upload(Bucket="bkt", Key="mp")["UploadId"]
    etag = s3.upload_part(Bucket="bkt", Key="mp", UploadId=uid, PartNumber=1, Body=b"x")["ETag"]
    for body in (
        f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag>",
        "<CompleteMultipartUpload><Part><PartNumber>one</PartNumber></Part>"
        "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload></CompleteMultipartUpload>",
    ):
        reply = _send(user, "POST", f"/bkt/mp?uploadId={uid}", body=body.encode())
        _expect(reply, 400, "MalformedXML")
    assert [
        p["PartNumber"] for p in s3.list_parts(Bucket="bkt", Key="mp", UploadId=uid)["Parts"]
    ] == [1]
    _unchanged(user)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<Delete><Object><Key>&lol9;</Key></Object></Delete>"""

EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Delete><Object><Key>&x;</Key></Object></Delete>"""

INTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY k "keep">]>
<Delete><Object><Key>&k;</Key></Object></Delete>"""


def test_xml_with_entities_or_a_dtd(user: S3User) -> None:
    for body in (BILLION_LAUGHS, EXTERNAL, INTERNAL):
        _expect(
            _send(user, "POST", "/bkt?delete", body=body, headers=_md5(body)), 400, "MalformedXML"
        )
    _unchanged(user)


def test_oversized_bodies(user: S3User, server: Server) -> None:
    keys = "".join(f"<Object><Key>k{i:07d}</Key></Object>" for i in range(40_000))
    body = f"<Delete>{keys}<Object><Key>keep</Key></Object></Delete>".encode()
    assert len(body) > 1024 * 1024
    reply = _send(user, "POST", "/bkt?delete", body=body, headers=_md5(body))
    _expect(reply, 400, "MaxMessageLengthExceeded")

    many = "".join(f"<Object><Key>k{i}</Key></Object>" for i in range(1001))
    body = f"<Delete>{many}<Object><Key>keep</Key></Object></Delete>".encode()
    _expect(_send(user, "POST", "/bkt?delete", body=body, headers=_md5(body)), 400, "MalformedXML")

    # A PutObject beyond the largest object is refused from its headers, body unsent.
    conn = http.client.HTTPConnection("127.0.0.1", server.object_port, timeout=10)
    headers = _signed_headers(user, "PUT", "/bkt/huge", {"Content-Length": str(6 * 1024**3)})
    conn.putrequest("PUT", "/bkt/huge", skip_accept_encoding=True, skip_host=True)
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.putheader("Expect", "100-continue")
    conn.endheaders()
    response = conn.getresponse()
    body = response.read()
    conn.close()
    assert response.status == 400 and b"<Code>EntityTooLarge</Code>" in body, body
    _unchanged(user)


def test_a_refused_upload_leaves_the_connection_usable(user: S3User) -> None:
    """A client that sent `Expect: 100-continue` and got a final status sends no body;
    the server must not read the client's next request as that body."""
    s3 = user.client()
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket="nobucket", Key="k", Body=b"x" * (2 * 1024 * 1024))
    assert refused.value.response["Error"]["Code"] == "NoSuchBucket"
    assert s3.get_object(Bucket="bkt", Key="keep")["Body"].read() == b"original"

    conn = http.client.HTTPConnection("127.0.0.1", user.server.object_port, timeout=10)
    headers = _signed_headers(user, "PUT", "/nobucket/k", {"Content-Length": "5"})
    conn.putrequest("PUT", "/nobucket/k", skip_accept_encoding=True, skip_host=True)
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.putheader("Expect", "100-continue")
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 404 and b"NoSuchBucket" in response.read()
    assert response.getheader("Connection") == "close"
    conn.close()
    _unchanged(user)


@pytest.mark.parametrize("size", [1_500_000, 20_000_000])
def test_early_errors_reach_a_client_still_sending_the_body(user: S3User, size: int) -> None:
    """A PUT refused from its headers (no such bucket, a bad signature), sent by a client
    that writes its whole body before reading (http.client, no 100-continue): the client
    gets the S3 error, not EPIPE or a reset. A body of a few MiB is read and dropped and
    the connection stays usable; a larger one gets the answer first, then
    `Connection: close` once the body has been read."""
    body = b"x" * size
    cases = [
        ("/nobucket/k", user.secret_key, 404, "NoSuchBucket"),
        ("/bkt/keep", "wrong-secret", 403, "SignatureDoesNotMatch"),
    ]
    for path, secret, status, code in cases:
        conn = http.client.HTTPConnection("127.0.0.1", user.server.object_port, timeout=30)
        headers = _signed_headers(user, "PUT", path, {"Content-Length": str(size)}, secret)
        conn.request("PUT", path, body=body, headers=headers)
        response = conn.getresponse()
        answer = response.read()
        assert response.status == status and f"<Code>{code}</Code>".encode() in answer, answer
        if size <= 4 * 1024 * 1024:
            assert response.getheader("Connection") != "close"
            conn.request("GET", "/bkt/keep", headers=_signed_headers(user, "GET", "/bkt/keep", {}))
            again = conn.getresponse()
            assert (again.status, again.read()) == (200, b"original")
        else:
            assert response.getheader("Connection") == "close"
        conn.close()
    _unchanged(user)


def _signed_headers(
    user: S3User, method: str, path: str, extra: dict[str, str], secret_key: str = ""
) -> dict[str, str]:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=user.server.object_url + path, headers=extra)
    request.headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
    credentials = Credentials(user.access_key, secret_key or user.secret_key)
    S3SigV4Auth(credentials, "s3", user.region).add_auth(request)
    out = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    out["Host"] = f"127.0.0.1:{user.server.object_port}"
    return out


def test_wrong_signature(user: S3User) -> None:
    reply = _send(user, "PUT", "/bkt/keep", body=b"changed", secret_key="wrong-secret")
    _expect(reply, 403, "SignatureDoesNotMatch")
    reply = _send(user, "PUT", "/bkt/new", body=b"new", secret_key=user.secret_key[:-1] + "x")
    _expect(reply, 403, "SignatureDoesNotMatch")
    # The body does not match the SHA-256 that was signed.
    reply = _send(
        user,
        "PUT",
        "/bkt/keep",
        body=b"changed",
        payload_hash=hashlib.sha256(b"something else").hexdigest(),
    )
    _expect(reply, 400, "XAmzContentSHA256Mismatch")
    _unchanged(user)


def test_signed_chunks_and_a_tampered_one(user: S3User) -> None:
    data = bytes(range(256)) * 1024  # 256 KiB: four 64 KiB chunks and the final one
    headers = {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(len(data)),
        "Content-Length": str(chunked_length(len(data))),
    }
    good = chunked_body(data, user.secret_key, user.region)
    reply = _send(
        user, "PUT", "/bkt/chunked", headers=headers, payload_hash=STREAMING, chunk_signer=good
    )
    assert reply.status_code == 200, reply.text
    s3 = user.client()
    got = s3.get_object(Bucket="bkt", Key="chunked")
    assert got["Body"].read() == data and "ContentEncoding" not in got

    def tampered(seed: str, amz_date: str) -> bytes:
        body = bytearray(good(seed, amz_date))
        at = body.index(b"chunk-signature=", 200) + len("chunk-signature=")
        body[at] = ord("0") if body[at] != ord("0") else ord("1")
        return bytes(body)

    for key in ("chunked", "other"):
        reply = _send(
            user,
            "PUT",
            f"/bkt/{key}",
            headers=headers,
            payload_hash=STREAMING,
            chunk_signer=tampered,
        )
        _expect(reply, 403, "SignatureDoesNotMatch")
    assert s3.get_object(Bucket="bkt", Key="chunked")["Body"].read() == data
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="bkt")["Contents"]]
    assert keys == ["chunked", "keep"]


def test_expired_presigned_url(user: S3User) -> None:
    import time

    s3 = user.client()
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "bkt", "Key": "keep"}, ExpiresIn=1
    )
    put = s3.generate_presigned_url(
        "put_object", Params={"Bucket": "bkt", "Key": "keep"}, ExpiresIn=1
    )
    time.sleep(2.1)
    _expect(requests.get(url, timeout=10), 403, "AccessDenied")
    _expect(requests.put(put, data=b"changed", timeout=10), 403, "AccessDenied")
    _unchanged(user)


def test_wrong_region(user: S3User) -> None:
    reply = _send(user, "PUT", "/bkt/keep", body=b"changed", region="us-west-9")
    _expect(reply, 400, "AuthorizationHeaderMalformed")
    assert "us-west-9" in reply.text and user.region in reply.text
    _unchanged(user)


def test_clock_skew(user: S3User, monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime

    import botocore.auth

    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=20)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: past.replace(tzinfo=None))
    _expect(_send(user, "PUT", "/bkt/keep", body=b"changed"), 403, "RequestTimeTooSkewed")
    monkeypatch.undo()
    _unchanged(user)


def test_unknown_access_key(user: S3User) -> None:
    reply = _send(user, "PUT", "/bkt/keep", body=b"changed", access_key="AKIANOSUCHKEY000000")
    _expect(reply, 403, "InvalidAccessKeyId")
    _unchanged(user)


def test_another_projects_bucket(user: S3User, server: Server, tmp_path: Path) -> None:
    other = S3User.create(server, unique("bad"), "env", "ola", tmp_path / "other")
    theirs = other.client()
    theirs.create_bucket(Bucket="theirs")
    theirs.put_object(Bucket="theirs", Key="secret", Body=b"theirs")
    target = f"/{other.project_id}:theirs"
    for method, path, body in (
        ("GET", target + "/secret", b""),
        ("GET", target, b""),
        ("PUT", target + "/secret", b"mine now"),
        ("DELETE", target + "/secret", b""),
        ("DELETE", target, b""),
        ("PUT", f"/{other.project_id}:newbucket", b""),
    ):
        _expect(_send(user, method, path, body=body), 403, "AccessDenied")
    # Their bucket's bare name means a bucket of the caller's own project.
    _expect(_send(user, "GET", "/theirs/secret"), 404, "NoSuchBucket")
    assert theirs.get_object(Bucket="theirs", Key="secret")["Body"].read() == b"theirs"
    assert "newbucket" not in [b["Name"] for b in theirs.list_buckets()["Buckets"]]
    _unchanged(user)


def test_unknown_subresource_and_method(user: S3User) -> None:
    for path in ("/bkt?tagging", "/bkt?lifecycle", "/bkt/keep?torrent", "/bkt?cors"):
        _expect(_send(user, "GET", path), 501, "NotImplemented")
    _expect(_send(user, "PUT", "/bkt?policy", body=b"{}"), 501, "NotImplemented")
    _expect(_send(user, "POST", "/bkt/keep", body=b""), 405, "MethodNotAllowed")
    _unchanged(user)


def test_read_only_member_cannot_write(user: S3User, server: Server, tmp_path: Path) -> None:
    org = user.org
    reader = S3User.create(server, org, "env", "rita", tmp_path / "reader", role="read-only")
    s3 = reader.client()
    assert s3.get_object(Bucket="bkt", Key="keep")["Body"].read() == b"original"
    for call in (
        lambda: s3.put_object(Bucket="bkt", Key="keep", Body=b"changed"),
        lambda: s3.delete_object(Bucket="bkt", Key="keep"),
        lambda: s3.delete_objects(Bucket="bkt", Delete={"Objects": [{"Key": "keep"}]}),
        lambda: s3.create_bucket(Bucket="readers"),
        lambda: s3.delete_bucket(Bucket="bkt"),
        lambda: s3.create_multipart_upload(Bucket="bkt", Key="keep"),
        lambda: s3.copy_object(Bucket="bkt", Key="copy", CopySource="bkt/keep"),
        lambda: s3.put_bucket_acl(Bucket="bkt", ACL="public-read"),
    ):
        with pytest.raises(ClientError) as denied:
            call()
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
    _unchanged(user)
    assert [b["Name"] for b in user.client().list_buckets()["Buckets"]] == ["bkt"]


# --- response-* overrides ------------------------------------------------------------


def test_anonymous_response_overrides_are_refused(user: S3User) -> None:
    """Only a signed request may choose the answer's headers: a public object must not be
    served as text/html (or as an attachment, or uncacheable) by whoever links to it."""
    s3 = user.client()
    s3.create_bucket(Bucket="pubr", ACL="public-read")
    s3.put_object(Bucket="pubr", Key="o", Body=b"<b>hi</b>", ContentType="text/plain")
    s3.put_object(Bucket="bkt", Key="open", Body=b"open", ACL="public-read")
    base = f"{user.server.object_url}/{user.project_id}:"
    for path in ("pubr/o", "bkt/open"):
        for query in (
            "response-content-type=text/html",
            "response-content-disposition=attachment",
            "response-cache-control=no-store",
            "response-expires=0",
            "response-content-language=xx",
            "response-content-encoding=gzip",
        ):
            reply = requests.get(f"{base}{path}?{query}", timeout=10)
            _expect(reply, 400, "InvalidRequest")
            assert "anonymous" in reply.text
            assert "text/html" not in reply.headers.get("Content-Type", "")
        head = requests.head(f"{base}{path}?response-content-type=text/html", timeout=10)
        assert head.status_code == 400
    plain = requests.get(base + "pubr/o", timeout=10)
    assert plain.status_code == 200 and plain.headers["Content-Type"] == "text/plain"
    # Signed requests keep them, presigned URLs included.
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "pubr", "Key": "o", "ResponseContentType": "text/csv"}
    )
    signed_reply = requests.get(url, timeout=10)
    assert signed_reply.status_code == 200
    assert signed_reply.headers["Content-Type"] == "text/csv"
    s3.delete_object(Bucket="bkt", Key="open")
    _unchanged(user)


# --- ACLs ------------------------------------------------------------------------------


def _public(user: S3User, path: str) -> bool:
    url = f"{user.server.object_url}/{user.project_id}:{path}"
    return requests.get(url, timeout=10).status_code == 200


ACL_BODY = (
    '<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    "<Owner><ID>{owner}</ID></Owner><AccessControlList>{grants}</AccessControlList>"
    "</AccessControlPolicy>"
)


def test_acl_requests_without_an_acl_or_with_a_bogus_one(user: S3User) -> None:
    s3 = user.client()
    s3.create_bucket(Bucket="pubacl", ACL="public-read")
    s3.put_object(Bucket="pubacl", Key="o", Body=b"o")
    s3.put_object(Bucket="bkt", Key="open", Body=b"open", ACL="public-read")
    assert _public(user, "pubacl/o") and _public(user, "bkt/open")
    for path in ("/pubacl?acl", "/bkt/open?acl"):
        # No body and no header: S3 asks for x-amz-acl; nothing becomes private.
        reply = _send(user, "PUT", path)
        _expect(reply, 400, "MissingSecurityHeader")
        assert "<MissingHeaderName>x-amz-acl</MissingHeaderName>" in reply.text
        _expect(_send(user, "PUT", path, body=b"  \n"), 400, "MissingSecurityHeader")
        _expect(_send(user, "PUT", path, headers={"x-amz-acl": "bogus"}), 400, "InvalidArgument")
        both = ACL_BODY.format(owner=user.project_id, grants="").encode()
        reply = _send(user, "PUT", path, body=both, headers={"x-amz-acl": "private"})
        _expect(reply, 400, "UnexpectedContent")
        for body in (b"<AccessControlPolicy>", ACL_BODY.format(owner="x", grants="<x/>").encode()):
            _expect(_send(user, "PUT", path, body=body), 400, "MalformedACLError")
        grants = (
            '<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:type="CanonicalUser"><ID>someone-else</ID></Grantee>'
            "<Permission>READ</Permission></Grant>"
        )
        reply = _send(
            user, "PUT", path, body=ACL_BODY.format(owner=user.project_id, grants=grants).encode()
        )
        _expect(reply, 501, "NotImplemented")
    assert _public(user, "pubacl/o") and _public(user, "bkt/open")
    grants = s3.get_bucket_acl(Bucket="pubacl")["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("AllUsers") for g in grants)

    # The same canned ACL check on every request that carries one.
    bogus = {"x-amz-acl": "bogus"}
    _expect(_send(user, "PUT", "/newacl", headers=bogus), 400, "InvalidArgument")
    _expect(_send(user, "PUT", "/bkt/keep", body=b"changed", headers=bogus), 400, "InvalidArgument")
    _expect(
        _send(user, "PUT", "/bkt/copy", headers={**bogus, "x-amz-copy-source": "/bkt/keep"}),
        400,
        "InvalidArgument",
    )
    _expect(_send(user, "POST", "/bkt/mp?uploads", headers=bogus), 400, "InvalidArgument")
    both = {"x-amz-acl": "private", "x-amz-grant-read": f'id="{user.project_id}"'}
    _expect(_send(user, "PUT", "/pubacl?acl", headers=both), 400, "InvalidRequest")
    assert "newacl" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "Uploads" not in s3.list_multipart_uploads(Bucket="bkt")
    s3.delete_object(Bucket="bkt", Key="open")
    _unchanged(user)

    # A policy document does what the canned ACLs do; the owner's own grant is kept.
    private = ACL_BODY.format(
        owner=user.project_id,
        grants='<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:type="CanonicalUser"><ID>{user.project_id}</ID></Grantee>'
        "<Permission>FULL_CONTROL</Permission></Grant>",
    )
    assert _send(user, "PUT", "/pubacl?acl", body=private.encode()).status_code == 200
    assert not _public(user, "pubacl/o")
    owner_only = ACL_BODY.format(owner="someone-else", grants="")
    _expect(_send(user, "PUT", "/pubacl?acl", body=owner_only.encode()), 403, "AccessDenied")
    s3.put_bucket_acl(Bucket="pubacl", ACL="bucket-owner-full-control")
    assert not _public(user, "pubacl/o")


# --- XML documents ---------------------------------------------------------------------


NESTED = b"<a>" * 50_000 + b"</a>" * 50_000


def test_xml_documents_are_checked_against_their_shape(user: S3User) -> None:
    s3 = user.client()
    for body in (
        b"<CreateBucketConfiguration>" + NESTED + b"</CreateBucketConfiguration>",
        b"<CreateBucketConfiguration><Unknown>x</Unknown></CreateBucketConfiguration>",
        b"<CreateBucketConfiguration><LocationConstraint><a/></LocationConstraint>"
        b"</CreateBucketConfiguration>",
    ):
        _expect(_send(user, "PUT", "/shaped", body=body), 400, "MalformedXML")
    constraint = b"<CreateBucketConfiguration><LocationConstraint>%s</LocationConstraint>"
    constraint += b"</CreateBucketConfiguration>"
    reply = _send(user, "PUT", "/shaped", body=constraint % b"eu-west-9")
    _expect(reply, 400, "IllegalLocationConstraintException")
    assert "eu-west-9" in reply.text
    assert "shaped" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert _send(user, "PUT", "/shaped", body=constraint % user.region.encode()).status_code == 200
    s3.delete_bucket(Bucket="shaped")

    for body in (
        b"<Delete>" + NESTED + b"</Delete>",
        b"<Delete><Object><Key>keep</Key><Colour>red</Colour></Object></Delete>",
        b"<Delete><Object><Key>keep</Key></Object><Object><Key>keep</Key>"
        b"<Key>keep</Key></Object></Delete>",
        b"<Delete><Object><Key>keep</Key></Object><Quiet>perhaps</Quiet></Delete>",
    ):
        _expect(
            _send(user, "POST", "/bkt?delete", body=body, headers=_md5(body)), 400, "MalformedXML"
        )
    uid = s3.create_multipart_upload(Bucket="bkt", Key="mp")["UploadId"]
    etag = s3.upload_part(Bucket="bkt", Key="mp", UploadId=uid, PartNumber=1, Body=b"x")["ETag"]
    for body in (
        b"<CompleteMultipartUpload>" + NESTED + b"</CompleteMultipartUpload>",
        f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag>"
        "<Size>1</Size></Part></CompleteMultipartUpload>".encode(),
    ):
        _expect(_send(user, "POST", f"/bkt/mp?uploadId={uid}", body=body), 400, "MalformedXML")
    s3.abort_multipart_upload(Bucket="bkt", Key="mp", UploadId=uid)
    _expect(
        _send(
            user,
            "PUT",
            "/bkt?acl",
            body=b"<AccessControlPolicy>" + NESTED + b"</AccessControlPolicy>",
        ),
        400,
        "MalformedACLError",
    )
    _unchanged(user)


# --- version ids -----------------------------------------------------------------------


def test_unknown_version_ids(user: S3User) -> None:
    for method in ("GET", "DELETE"):
        reply = _send(user, method, "/bkt/keep?versionId=3HL4kqtJlcpXroDTDmJ")
        _expect(reply, 404, "NoSuchVersion")
        assert "<VersionId>3HL4kqtJlcpXroDTDmJ</VersionId>" in reply.text
    assert _send(user, "HEAD", "/bkt/keep?versionId=other").status_code == 404
    _expect(_send(user, "GET", "/bkt/keep?versionId="), 400, "InvalidArgument")
    _expect(_send(user, "GET", "/bkt/keep?acl&versionId=other"), 404, "NoSuchVersion")
    _expect(_send(user, "GET", "/nobucket/keep?versionId=other"), 404, "NoSuchBucket")
    source = {"x-amz-copy-source": "/bkt/keep?versionId=other"}
    _expect(_send(user, "PUT", "/bkt/copy", headers=source), 404, "NoSuchVersion")
    body = b"<Delete><Object><Key>keep</Key><VersionId>other</VersionId></Object></Delete>"
    reply = _send(user, "POST", "/bkt?delete", body=body, headers=_md5(body))
    assert reply.status_code == 200 and "<Code>NoSuchVersion</Code>" in reply.text
    for query in ("version-id-marker=null", "key-marker=a&version-id-marker=other"):
        _expect(_send(user, "GET", f"/bkt?versions&{query}"), 400, "InvalidArgument")
    _unchanged(user)


# --- signing regions ---------------------------------------------------------------------


def test_us_east_1_signatures_are_accepted(user: S3User) -> None:
    """What clients sign for when given no region, whatever the server's region is: the
    Authorization header, presigned URLs and signed aws-chunked bodies."""
    assert user.region != "us-east-1"
    reply = _send(user, "PUT", "/bkt/east", body=b"east", region="us-east-1")
    assert reply.status_code == 200, reply.text
    data = bytes(range(256)) * 512
    headers = {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(len(data)),
        "Content-Length": str(chunked_length(len(data))),
    }
    reply = _send(
        user,
        "PUT",
        "/bkt/east-chunked",
        headers=headers,
        payload_hash=STREAMING,
        region="us-east-1",
        chunk_signer=chunked_body(data, user.secret_key, "us-east-1"),
    )
    assert reply.status_code == 200, reply.text
    # Chunks signed for another region than the header's are refused.
    reply = _send(
        user,
        "PUT",
        "/bkt/east-chunked",
        headers=headers,
        payload_hash=STREAMING,
        region="us-east-1",
        chunk_signer=chunked_body(b"x" * len(data), user.secret_key, user.region),
    )
    _expect(reply, 403, "SignatureDoesNotMatch")

    import boto3
    from botocore.config import Config

    east = boto3.client(
        "s3",
        endpoint_url=user.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=user.access_key,
        aws_secret_access_key=user.secret_key,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    assert east.get_object(Bucket="bkt", Key="east")["Body"].read() == b"east"
    assert east.get_object(Bucket="bkt", Key="east-chunked")["Body"].read() == data
    url = east.generate_presigned_url("get_object", Params={"Bucket": "bkt", "Key": "east"})
    assert "us-east-1" in url and requests.get(url, timeout=10).content == b"east"
    east.delete_object(Bucket="bkt", Key="east")
    east.delete_object(Bucket="bkt", Key="east-chunked")
    reply = _send(user, "GET", "/bkt/keep", region="eu-west-3")
    _expect(reply, 400, "AuthorizationHeaderMalformed")
    assert f"<Region>{user.region}</Region>" in reply.text
    _unchanged(user)


# CR, LF, VT and NUL: what would split a header, or what no server may send in one
# (encoded as SigV4's canonical query encodes them, so the signature holds).
CONTROLS = ("%0D%0ASet-Cookie%3A%20x%3D1", "%0AX-Injected%3A%201", "%0B", "%00")
OVERRIDES = (
    "response-content-type",
    "response-content-language",
    "response-expires",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
)


def _invalid_argument(reply: requests.Response, name: str) -> None:
    _expect(reply, 400, "InvalidArgument")
    assert ET.fromstring(reply.content).findtext("ArgumentName") == name
    assert "set-cookie" not in reply.headers and "x-injected" not in reply.headers


def test_response_override_with_control_characters(user: S3User) -> None:
    for param in OVERRIDES:
        for bad in CONTROLS:
            for method in ("GET", "HEAD"):
                reply = _send(user, method, f"/bkt/keep?{param}=text%2Fhtml{bad}")
                if method == "HEAD":  # no body: the status says it
                    assert reply.status_code == 400, (param, bad)
                else:
                    _invalid_argument(reply, param)
    # A tab is allowed in a header value, and is sent back as given.
    reply = _send(user, "GET", "/bkt/keep?response-content-disposition=inline%3B%09x%3D1")
    assert reply.status_code == 200
    assert reply.headers["Content-Disposition"] == "inline;\tx=1"
    _unchanged(user)


def test_stored_header_with_control_characters_gets_an_answer(user: S3User, server: Server) -> None:
    """A value stored before values were checked on the way in still gets S3's error,
    not a dropped connection."""
    user.client().put_object(Bucket="bkt", Key="old", Body=b"x", Metadata={"note": "fine"})
    with sqlite3.connect(server.data_dir / "metadata.sqlite3") as db:
        db.execute(
            "UPDATE objects SET content_type = ? WHERE name = 'old'", ("a\r\nX-Injected: 1",)
        )
    reply = _send(user, "GET", "/bkt/old")
    _invalid_argument(reply, "Content-Type")
    assert _send(user, "HEAD", "/bkt/old").status_code == 400
    # Overriding the bad value answers again.
    assert _send(user, "GET", "/bkt/old?response-content-type=text%2Fplain").content == b"x"


def _raw(user: S3User, request: bytes) -> bytes:
    """One request on a fresh connection, and all the server sent back."""
    host, port = urlsplit(user.server.object_url).hostname, urlsplit(user.server.object_url).port
    with socket.create_connection((host or "127.0.0.1", port or 80), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_metadata_header_with_control_characters(user: S3User) -> None:
    """A header value holding VT or NUL (or a bare CR) never reaches a handler: the
    HTTP parser answers 400 and closes; nothing is stored."""
    for bad in (b"\x0b", b"\x00", b"\r"):
        for name in (b"x-amz-meta-note", b"Content-Disposition", b"Cache-Control"):
            answer = _raw(
                user,
                b"PUT /bkt/keep HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                + name
                + b": a"
                + bad
                + b"b\r\n\r\nz",
            )
            assert answer.startswith(b"HTTP/1.1 400 "), answer
    _unchanged(user)
    assert user.client().head_object(Bucket="bkt", Key="keep")["Metadata"] == {}


# Digits `str.isdigit` takes but an HTTP number is never written in: "²" made int() fail
# (a 500), "١" and "１" were read as 1.
UNICODE_DIGITS = ("\u00b2", "\u0661", "\uff11")


def test_numbers_in_unicode_digits_are_invalid_arguments(user: S3User) -> None:
    upload = user.client().create_multipart_upload(Bucket="bkt", Key="mp")["UploadId"]
    for digit in UNICODE_DIGITS:
        d = quote(digit, safe="")
        for path in (
            f"/bkt?max-keys={d}",
            f"/bkt?list-type=2&max-keys={d}",
            f"/bkt?versions&max-keys={d}",
            f"/bkt?uploads&max-uploads={d}",
            f"/bkt/keep?partNumber={d}",
            f"/bkt/mp?uploadId={upload}&part-number-marker={d}",
            f"/bkt/mp?uploadId={upload}&max-parts={d}",
        ):
            _expect(_send(user, "GET", path), 400, "InvalidArgument")
        reply = _send(user, "PUT", f"/bkt/mp?partNumber={d}&uploadId={upload}", body=b"x")
        _expect(reply, 400, "InvalidArgument")
    # A Range in such digits is not a valid Range: ignored, as RFC 9110 says.
    assert _send(user, "GET", "/bkt/keep", headers={"Range": "bytes=\u00b2-"}).content == (
        b"original"
    )
    # A part-number-marker past any part number lists nothing (it overflowed SQLite).
    reply = _send(user, "GET", f"/bkt/mp?uploadId={upload}&part-number-marker={'9' * 25}")
    assert reply.status_code == 200 and b"<Part>" not in reply.content
    _unchanged(user)


def test_header_values_that_are_not_utf8(user: S3User) -> None:
    """A byte that is not UTF-8 in a value S3 stores is refused with InvalidArgument (it
    was a 500: the value could be neither stored nor encoded back)."""
    for bad in ("\xff", "\xb2"):
        for name in ("x-amz-meta-note", "Content-Type", "Content-Disposition", "Cache-Control"):
            reply = _send(user, "PUT", "/bkt/keep", body=b"new", headers={name: f"a{bad}"})
            _invalid_argument(reply, name.lower())
        copy = {"x-amz-copy-source": "/bkt/keep", "x-amz-metadata-directive": "REPLACE"}
        reply = _send(user, "PUT", "/bkt/copy", headers={**copy, "x-amz-meta-note": bad})
        _invalid_argument(reply, "x-amz-meta-note")
        reply = _send(user, "POST", "/bkt/mp?uploads", headers={"x-amz-meta-note": bad})
        _invalid_argument(reply, "x-amz-meta-note")
    _unchanged(user)
    # UTF-8 itself is fine.
    assert (
        _send(
            user,
            "PUT",
            "/bkt/utf8",
            body=b"x",
            headers={"x-amz-meta-note": "é".encode().decode("latin-1")},
        ).status_code
        == 200
    )


def test_upload_part_copy_range_must_lie_inside_the_source(user: S3User) -> None:
    """x-amz-copy-source-range is exactly bytes=first-last inside the source: AWS answers
    InvalidArgument "Range specified is not valid for source object of size: N" where a
    GET's Range would be clamped (it was copied clamped: a part of another length)."""
    upload = user.client().create_multipart_upload(Bucket="bkt", Key="mp")["UploadId"]
    path = f"/bkt/mp?partNumber=1&uploadId={upload}"
    for given, says in (
        ("bytes=0-8", "Range specified is not valid for source object of size: 8"),
        ("bytes=8-9", "Range specified is not valid for source object of size: 8"),
        ("bytes=0-", "must be of the form bytes=first-last"),
        ("bytes=-2", "must be of the form bytes=first-last"),
        ("bytes=3-1", "must be of the form bytes=first-last"),
        ("bytes=0-1,3-4", "must be of the form bytes=first-last"),
        ("bytes=\u00b2-3", "must be of the form bytes=first-last"),
    ):
        headers = {"x-amz-copy-source": "/bkt/keep", "x-amz-copy-source-range": given}
        reply = _send(user, "PUT", path, headers=headers)
        _expect(reply, 400, "InvalidArgument")
        assert says in (ET.fromstring(reply.content).findtext("Message") or ""), reply.text
    headers = {"x-amz-copy-source": "/bkt/keep", "x-amz-copy-source-range": "bytes=2-7"}
    assert _send(user, "PUT", path, headers=headers).status_code == 200
    parts = user.client().list_parts(Bucket="bkt", Key="mp", UploadId=upload)["Parts"]
    assert [p["Size"] for p in parts] == [6]
    _unchanged(user)
