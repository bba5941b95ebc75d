from __future__ import annotations

import calendar
import hashlib
import time
from datetime import UTC, datetime

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from cumulo.auth import errors, parse_request, sigv4
from tests.unit.auth.wire import (
    ACCESS_KEY,
    DOC_KEY,
    DOC_NOW,
    DOC_SECRET,
    KEYS,
    SECRET_KEY,
    Capture,
    Wire,
    verify_v4,
)

EMPTY = sigv4.EMPTY_SHA256
check = verify_v4


def doc_authorization(signed: str, signature: str) -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential={DOC_KEY}/20130524/us-east-1/s3/aws4_request,"
        f"SignedHeaders={signed},Signature={signature}"
    )


DOC_VECTORS = [
    pytest.param(
        "GET",
        "https://examplebucket.s3.amazonaws.com/test.txt",
        {"range": "bytes=0-9", "x-amz-content-sha256": EMPTY},
        "host;range;x-amz-content-sha256;x-amz-date",
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
        id="get-object",
    ),
    pytest.param(
        "PUT",
        "https://examplebucket.s3.amazonaws.com/test$file.text",
        {
            "date": "Fri, 24 May 2013 00:00:00 GMT",
            "x-amz-storage-class": "REDUCED_REDUNDANCY",
            "x-amz-content-sha256": hashlib.sha256(b"Welcome to Amazon S3.").hexdigest(),
        },
        "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
        "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
        id="put-object-dollar-in-key",
    ),
    pytest.param(
        "GET",
        "https://examplebucket.s3.amazonaws.com/?lifecycle",
        {"x-amz-content-sha256": EMPTY},
        "host;x-amz-content-sha256;x-amz-date",
        "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
        id="get-bucket-lifecycle",
    ),
    pytest.param(
        "GET",
        "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J",
        {"x-amz-content-sha256": EMPTY},
        "host;x-amz-content-sha256;x-amz-date",
        "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
        id="list-objects",
    ),
]


@pytest.mark.parametrize(("method", "url", "headers", "signed", "signature"), DOC_VECTORS)
def test_aws_documentation_examples(
    method: str, url: str, headers: dict[str, str], signed: str, signature: str
) -> None:
    headers = {
        **headers,
        "x-amz-date": "20130524T000000Z",
        "authorization": doc_authorization(signed, signature),
    }
    wire = Wire.from_url(method, url, headers)
    verified = check(wire, DOC_SECRET, DOC_NOW)
    assert verified.access_key == DOC_KEY
    assert verified.seed_signature == signature
    assert verified.scope == "20130524/us-east-1/s3/aws4_request"

    tampered = doc_authorization(signed, signature[:-1] + ("0" if signature[-1] != "0" else "1"))
    wire.headers["authorization"] = tampered
    with pytest.raises(errors.SignatureDoesNotMatch) as info:
        check(wire, DOC_SECRET, DOC_NOW)
    assert info.value.extra["CanonicalRequest"].startswith(f"{method}\n/")
    assert info.value.extra["StringToSign"].startswith("AWS4-HMAC-SHA256\n20130524T000000Z\n")


def test_aws_documentation_presigned_url() -> None:
    url = (
        "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    )
    wire = Wire.from_url("GET", url)
    verified = check(wire, DOC_SECRET, DOC_NOW + 86400)  # valid up to its last second
    assert verified.presigned and verified.payload_hash == sigv4.UNSIGNED_PAYLOAD
    with pytest.raises(errors.AccessDenied, match="Request has expired") as info:
        check(wire, DOC_SECRET, DOC_NOW + 86401)
    assert info.value.extra == {
        "X-Amz-Expires": "86400",
        "Expires": "2013-05-25T00:00:00Z",
        "ServerTime": "2013-05-25T00:00:01Z",
    }
    with pytest.raises(errors.AccessDenied, match="not valid yet"):
        check(wire, DOC_SECRET, DOC_NOW - 3600)


# --- requests signed by botocore ------------------------------------------------


@pytest.mark.parametrize("addressing_style", ["path", "virtual"])
@pytest.mark.parametrize("scheme", ["https", "http"])
@pytest.mark.parametrize("key", KEYS)
def test_botocore_object_requests(key: str, scheme: str, addressing_style: str) -> None:
    capture = Capture(scheme=scheme, addressing_style=addressing_style)
    requests = [
        capture.call(
            "get_object",
            Bucket="bucket",
            Key=key,
            Range="bytes=0-9",
            VersionId="v+1/=",
            IfNoneMatch='"etag"',
        ),
        capture.call(
            "put_object",
            Bucket="bucket",
            Key=key,
            Body=b"data" * 10,
            Metadata={"spaced": "x   y  z", "unicode": "ok"},
            ContentType="text/plain",
        ),
        capture.call(
            "upload_part",
            Bucket="bucket",
            Key=key,
            UploadId="up/load+id==",
            PartNumber=3,
            Body=b"part",
        ),
        capture.call("delete_object", Bucket="bucket", Key=key),
        capture.call(
            "put_object_tagging",
            Bucket="bucket",
            Key=key,
            Tagging={"TagSet": [{"Key": "k", "Value": "v"}]},
        ),
    ]
    for wire in requests:
        verified = check(wire)
        assert verified.access_key == ACCESS_KEY
        if scheme == "http" and wire.method == "PUT":
            assert verified.payload_checker() is not None
        with pytest.raises(errors.SignatureDoesNotMatch):
            check(wire, secret="not-the-secret")


@pytest.mark.parametrize("addressing_style", ["path", "virtual"])
def test_botocore_bucket_requests_with_query_strings(addressing_style: str) -> None:
    capture = Capture(addressing_style=addressing_style)
    for wire in [
        capture.call(
            "list_objects_v2",
            Bucket="bucket",
            Prefix="a b/ü+~%",
            Delimiter="/",
            StartAfter="x=y&z",
            MaxKeys=7,
        ),
        capture.call("list_object_versions", Bucket="bucket", KeyMarker="k m", Prefix="p"),
        capture.call("list_multipart_uploads", Bucket="bucket"),
        capture.call("get_bucket_location", Bucket="bucket"),
        capture.call(
            "delete_objects", Bucket="bucket", Delete={"Objects": [{"Key": "a"}, {"Key": "b c"}]}
        ),
        capture.call("list_buckets"),
    ]:
        check(wire)


def test_botocore_streaming_put_is_unsigned_trailer_mode() -> None:
    wire = Capture(scheme="https").call("put_object", Bucket="bucket", Key="k", Body=b"x" * 100)
    verified = check(wire)
    assert verified.payload_hash == sigv4.STREAMING_UNSIGNED_PAYLOAD_TRAILER
    assert verified.streaming and verified.payload_checker() is None


def test_botocore_unsigned_payload() -> None:
    capture = Capture(scheme="https", payload_signing_enabled=False)
    wire = capture.call(
        "put_object", Bucket="bucket", Key="k", Body=b"abc", ContentMD5="kAFQmDzST7DWlj99KOF/cg=="
    )
    assert check(wire).payload_hash in (
        sigv4.UNSIGNED_PAYLOAD,
        sigv4.STREAMING_UNSIGNED_PAYLOAD_TRAILER,
    )


@pytest.mark.parametrize("addressing_style", ["path", "virtual"])
@pytest.mark.parametrize("key", KEYS)
def test_botocore_presigned_urls(key: str, addressing_style: str) -> None:
    capture = Capture(addressing_style=addressing_style)
    for wire in [
        capture.presign(
            "get_object",
            Bucket="bucket",
            Key=key,
            VersionId="v 1",
            ResponseContentDisposition='attachment; filename="ü x.txt"',
        ),
        capture.presign("put_object", expires=60, Bucket="bucket", Key=key),
    ]:
        verified = check(wire)
        assert verified.presigned
        with pytest.raises(errors.AccessDenied, match="expired"):
            check(wire, now=time.time() + 3601)
        # Query parameters are signed too.
        tampered = Wire(
            wire.method, wire.raw_path, [*wire.query, ("versionId", "other")], wire.headers
        )
        with pytest.raises(errors.SignatureDoesNotMatch):
            check(tampered)


def test_multi_value_and_whitespace_headers() -> None:
    request = AWSRequest(method="PUT", url="https://s3.example.test/bucket/k", data=b"")
    request.headers["x-amz-meta-multi"] = "first"
    request.headers["x-amz-meta-multi"] = "second  value"
    request.headers["x-amz-meta-spaces"] = "  lots   of\tspace  "
    S3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "eu-west-3").add_auth(request)
    wire = Wire.from_url("PUT", request.url, [(k, v) for k, v in request.headers.items()])
    assert wire.headers["x-amz-meta-multi"] == "first,second  value"
    check(wire, region="eu-west-3")


# --- refusals -----------------------------------------------------------------


@pytest.fixture
def signed() -> Wire:
    return Capture().call("get_object", Bucket="bucket", Key="some/key")


def _other_second(amz_date: str) -> str:
    """The same X-Amz-Date one second digit away (never the same value)."""
    digit = "8" if amz_date[-2] == "9" else "9"
    return amz_date[:-2] + digit + "Z"


def test_tampering_breaks_the_signature(signed: Wire) -> None:
    for change in [
        lambda w: setattr(w, "raw_path", w.raw_path + "x"),
        lambda w: setattr(w, "method", "DELETE"),
        lambda w: w.query.append(("versionId", "1")),
        lambda w: w.headers.update(host="other.example.test"),
        lambda w: w.headers.update({"x-amz-date": _other_second(w.headers["x-amz-date"])}),
    ]:
        wire = Wire(signed.method, signed.raw_path, list(signed.query), dict(signed.headers))
        change(wire)
        with pytest.raises(errors.SignatureDoesNotMatch):
            check(wire)


def test_encoded_slash_is_a_different_path() -> None:
    wire = Capture().call("get_object", Bucket="bucket", Key="a/b")
    check(wire)
    wire.raw_path = wire.raw_path.replace("a/b", "a%2Fb")
    # Both spell the same key, as the AWS documentation's canonical form says.
    check(wire)
    wire.raw_path = wire.raw_path.replace("a%2Fb", "a%2Fc")
    with pytest.raises(errors.SignatureDoesNotMatch):
        check(wire)


def test_wrong_region() -> None:
    signed = Capture(region="eu-west-3").call("get_object", Bucket="bucket", Key="some/key")
    with pytest.raises(errors.AuthorizationHeaderMalformed) as info:
        check(signed, region="eu-central-1")
    assert "the region 'eu-west-3' is wrong; expecting 'eu-central-1'" in info.value.message
    assert info.value.extra == {"Region": "eu-central-1"}
    assert info.value.status == 400


def test_wrong_region_presigned() -> None:
    wire = Capture(region="eu-west-3").presign("get_object", Bucket="bucket", Key="k")
    with pytest.raises(errors.AuthorizationQueryParametersError) as info:
        check(wire, region="eu-central-1")
    assert info.value.extra == {"Region": "eu-central-1"}


def test_us_east_1_is_accepted_beside_the_servers_region(signed: Wire) -> None:
    """Clients given no region sign for us-east-1: accepted whatever the server's region,
    and the signing key (which chunk and trailer signatures chain from) is the scope's."""
    verified = check(signed, region="eu-central-1")
    assert "/us-east-1/s3/aws4_request" in verified.scope
    day = signed.headers["x-amz-date"][:8]
    assert verified.signing_key == sigv4.derive_signing_key(SECRET_KEY, day, "us-east-1", "s3")
    presigned = Capture().presign("put_object", Bucket="bucket", Key="k")
    assert check(presigned, region="eu-central-1").scope.endswith("/us-east-1/s3/aws4_request")
    own = Capture(region="eu-central-1").call("get_object", Bucket="bucket", Key="k")
    assert check(own, region="eu-central-1").scope.endswith("/eu-central-1/s3/aws4_request")
    cred = sigv4.parse(*signed.args())
    assert cred is not None
    with pytest.raises(errors.AuthorizationHeaderMalformed):
        sigv4.verify(cred, SECRET_KEY, *signed.args(), time.time(), "eu-central-1",
                     accept_global=False)  # fmt: skip


@pytest.mark.parametrize("offset", [901, -901, 86400])
def test_clock_skew(signed: Wire, offset: int) -> None:
    # Skew is measured from the signed x-amz-date (whole seconds), not from when the
    # test happens to run.
    signed_at = calendar.timegm(time.strptime(signed.headers["x-amz-date"], "%Y%m%dT%H%M%SZ"))
    check(signed, now=signed_at + (899 if offset > 0 else -899))
    with pytest.raises(errors.RequestTimeTooSkewed) as info:
        check(signed, now=signed_at + offset)
    assert info.value.code == "RequestTimeTooSkewed" and info.value.status == 403
    assert info.value.extra["RequestTime"] == signed.headers["x-amz-date"]
    assert info.value.extra["MaxAllowedSkewMilliseconds"] == "900000"
    assert info.value.extra["ServerTime"].endswith("Z")


@pytest.mark.parametrize(
    ("expires", "message"),
    [("0", "at least"), ("604801", "less than a week"), ("abc", "number"), ("-5", "non-negative")],
)
def test_bad_presigned_expires(expires: str, message: str) -> None:
    wire = Capture().presign("get_object", Bucket="bucket", Key="k")
    wire.query = [(k, expires if k == "X-Amz-Expires" else v) for k, v in wire.query]
    with pytest.raises(errors.AuthorizationQueryParametersError, match=message):
        sigv4.parse(*wire.args())


def test_week_long_presign_is_accepted() -> None:
    wire = Capture().presign("get_object", expires=604800, Bucket="bucket", Key="k")
    check(wire, now=time.time() + 604000)


def test_presigned_url_missing_parameters() -> None:
    wire = Capture().presign("get_object", Bucket="bucket", Key="k")
    for dropped in ["X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires", "X-Amz-Credential"]:
        query = [(k, v) for k, v in wire.query if k != dropped]
        with pytest.raises(errors.AuthorizationQueryParametersError):
            sigv4.parse(wire.method, wire.raw_path, query, wire.headers)


def test_unsigned_amz_headers_are_refused(signed: Wire) -> None:
    signed.headers["x-amz-acl"] = "public-read"
    with pytest.raises(errors.AccessDenied) as info:
        check(signed)
    assert info.value.extra == {"HeadersNotSigned": "x-amz-acl"}

    wire = Capture().presign("put_object", Bucket="bucket", Key="k")
    wire.headers["x-amz-meta-late"] = "1"
    with pytest.raises(errors.AccessDenied, match="not signed"):
        check(wire)


def test_host_must_be_signed(signed: Wire) -> None:
    authorization = signed.headers["authorization"].replace("SignedHeaders=host;", "SignedHeaders=")
    signed.headers["authorization"] = authorization
    with pytest.raises(errors.AuthorizationHeaderMalformed, match="host"):
        check(signed)


def test_missing_content_sha256(signed: Wire) -> None:
    del signed.headers["x-amz-content-sha256"]
    with pytest.raises(errors.InvalidRequest, match="x-amz-content-sha256"):
        sigv4.parse(*signed.args())


def test_bad_content_sha256(signed: Wire) -> None:
    signed.headers["x-amz-content-sha256"] = "not-a-hash"
    with pytest.raises(errors.InvalidArgument):
        sigv4.parse(*signed.args())


def test_credential_date_must_match_request_date(signed: Wire) -> None:
    day = signed.headers["x-amz-date"][:8]
    signed.headers["authorization"] = signed.headers["authorization"].replace(
        f"/{day}/", "/20000101/"
    )
    with pytest.raises(errors.AuthorizationHeaderMalformed, match="Date is not the same"):
        check(signed)


@pytest.mark.parametrize(
    "authorization",
    [
        "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/s3/aws4_request, SignedHeaders=host",
        "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/s3, SignedHeaders=host, Signature=ab",
        "AWS4-HMAC-SHA256 Credential=AK/2026-1-1/us-east-1/s3/aws4_request, SignedHeaders=host, "
        "Signature=ab",
        "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/s3/aws5_request, SignedHeaders=host, "
        "Signature=ab",
        "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/s3/aws4_request, SignedHeaders=Host, "
        "Signature=ab",
        "AWS4-HMAC-SHA256 garbage",
        "AWS4-HMAC-SHA256",
    ],
)
def test_malformed_authorization_header(authorization: str) -> None:
    headers = {
        "authorization": authorization,
        "host": "h",
        "x-amz-date": "20260101T000000Z",
        "x-amz-content-sha256": EMPTY,
    }
    with pytest.raises(errors.AuthorizationHeaderMalformed):
        sigv4.parse("GET", "/", [], headers)


def test_wrong_service(signed: Wire) -> None:
    signed.headers["authorization"] = signed.headers["authorization"].replace("/s3/", "/iam/")
    with pytest.raises(errors.AuthorizationHeaderMalformed, match='incorrect service "iam"'):
        check(signed)


def test_no_signature_is_anonymous() -> None:
    assert sigv4.parse("GET", "/b/k", [("prefix", "x")], {"host": "h"}) is None
    assert parse_request("GET", "/b/k", [], {"host": "h"}) is None


def test_only_one_auth_mechanism(signed: Wire) -> None:
    presigned = Capture().presign("get_object", Bucket="bucket", Key="k")
    with pytest.raises(errors.InvalidArgument, match="Only one auth mechanism"):
        parse_request(presigned.method, presigned.raw_path, presigned.query, signed.headers)


def test_unknown_authorization_scheme_is_refused() -> None:
    with pytest.raises(errors.InvalidArgument, match="Unsupported Authorization Type"):
        parse_request("GET", "/", [], {"authorization": "Bearer abc"})


def test_parse_request_dispatches(signed: Wire) -> None:
    assert isinstance(parse_request(*signed.args()), sigv4.Credential)


def test_payload_hash_checker() -> None:
    checker = sigv4.PayloadHashChecker(hashlib.sha256(b"hello world").hexdigest())
    checker.update(b"hello ")
    checker.update(b"world")
    checker.finish()
    bad = sigv4.PayloadHashChecker(hashlib.sha256(b"hello world").hexdigest())
    bad.update(b"hello there")
    with pytest.raises(errors.XAmzContentSHA256Mismatch) as info:
        bad.finish()
    assert info.value.extra["S3ComputedContentSHA256"] == hashlib.sha256(b"hello there").hexdigest()


def test_signing_key_cache_keeps_no_secret() -> None:
    secret = "a-very-recognisable-secret"
    key = sigv4.signing_key(secret, "20260101", "us-east-1", "s3")
    assert key == sigv4.derive_signing_key(secret, "20260101", "us-east-1", "s3")
    assert sigv4.signing_key(secret, "20260101", "us-east-1", "s3") is key
    for cache_key in sigv4._cache._keys:
        assert secret.encode() not in cache_key[0]
        assert secret not in cache_key[1:]


def test_verified_hides_the_signing_key(signed: Wire) -> None:
    verified = check(signed)
    assert verified.signing_key.hex() not in repr(verified)


def test_canonical_query_string_matches_botocore() -> None:
    query = [("b", "2"), ("a", "z y"), ("a", "x"), ("ü", "~+/="), ("uploads", "")]
    ours = sigv4.canonical_query_string(query, presigned=False)
    theirs = S3SigV4Auth(Credentials("a", "b"), "s3", "r")._canonical_query_string_params(query)
    assert ours == theirs


def test_canonical_query_string_keeps_bytes_that_are_not_utf8() -> None:
    # parse_qsl(..., errors="surrogateescape") keeps %FF as a lone surrogate.
    query = [("prefix", "\udcff"), ("a", "é")]
    assert sigv4.canonical_query_string(query, presigned=False) == "a=%C3%A9&prefix=%FF"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20261127T063421Z", datetime(2026, 11, 27, 6, 34, 21, tzinfo=UTC)),
        ("20240229T235959Z", datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC)),
        ("20261327T063421Z", None),  # month 13
        ("20250229T000000Z", None),  # not a leap year
        ("20260101T240000Z", None),
        ("20260101T235960Z", None),
        ("20260101T235959z", None),
        ("2026-01-01T23:59:59Z", None),
        ("\uff120260101T235959Z", None),  # a fullwidth digit
    ],
)
def test_amz_date_parsing_is_strict(value: str, expected: datetime | None) -> None:
    assert sigv4._parse_amz_date(value) == expected
