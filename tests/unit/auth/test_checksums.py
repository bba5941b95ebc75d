from __future__ import annotations

import base64
import hashlib
import random

import pytest
from botocore.httpchecksum import (
    CrtCrc32cChecksum,
    CrtCrc32Checksum,
    CrtCrc64NvmeChecksum,
    Sha1Checksum,
    Sha256Checksum,
)

from cumulo.auth import checksums, errors

CHECK = b"123456789"  # the "check" input of the CRC catalogues


def b64(value: int, size: int) -> str:
    return base64.b64encode(value.to_bytes(size, "big")).decode()


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("CRC32", b64(0xCBF43926, 4)),
        ("CRC32C", b64(0xE3069283, 4)),
        ("CRC64NVME", b64(0xAE8B14860A799888, 8)),
        ("SHA1", base64.b64encode(hashlib.sha1(CHECK).digest()).decode()),
        ("SHA256", base64.b64encode(hashlib.sha256(CHECK).digest()).decode()),
        ("crc32", b64(0xCBF43926, 4)),
    ],
)
def test_known_vectors(algorithm: str, expected: str) -> None:
    assert checksums.checksum(algorithm, CHECK) == expected


BOTOCORE = {
    "CRC32": CrtCrc32Checksum,
    "CRC32C": CrtCrc32cChecksum,
    "CRC64NVME": CrtCrc64NvmeChecksum,
    "SHA1": Sha1Checksum,
    "SHA256": Sha256Checksum,
}


@pytest.mark.parametrize("algorithm", checksums.ALGORITHMS)
@pytest.mark.parametrize("size", [0, 1, 1000, 100_003])
def test_incremental_matches_botocore(algorithm: str, size: int) -> None:
    data = random.Random(size).randbytes(size)
    theirs = BOTOCORE[algorithm]()
    theirs.update(data)
    hasher = checksums.new_hasher(algorithm)
    for start in range(0, size, 777):
        hasher.update(data[start : start + 777])
    assert base64.b64encode(hasher.digest()).decode() == theirs.b64digest()
    assert checksums.checksum(algorithm, data) == theirs.b64digest()


@pytest.mark.parametrize("algorithm", checksums.ALGORITHMS)
def test_composite_checksum(algorithm: str) -> None:
    parts = [b"part one", b"part two!", b"3"]
    part_sums = [checksums.checksum(algorithm, part) for part in parts]
    raw = b"".join(base64.b64decode(value) for value in part_sums)
    assert checksums.composite_checksum(algorithm, part_sums) == (
        f"{checksums.checksum(algorithm, raw)}-3"
    )
    with pytest.raises(errors.InvalidRequest):
        checksums.composite_checksum(algorithm, ["not base64!"])


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME"])
def test_full_object_crc_combines_parts(algorithm: str) -> None:
    rng = random.Random(1)
    parts = [rng.randbytes(n) for n in (5 << 20, 1, 12345, 0, 7)]
    combined = checksums.combine_crc(
        algorithm, [(checksums.checksum(algorithm, part), len(part)) for part in parts]
    )
    assert combined == checksums.checksum(algorithm, b"".join(parts))


def test_sha_cannot_be_combined() -> None:
    with pytest.raises(errors.InvalidRequest):
        checksums.combine_crc("SHA256", [(checksums.checksum("SHA256", b""), 0)])


def test_unknown_algorithm() -> None:
    with pytest.raises(errors.InvalidRequest, match="unsupported"):
        checksums.new_hasher("MD4")


# --- ChecksumSet ---------------------------------------------------------------

BODY = b"The quick brown fox jumps over the lazy dog"
MD5_B64 = base64.b64encode(hashlib.md5(BODY).digest()).decode()


def run(
    headers: dict[str, str],
    trailers: dict[str, str] | None = None,
    trailer_names: list[str] | None = None,
    body: bytes = BODY,
    **kwargs: str,
) -> checksums.VerifiedChecksums:
    sums = checksums.ChecksumSet(headers, trailer_names or list(trailers or {}), **kwargs)
    for start in range(0, len(body), 5):
        sums.update(body[start : start + 5])
    return sums.finish(trailers)


def test_md5_is_always_computed() -> None:
    result = run({})
    assert result.md5_hex == hashlib.md5(BODY).hexdigest()
    assert result.md5_b64 == MD5_B64
    assert result.checksums == {}


def test_content_md5() -> None:
    assert run({"content-md5": MD5_B64}).md5_hex == hashlib.md5(BODY).hexdigest()
    with pytest.raises(errors.BadDigest, match="Content-MD5"):
        run({"content-md5": base64.b64encode(hashlib.md5(b"other").digest()).decode()})


@pytest.mark.parametrize("value", ["not base64", "AAAA", MD5_B64 + "AAAA", ""])
def test_malformed_content_md5(value: str) -> None:
    with pytest.raises(errors.InvalidDigest):
        checksums.ChecksumSet({"content-md5": value})


@pytest.mark.parametrize("algorithm", checksums.ALGORITHMS)
def test_checksum_headers(algorithm: str) -> None:
    name = checksums.header_name(algorithm)
    value = checksums.checksum(algorithm, BODY)
    headers = {name: value, "x-amz-sdk-checksum-algorithm": algorithm}
    assert run(headers).checksums == {algorithm: value}
    with pytest.raises(errors.BadDigest, match=f"The {algorithm} you specified did not match"):
        run(headers, body=BODY + b".")
    with pytest.raises(errors.InvalidRequest, match=f"Value for {name} header is invalid"):
        checksums.ChecksumSet({name: "AAAA"})


@pytest.mark.parametrize("algorithm", checksums.ALGORITHMS)
def test_checksum_trailers(algorithm: str) -> None:
    name = checksums.header_name(algorithm)
    value = checksums.checksum(algorithm, BODY)
    assert run({}, {name: value}).checksums == {algorithm: value}
    with pytest.raises(errors.BadDigest):
        run({}, {name: checksums.checksum(algorithm, b"")})
    with pytest.raises(errors.InvalidRequest, match="invalid"):
        run({}, {name: "%%%"})
    with pytest.raises(errors.InvalidRequest, match="not sent"):
        run({}, {}, trailer_names=[name])


def test_conflicting_headers() -> None:
    crc = checksums.checksum("CRC32", BODY)
    sha = checksums.checksum("SHA256", BODY)
    with pytest.raises(errors.InvalidRequest, match="Multiple checksum"):
        checksums.ChecksumSet({"x-amz-checksum-crc32": crc, "x-amz-checksum-sha256": sha})
    with pytest.raises(errors.InvalidRequest, match="Multiple checksum"):
        checksums.ChecksumSet({"x-amz-checksum-crc32": crc}, ["x-amz-checksum-sha256"])
    with pytest.raises(errors.InvalidRequest, match="no corresponding"):
        checksums.ChecksumSet({"x-amz-sdk-checksum-algorithm": "CRC32"})
    with pytest.raises(errors.InvalidRequest, match="x-amz-sdk-checksum-algorithm"):
        checksums.ChecksumSet(
            {"x-amz-checksum-crc32": crc, "x-amz-sdk-checksum-algorithm": "SHA256"}
        )
    with pytest.raises(errors.InvalidRequest, match="unsupported"):
        checksums.ChecksumSet({"x-amz-checksum-md4": "AAAAAA=="})


def test_non_value_checksum_headers_are_ignored() -> None:
    assert (
        run({"x-amz-checksum-mode": "ENABLED", "x-amz-checksum-type": "COMPOSITE"}).checksums == {}
    )


def test_default_algorithm() -> None:
    result = run({}, default_algorithm="CRC64NVME")
    assert result.checksums == {"CRC64NVME": checksums.checksum("CRC64NVME", BODY)}
    crc = checksums.checksum("CRC32", BODY)
    # A checksum the client chose wins over the default.
    assert run({"x-amz-checksum-crc32": crc}, default_algorithm="CRC64NVME").checksums == {
        "CRC32": crc
    }


def test_md5_can_be_left_to_the_caller() -> None:
    import base64
    import hashlib

    from cumulo.auth.checksums import ChecksumSet

    body = b"hello world"
    declared = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    checks = ChecksumSet({"content-md5": declared}, md5=False)
    checks.update(body)
    # The caller (the object service, which hashes for the ETag) compares instead.
    assert checks.finish().md5_hex == ""
    assert checks.content_md5_hex == hashlib.md5(b"other").hexdigest()
