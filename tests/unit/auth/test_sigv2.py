from __future__ import annotations

import base64
import hashlib
import hmac
import time
from email.utils import formatdate

import pytest

from cumulo.auth import errors, parse_request, sigv2
from tests.unit.auth.wire import ACCESS_KEY, KEYS, SECRET_KEY, Capture, Wire


def check(
    wire: Wire, secret: str = SECRET_KEY, now: float | None = None, bucket: str | None = None
) -> sigv2.Verified:
    cred = sigv2.parse(*wire.args())
    assert cred is not None
    return sigv2.verify(
        cred, secret, *wire.args(), time.time() if now is None else now, bucket=bucket
    )


def bucket_of(wire: Wire) -> str | None:
    host = wire.headers["host"]
    return host.split(".")[0] if host.startswith("bucket.") else None


# The s3 (SigV2) signer of botocore is HmacV1Auth, and HmacV1QueryAuth presigns.
@pytest.mark.parametrize("addressing_style", ["path", "virtual"])
@pytest.mark.parametrize("key", KEYS)
def test_botocore_header_auth(key: str, addressing_style: str) -> None:
    capture = Capture(signature_version="s3", addressing_style=addressing_style)
    for wire in [
        capture.call(
            "get_object",
            Bucket="bucket",
            Key=key,
            VersionId="v+1 =",
            ResponseContentType="text/x ü",
            Range="bytes=1-2",
        ),
        capture.call(
            "put_object",
            Bucket="bucket",
            Key=key,
            Body=b"abc",
            ContentType="text/plain",
            Metadata={"m": "  v  "},
            ACL="private",
            ContentMD5="kAFQmDzST7DWlj99KOF/cg==",
        ),
        capture.call("put_object_acl", Bucket="bucket", Key=key, ACL="private"),
        capture.call(
            "upload_part", Bucket="bucket", Key=key, UploadId="u+p/id", PartNumber=2, Body=b"x"
        ),
        capture.call("list_objects", Bucket="bucket", Prefix="a b"),
        capture.call("get_bucket_versioning", Bucket="bucket"),
        capture.call("list_object_versions", Bucket="bucket"),
        capture.call("delete_objects", Bucket="bucket", Delete={"Objects": [{"Key": "a"}]}),
    ]:
        assert wire.headers["authorization"].startswith("AWS ")
        verified = check(wire, bucket=bucket_of(wire))
        assert verified.access_key == ACCESS_KEY and not verified.presigned
        assert isinstance(parse_request(*wire.args()), sigv2.Credential)
        with pytest.raises(errors.SignatureDoesNotMatch) as info:
            check(wire, secret="wrong", bucket=bucket_of(wire))
        assert info.value.extra["StringToSign"].startswith(wire.method + "\n")


@pytest.mark.parametrize("addressing_style", ["path", "virtual"])
@pytest.mark.parametrize("key", KEYS)
def test_botocore_presigned(key: str, addressing_style: str) -> None:
    capture = Capture(signature_version="s3", addressing_style=addressing_style)
    wire = capture.presign(
        "get_object", expires=120, Bucket="bucket", Key=key, ResponseContentDisposition="attachment"
    )
    verified = check(wire, bucket=bucket_of(wire))
    assert verified.presigned
    with pytest.raises(errors.AccessDenied, match="expired") as info:
        check(wire, now=time.time() + 300, bucket=bucket_of(wire))
    assert set(info.value.extra) == {"Expires", "ServerTime"}
    wire.query.append(("versionId", "3"))
    with pytest.raises(errors.SignatureDoesNotMatch):
        check(wire, bucket=bucket_of(wire))


def test_tampering(capture_v2: Capture) -> None:
    wire = capture_v2.call("get_object", Bucket="bucket", Key="k")
    check(wire)
    for change in [
        lambda w: setattr(w, "raw_path", "/bucket/other"),
        lambda w: setattr(w, "method", "DELETE"),
        lambda w: w.query.append(("acl", "")),
        lambda w: w.headers.update({"x-amz-meta-x": "1"}),
        lambda w: w.headers.update({"content-type": "text/evil"}),
    ]:
        tampered = Wire(wire.method, wire.raw_path, list(wire.query), dict(wire.headers))
        change(tampered)
        with pytest.raises(errors.SignatureDoesNotMatch):
            check(tampered)
    # Query parameters that are not sub-resources are not signed in SigV2.
    wire.query.append(("x-id", "GetObject"))
    check(wire)


@pytest.fixture
def capture_v2() -> Capture:
    return Capture(signature_version="s3")


def test_clock_skew(capture_v2: Capture) -> None:
    wire = capture_v2.call("get_object", Bucket="bucket", Key="k")
    check(wire, now=time.time() + 800)
    with pytest.raises(errors.RequestTimeTooSkewed) as info:
        check(wire, now=time.time() + 1000)
    assert info.value.extra["RequestTime"] == wire.headers["date"]
    del wire.headers["date"]
    with pytest.raises(errors.AccessDenied, match="valid Date"):
        check(wire)


def test_x_amz_date_replaces_date_as_s3cmd_sends_it() -> None:
    now = time.time()
    date = formatdate(now, usegmt=True)
    to_sign = f"GET\n\n\n\nx-amz-date:{date}\n/bucket/k?acl"
    signature = base64.b64encode(hmac.new(b"s", to_sign.encode(), hashlib.sha1).digest()).decode()
    headers = {"authorization": f"AWS ak:{signature}", "x-amz-date": date, "host": "h"}
    cred = sigv2.parse("GET", "/bucket/k", [("acl", "")], headers)
    assert cred is not None
    sigv2.verify(cred, "s", "GET", "/bucket/k", [("acl", "")], headers, now)


def test_canonical_resource() -> None:
    query = [
        ("versionId", "2"),
        ("acl", ""),
        ("prefix", "x"),
        ("uploadId", "a b"),
        ("response-content-type", "t/x"),
    ]
    assert sigv2.canonical_resource("/b/k", query) == (
        "/b/k?acl&response-content-type=t/x&uploadId=a b&versionId=2"
    )
    assert sigv2.canonical_resource("/b/k", [("prefix", "x")]) == "/b/k"


@pytest.mark.parametrize(
    ("headers", "query", "error"),
    [
        ({"authorization": "AWS nocolon"}, [], errors.InvalidArgument),
        ({"authorization": "AWS ak:sig"}, [("Signature", "x")], errors.InvalidArgument),
        ({}, [("AWSAccessKeyId", "ak"), ("Signature", "s")], errors.AccessDenied),
        (
            {},
            [("AWSAccessKeyId", "ak"), ("Signature", "s"), ("Expires", "soon")],
            errors.AccessDenied,
        ),
    ],
)
def test_malformed(
    headers: dict[str, str], query: list[tuple[str, str]], error: type[errors.AuthError]
) -> None:
    with pytest.raises(error):
        sigv2.parse("GET", "/", query, headers)


def test_anonymous() -> None:
    assert sigv2.parse("GET", "/", [("prefix", "p")], {"host": "h"}) is None
