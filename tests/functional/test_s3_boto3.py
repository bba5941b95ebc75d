"""boto3 with its default configuration, from the credentials file `creds show` prints:
objects, listings, copies, deletes and presigned URLs."""

from __future__ import annotations

import base64
import hashlib
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import pytest
import requests
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.functional.s3_support import (
    MiB,
    S3User,
    client_error_code,
    random_file,
    sha256_file,
    unique,
)
from tests.harness import Server

DOMAIN = "s3.test"


# The module's server (tests/conftest.py) starts with these flags.
SERVER_ARGS = ["--s3-domain", DOMAIN]


@pytest.fixture
def user(server: Server, tmp_path: Path) -> S3User:
    return S3User.create(server, unique("b3"), "env", "bo", tmp_path / "home")


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return client_error_code(exc.value)


def test_put_get_upload_download(user: S3User, tmp_path: Path) -> None:
    s3 = user.client()
    s3.create_bucket(Bucket="data")
    put = s3.put_object(Bucket="data", Key="k.txt", Body=b"hello", Metadata={"Color": "blue"})
    assert put["ETag"] == f'"{hashlib.md5(b"hello").hexdigest()}"'
    got = s3.get_object(Bucket="data", Key="k.txt")
    assert got["Body"].read() == b"hello"
    assert got["Metadata"] == {"color": "blue"}
    assert got["ContentType"] == "text/plain"

    source = tmp_path / "up.bin"
    digest = random_file(source, 13 * MiB)
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    s3.upload_file(str(source), "data", "up.bin", Config=config)
    head = s3.head_object(Bucket="data", Key="up.bin")
    assert head["ContentLength"] == 13 * MiB and head["ETag"].endswith('-3"')
    target = tmp_path / "down.bin"
    s3.download_file("data", "up.bin", str(target), Config=config)
    assert sha256_file(target) == digest
    part = s3.get_object(Bucket="data", Key="up.bin", PartNumber=2)
    assert part["ContentLength"] == 5 * MiB and part["PartsCount"] == 3

    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket="data", Key="nope")
    assert _code(missing) == "NoSuchKey"
    with pytest.raises(ClientError) as nobucket:
        s3.get_object(Bucket="nobucket", Key="k")
    assert _code(nobucket) == "NoSuchBucket"
    assert s3.get_bucket_location(Bucket="data")["LocationConstraint"] == user.region
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert names == ["data"]


def test_list_objects_v2_paginator(user: S3User) -> None:
    s3 = user.client()
    s3.create_bucket(Bucket="many")
    keys = [f"dir{i % 3}/key{i:03d}" for i in range(120)]
    odd = ["top.txt", "sp ace/x", "plus+sign", "percent%41", "ünï/cödé", "tab\there", "a&b<c>"]
    for key in keys + odd:
        s3.put_object(Bucket="many", Key=key, Body=b"x")
    paginator = s3.get_paginator("list_objects_v2")
    pages = list(paginator.paginate(Bucket="many", PaginationConfig={"PageSize": 25}))
    assert len(pages) == 6
    listed = [o["Key"] for p in pages for o in p.get("Contents", [])]
    expected = sorted(keys + odd, key=lambda k: k.encode())
    assert listed == expected

    pages = list(paginator.paginate(Bucket="many", Delimiter="/", PaginationConfig={"PageSize": 2}))
    prefixes = [c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])]
    assert prefixes == ["dir0/", "dir1/", "dir2/", "sp ace/", "ünï/"]
    tops = [o["Key"] for p in pages for o in p.get("Contents", [])]
    assert tops == sorted(["top.txt", "plus+sign", "percent%41", "tab\there", "a&b<c>"])

    # botocore asks for encoding-type=url on its own and decodes the keys (above); asked
    # for explicitly, the keys come back percent-encoded.
    one = s3.list_objects_v2(Bucket="many", Prefix="sp ace/", EncodingType="url")
    assert [o["Key"] for o in one["Contents"]] == ["sp%20ace/x"]
    assert one["Prefix"] == "sp%20ace/"
    after = s3.list_objects_v2(Bucket="many", StartAfter="dir2/key119", Prefix="dir2/")
    assert after["KeyCount"] == 0 and not after["IsTruncated"]
    owner = s3.list_objects_v2(Bucket="many", MaxKeys=1, FetchOwner=True)["Contents"][0]
    assert owner["Owner"]["ID"] == user.project_id

    v1 = list(
        s3.get_paginator("list_objects").paginate(
            Bucket="many", Prefix="dir1/", PaginationConfig={"PageSize": 7}
        )
    )
    assert [o["Key"] for p in v1 for o in p["Contents"]] == sorted(
        k for k in keys if k.startswith("dir1/")
    )
    with pytest.raises(ClientError) as bad:
        s3.list_objects_v2(Bucket="many", ContinuationToken="!!!not-a-token")
    assert _code(bad) == "InvalidArgument"


def test_copy_and_metadata_directives(user: S3User) -> None:
    s3 = user.client()
    s3.create_bucket(Bucket="src")
    s3.create_bucket(Bucket="dst")
    s3.put_object(
        Bucket="src", Key="o", Body=b"original", Metadata={"a": "1"}, ContentType="text/x-a"
    )
    etag = s3.head_object(Bucket="src", Key="o")["ETag"]

    s3.copy_object(Bucket="dst", Key="copied", CopySource={"Bucket": "src", "Key": "o"})
    head = s3.head_object(Bucket="dst", Key="copied")
    assert head["Metadata"] == {"a": "1"} and head["ContentType"] == "text/x-a"
    assert head["ETag"] == etag

    s3.copy_object(
        Bucket="src",
        Key="o",
        CopySource="src/o",
        MetadataDirective="REPLACE",
        Metadata={"b": "2"},
        ContentType="text/x-b",
    )
    head = s3.head_object(Bucket="src", Key="o")
    assert head["Metadata"] == {"b": "2"} and head["ContentType"] == "text/x-b"
    with pytest.raises(ClientError) as itself:
        s3.copy_object(Bucket="src", Key="o", CopySource="src/o")
    assert _code(itself) == "InvalidRequest"

    with pytest.raises(ClientError) as failed:
        s3.copy_object(Bucket="dst", Key="c2", CopySource="src/o", CopySourceIfMatch='"nope"')
    assert _code(failed) == "PreconditionFailed"
    with pytest.raises(ClientError) as failed:
        s3.copy_object(Bucket="dst", Key="c2", CopySource="src/o", CopySourceIfNoneMatch=etag)
    assert _code(failed) == "PreconditionFailed"
    s3.copy_object(Bucket="dst", Key="c2", CopySource="src/o", CopySourceIfMatch=etag)
    assert s3.get_object(Bucket="dst", Key="c2")["Body"].read() == b"original"
    with pytest.raises(ClientError) as nosrc:
        s3.copy_object(Bucket="dst", Key="c3", CopySource="src/missing")
    assert _code(nosrc) == "NoSuchKey"

    s3.copy({"Bucket": "src", "Key": "o"}, "dst", "managed")  # the transfer manager's copy
    assert s3.get_object(Bucket="dst", Key="managed")["Body"].read() == b"original"


def test_delete_objects_quiet_and_verbose(user: S3User) -> None:
    s3 = user.client()
    s3.create_bucket(Bucket="del")
    for i in range(6):
        s3.put_object(Bucket="del", Key=f"k{i}", Body=b"x")
    verbose = s3.delete_objects(
        Bucket="del", Delete={"Objects": [{"Key": "k0"}, {"Key": "k1"}, {"Key": "absent"}]}
    )
    assert sorted(d["Key"] for d in verbose["Deleted"]) == ["absent", "k0", "k1"]
    quiet = s3.delete_objects(
        Bucket="del", Delete={"Objects": [{"Key": "k2"}, {"Key": "k3"}], "Quiet": True}
    )
    assert "Deleted" not in quiet and "Errors" not in quiet
    left = [o["Key"] for o in s3.list_objects_v2(Bucket="del")["Contents"]]
    assert left == ["k4", "k5"]


def test_presigned_get_and_put(user: S3User) -> None:
    s3 = user.client()
    s3.create_bucket(Bucket="pre")
    put_url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": "pre", "Key": "p"}, ExpiresIn=60
    )
    assert requests.put(put_url, data=b"via presign", timeout=10).status_code == 200
    get_url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "pre", "Key": "p"}, ExpiresIn=60
    )
    got = requests.get(get_url, timeout=10)
    assert got.status_code == 200 and got.content == b"via presign"
    tampered = get_url.replace("Key=p", "Key=q") if "Key=p" in get_url else get_url + "&x=1"
    assert requests.get(tampered, timeout=10).status_code == 403


def test_multipart_explicit(user: S3User) -> None:
    s3 = user.client()
    s3.create_bucket(Bucket="mpu")
    s3.put_object(Bucket="mpu", Key="source", Body=bytes(range(256)) * (24 * 1024))  # 6 MiB
    up = s3.create_multipart_upload(Bucket="mpu", Key="obj", Metadata={"m": "v"})
    uid = up["UploadId"]
    first = b"a" * (5 * MiB)
    p1 = s3.upload_part(Bucket="mpu", Key="obj", UploadId=uid, PartNumber=1, Body=first)
    p2 = s3.upload_part_copy(
        Bucket="mpu",
        Key="obj",
        UploadId=uid,
        PartNumber=2,
        CopySource="mpu/source",
        CopySourceRange="bytes=0-5242879",
    )["CopyPartResult"]
    p3 = s3.upload_part(Bucket="mpu", Key="obj", UploadId=uid, PartNumber=3, Body=b"tail")
    parts = s3.list_parts(Bucket="mpu", Key="obj", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, 5 * MiB), (2, 5 * MiB), (3, 4)]
    uploads = s3.list_multipart_uploads(Bucket="mpu")["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("obj", uid)]

    def complete(*numbered: tuple[int, str]) -> Any:
        return s3.complete_multipart_upload(
            Bucket="mpu",
            Key="obj",
            UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in numbered]},
        )

    e1, e2, e3 = p1["ETag"], p2["ETag"], p3["ETag"]
    for bad, code in (
        (((1, e1), (3, e3), (2, e2)), "InvalidPartOrder"),
        (((1, e1), (2, '"0123456789abcdef0123456789abcdef"')), "InvalidPart"),
        (((1, e1), (7, e3)), "InvalidPart"),
        (((1, e1), (3, e3), (4, e3)), "InvalidPart"),
    ):
        with pytest.raises(ClientError) as failed:
            complete(*bad)
        assert _code(failed) == code, bad
    small = s3.upload_part(Bucket="mpu", Key="obj", UploadId=uid, PartNumber=4, Body=b"tiny")
    with pytest.raises(ClientError) as too_small:
        complete((1, e1), (3, e3), (4, small["ETag"]))
    assert _code(too_small) == "EntityTooSmall"
    with pytest.raises(ClientError):
        s3.head_object(Bucket="mpu", Key="obj")  # nothing visible yet

    done = complete((1, e1), (2, e2), (3, e3))
    assert done["ETag"].endswith('-3"')
    body = s3.get_object(Bucket="mpu", Key="obj")["Body"].read()
    assert body == first + (bytes(range(256)) * (24 * 1024))[: 5 * MiB] + b"tail"
    assert s3.head_object(Bucket="mpu", Key="obj")["Metadata"] == {"m": "v"}
    with pytest.raises(ClientError) as gone:
        s3.list_parts(Bucket="mpu", Key="obj", UploadId=uid)
    assert _code(gone) == "NoSuchUpload"

    aborted = s3.create_multipart_upload(Bucket="mpu", Key="ab")["UploadId"]
    s3.upload_part(Bucket="mpu", Key="ab", UploadId=aborted, PartNumber=1, Body=b"x")
    s3.abort_multipart_upload(Bucket="mpu", Key="ab", UploadId=aborted)
    assert "Uploads" not in s3.list_multipart_uploads(Bucket="mpu")
    with pytest.raises(ClientError) as gone:
        s3.upload_part(Bucket="mpu", Key="ab", UploadId=aborted, PartNumber=2, Body=b"x")
    assert _code(gone) == "NoSuchUpload"
    with pytest.raises(ClientError) as range_error:
        s3.upload_part_copy(
            Bucket="mpu",
            Key="obj",
            UploadId=aborted,
            PartNumber=1,
            CopySource="mpu/source",
            CopySourceRange="bytes=0-99999999",
        )
    assert _code(range_error) in ("NoSuchUpload", "InvalidArgument")


def test_ranges_conditionals_and_overrides(user: S3User) -> None:
    s3 = user.client()
    s3.create_bucket(Bucket="cond")
    data = b"0123456789" * 10
    etag = s3.put_object(Bucket="cond", Key="o", Body=data)["ETag"]
    ranged = s3.get_object(Bucket="cond", Key="o", Range="bytes=10-19")
    assert ranged["Body"].read() == data[10:20]
    assert ranged["ContentRange"] == "bytes 10-19/100"
    assert s3.get_object(Bucket="cond", Key="o", Range="bytes=-5")["Body"].read() == data[-5:]
    head = s3.head_object(Bucket="cond", Key="o", Range="bytes=90-")
    assert head["ContentLength"] == 10
    with pytest.raises(ClientError) as bad_range:
        s3.get_object(Bucket="cond", Key="o", Range="bytes=200-300")
    assert _code(bad_range) == "InvalidRange"

    modified = s3.head_object(Bucket="cond", Key="o")["LastModified"]
    assert s3.get_object(Bucket="cond", Key="o", IfMatch=etag)["Body"].read() == data
    with pytest.raises(ClientError) as failed:
        s3.get_object(Bucket="cond", Key="o", IfMatch='"other"')
    assert _code(failed) == "PreconditionFailed"
    with pytest.raises(ClientError) as not_modified:
        s3.get_object(Bucket="cond", Key="o", IfNoneMatch=etag)
    assert not_modified.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(ClientError) as not_modified:
        s3.head_object(Bucket="cond", Key="o", IfModifiedSince=modified)
    assert not_modified.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(ClientError) as failed:
        s3.head_object(Bucket="cond", Key="o", IfUnmodifiedSince=modified.replace(year=2000))
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412

    got = s3.get_object(
        Bucket="cond",
        Key="o",
        ResponseContentType="application/x-over",
        ResponseContentDisposition='attachment; filename="o.txt"',
        ResponseCacheControl="no-cache",
    )
    assert got["ContentType"] == "application/x-over"
    assert got["ContentDisposition"] == 'attachment; filename="o.txt"'
    assert got["CacheControl"] == "no-cache"

    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    with_sum = s3.get_object(Bucket="cond", Key="o", ChecksumMode="ENABLED")
    assert with_sum["ChecksumCRC32"] == crc
    assert with_sum["Body"].read() == data  # botocore validated it


def test_canned_acls_and_anonymous_access(user: S3User, server: Server) -> None:
    s3 = user.client()
    s3.create_bucket(Bucket="pub", ACL="public-read")
    s3.create_bucket(Bucket="priv")
    s3.put_object(Bucket="pub", Key="open.txt", Body=b"open")
    s3.put_object(Bucket="priv", Key="shut.txt", Body=b"shut")
    s3.put_object(Bucket="priv", Key="one.txt", Body=b"one", ACL="public-read")
    grants = s3.get_bucket_acl(Bucket="pub")["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("AllUsers") for g in grants)
    assert len(s3.get_bucket_acl(Bucket="priv")["Grants"]) == 1

    base = f"{server.object_url}/{user.project_id}:"
    assert requests.get(base + "pub/open.txt", timeout=10).content == b"open"
    assert "open.txt" in requests.get(base + "pub", timeout=10).text
    assert requests.get(base + "priv/one.txt", timeout=10).content == b"one"
    for path in ("priv/shut.txt", "priv"):
        denied = requests.get(base + path, timeout=10)
        assert denied.status_code == 403 and "<Code>AccessDenied</Code>" in denied.text
    assert requests.put(base + "pub/new", data=b"x", timeout=10).status_code == 403
    assert requests.get(f"{server.object_url}/pub/open.txt", timeout=10).status_code == 403

    s3.put_bucket_acl(Bucket="pub", ACL="private")
    assert requests.get(base + "pub/open.txt", timeout=10).status_code == 403
    s3.put_object_acl(Bucket="priv", Key="shut.txt", ACL="public-read")
    assert requests.get(base + "priv/shut.txt", timeout=10).content == b"shut"
    with pytest.raises(ClientError) as unsupported:
        s3.put_bucket_acl(Bucket="pub", ACL="authenticated-read")
    assert _code(unsupported) == "NotImplemented"


def test_virtual_host_addressing(user: S3User, server: Server) -> None:
    """`<bucket>.s3.test` names the bucket. botocore signs for that host; a hook then sends
    the request to the loopback address, keeping the Host header it signed."""
    s3 = user.client(s3={"addressing_style": "virtual"})
    endpoint = f"http://{DOMAIN}:{server.object_port}"
    session = user.session()
    vhost = session.client(
        "s3",
        endpoint_url=endpoint,
        config=Config(s3={"addressing_style": "virtual"}),
    )
    hosts: list[str] = []

    def to_loopback(request: Any, **_: Any) -> None:
        parts = urlsplit(request.url)
        request.headers["Host"] = parts.netloc
        hosts.append(parts.netloc)
        request.url = urlunsplit(parts._replace(netloc=f"127.0.0.1:{server.object_port}"))

    vhost.meta.events.register("before-send.s3", to_loopback)
    vhost.create_bucket(Bucket="vhosted")
    vhost.put_object(Bucket="vhosted", Key="dir/v.txt", Body=b"virtual")
    assert vhost.get_object(Bucket="vhosted", Key="dir/v.txt")["Body"].read() == b"virtual"
    listed = vhost.list_objects_v2(Bucket="vhosted", Prefix="dir/")
    assert [o["Key"] for o in listed["Contents"]] == ["dir/v.txt"]
    assert hosts and all(h == f"vhosted.{DOMAIN}:{server.object_port}" for h in hosts)
    # The same object, path style.
    assert s3.get_object(Bucket="vhosted", Key="dir/v.txt")["Body"].read() == b"virtual"
    vhost.delete_object(Bucket="vhosted", Key="dir/v.txt")
    vhost.delete_bucket(Bucket="vhosted")
    assert "vhosted" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_list_object_versions_and_deleting_every_version(user: S3User, server: Server) -> None:
    """Until versioning exists every object is its own `null`, latest version: what the
    AWS CLI, Terraform's force_destroy and boto3's `object_versions.delete()` list and
    delete to empty a bucket."""
    s3 = user.client()
    s3.create_bucket(Bucket="vers")
    keys = [f"k{i:02d}" for i in range(7)] + ["dir/a", "dir/b", "dir/sub/c", "odd key+?"]
    for key in keys:
        s3.put_object(Bucket="vers", Key=key, Body=key.encode())
    assert "Status" not in s3.get_bucket_versioning(Bucket="vers")

    first = s3.list_object_versions(Bucket="vers", MaxKeys=3)
    assert first["IsTruncated"] and first["MaxKeys"] == 3
    assert (first["KeyMarker"], first["VersionIdMarker"]) == ("", "")
    assert (first["NextKeyMarker"], first["NextVersionIdMarker"]) == ("dir/sub/c", "null")
    version = first["Versions"][0]
    assert version["Key"] == "dir/a" and version["VersionId"] == "null" and version["IsLatest"]
    assert version["ETag"] == f'"{hashlib.md5(b"dir/a").hexdigest()}"'
    assert version["Size"] == 5 and version["StorageClass"] == "STANDARD"
    assert version["Owner"]["ID"] == user.project_id and "LastModified" in version
    assert "DeleteMarkers" not in first

    pages = list(s3.get_paginator("list_object_versions").paginate(Bucket="vers", MaxKeys=3))
    assert len(pages) == 4
    assert [v["Key"] for p in pages for v in p.get("Versions", [])] == sorted(keys)
    resumed = s3.list_object_versions(
        Bucket="vers", KeyMarker="k03", VersionIdMarker="null", MaxKeys=2
    )
    assert [v["Key"] for v in resumed["Versions"]] == ["k04", "k05"]

    by_dir = list(
        s3.get_paginator("list_object_versions").paginate(
            Bucket="vers", Delimiter="/", MaxKeys=2, EncodingType="url"
        )
    )
    # botocore decodes only the encoding it asked for itself; this one was ours.
    listed = [unquote(v["Key"]) for p in by_dir for v in p.get("Versions", [])]
    prefixes = [c["Prefix"] for p in by_dir for c in p.get("CommonPrefixes", [])]
    assert prefixes == ["dir/"] and listed == sorted(k for k in keys if "/" not in k)
    ends_on_prefix = s3.list_object_versions(Bucket="vers", Delimiter="/", MaxKeys=1)
    assert ends_on_prefix["NextKeyMarker"] == "dir/"
    assert "NextVersionIdMarker" not in ends_on_prefix
    inner = s3.list_object_versions(Bucket="vers", Prefix="dir/", Delimiter="/")
    assert [v["Key"] for v in inner["Versions"]] == ["dir/a", "dir/b"]
    assert inner["CommonPrefixes"] == [{"Prefix": "dir/sub/"}]

    # Public-read buckets list their versions to anyone, as their objects.
    s3.put_bucket_acl(Bucket="vers", ACL="public-read")
    anonymous = requests.get(f"{server.object_url}/{user.project_id}:vers?versions", timeout=10)
    assert anonymous.status_code == 200 and "<VersionId>null</VersionId>" in anonymous.text

    # versionId=null is the object itself, on every operation that takes a version.
    got = s3.get_object(Bucket="vers", Key="k00", VersionId="null")
    assert got["Body"].read() == b"k00"
    assert s3.head_object(Bucket="vers", Key="k00", VersionId="null")["ContentLength"] == 3
    s3.copy_object(
        Bucket="vers",
        Key="copied",
        CopySource={"Bucket": "vers", "Key": "k00", "VersionId": "null"},
    )
    s3.copy_object(Bucket="vers", Key="from odd", CopySource={"Bucket": "vers", "Key": "odd key+?"})
    assert s3.get_object(Bucket="vers", Key="from odd")["Body"].read() == b"odd key+?"
    deleted = s3.delete_object(Bucket="vers", Key="copied", VersionId="null")
    assert deleted["VersionId"] == "null"
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket="vers", Key="k00", VersionId="3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")
    assert _code(missing) == "NoSuchVersion"

    # boto3's idiom for emptying a bucket, versions and all.
    bucket = user.session().resource("s3").Bucket("vers")
    answers = bucket.object_versions.delete()
    assert sum(len(a.get("Deleted", [])) for a in answers) == len(keys) + 1
    assert all(d["VersionId"] == "null" for a in answers for d in a["Deleted"])
    assert "Versions" not in s3.list_object_versions(Bucket="vers")
    s3.delete_bucket(Bucket="vers")
