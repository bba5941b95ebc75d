from __future__ import annotations

import io
import random

import pytest
from botocore.httpchecksum import (
    AwsChunkedWrapper,
    CrtCrc32cChecksum,
    CrtCrc32Checksum,
    CrtCrc64NvmeChecksum,
    Sha1Checksum,
    Sha256Checksum,
)

from cumulo.auth import checksums, chunked, errors, sigv4
from tests.unit.auth.wire import DOC_KEY, DOC_NOW, DOC_SECRET, Capture, Wire
from tests.unit.auth.wire import verify_v4 as check

# "Transferring Payload in Multiple Chunks" and its trailing-headers companion:
# 65,536 then 1,024 bytes of "a", then the final empty chunk.
DOC_CHUNKS = {
    sigv4.STREAMING_PAYLOAD: (
        "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
        "x-amz-decoded-content-length;x-amz-storage-class",
        "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
        [
            "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
            "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
            "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
        ],
        b"",
    ),
    sigv4.STREAMING_PAYLOAD_TRAILER: (
        "content-encoding;host;x-amz-content-sha256;x-amz-date;"
        "x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer",
        "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e",
        [
            "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
            "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
            "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
        ],
        b"x-amz-checksum-crc32c:sOO8/Q==\r\n"
        b"x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"
        b"\r\n",
    ),
}
PAYLOAD = b"a" * 66560


def doc_request(mode: str) -> tuple[Wire, bytes]:
    signed, seed, signatures, trailers = DOC_CHUNKS[mode]
    body = (
        f"10000;chunk-signature={signatures[0]}\r\n".encode()
        + b"a" * 65536
        + b"\r\n"
        + f"400;chunk-signature={signatures[1]}\r\n".encode()
        + b"a" * 1024
        + b"\r\n"
        + f"0;chunk-signature={signatures[2]}\r\n".encode()
        + trailers
        + b"\r\n"
    )
    headers = {
        "content-encoding": "aws-chunked",
        "content-length": str(len(body)),
        "x-amz-content-sha256": mode,
        "x-amz-date": "20130524T000000Z",
        "x-amz-decoded-content-length": "66560",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "authorization": (
            f"AWS4-HMAC-SHA256 Credential={DOC_KEY}/20130524/us-east-1/s3/aws4_request,"
            f"SignedHeaders={signed},Signature={seed}"
        ),
    }
    if trailers:
        headers["x-amz-trailer"] = "x-amz-checksum-crc32c"
    return Wire.from_url(
        "PUT", "https://s3.amazonaws.com/examplebucket/chunkObject.txt", headers
    ), body


def decode(
    decoder: chunked.ChunkedDecoder, body: bytes, seed: int = 0, max_piece: int = 50
) -> tuple[bytes, dict[str, str]]:
    rng = random.Random(seed)
    out, pos = [], 0
    while pos < len(body):
        step = rng.randint(1, max_piece)
        out.append(decoder.feed(body[pos : pos + step]))
        pos += step
    return b"".join(out), decoder.finish()


def decoder_for(wire: Wire, verified: sigv4.Verified | None) -> chunked.ChunkedDecoder:
    return chunked.ChunkedDecoder(
        verified,
        wire.headers["x-amz-content-sha256"],
        chunked.parse_trailer_names(wire.headers.get("x-amz-trailer")),
        int(wire.headers["x-amz-decoded-content-length"]),
    )


@pytest.mark.parametrize("mode", list(DOC_CHUNKS))
def test_aws_documentation_chunked_upload(mode: str) -> None:
    wire, body = doc_request(mode)
    if mode == sigv4.STREAMING_PAYLOAD:
        assert len(body) == 66824  # the Content-Length the documentation gives
    verified = check(wire, DOC_SECRET, DOC_NOW)
    assert verified.streaming
    data, trailers = decode(decoder_for(wire, verified), body, max_piece=7000)
    assert data == PAYLOAD
    if mode == sigv4.STREAMING_PAYLOAD_TRAILER:
        assert trailers == {"x-amz-checksum-crc32c": "sOO8/Q=="}
        sums = checksums.ChecksumSet(wire.headers, ["x-amz-checksum-crc32c"])
        sums.update(data)
        assert sums.finish(trailers).checksums == {"CRC32C": "sOO8/Q=="}
    else:
        assert trailers == {}


@pytest.mark.parametrize("mode", list(DOC_CHUNKS))
def test_us_east_1_chunks_on_a_server_of_another_region(mode: str) -> None:
    # The documentation's requests are scoped to us-east-1; their chunk and trailer
    # signatures chain from that scope's key whatever region the server has.
    wire, body = doc_request(mode)
    verified = check(wire, DOC_SECRET, DOC_NOW, region="eu-central-1")
    data, _ = decode(decoder_for(wire, verified), body, max_piece=7000)
    assert data == PAYLOAD
    with pytest.raises(errors.SignatureDoesNotMatch):
        decode(
            decoder_for(wire, verified),
            body.replace(b"ad80c7", b"ad80c8").replace(b"b474d8", b"b474d9"),
        )


@pytest.mark.parametrize("mode", list(DOC_CHUNKS))
@pytest.mark.parametrize(
    "tamper",
    [
        lambda b: b.replace(b"ad80c7", b"ad80c8").replace(b"b474d8", b"b474d9"),  # signature
        lambda b: b[:200] + b"b" + b[201:],  # data in the first chunk
        lambda b: b.replace(b"\r\n" + b"a" * 1024, b"\r\n" + b"a" * 1023 + b"c"),  # second chunk
        lambda b: b.replace(b"=b6c6ea8", b"=b6c6ea9").replace(b"2ca2ab", b"2ca2ac"),  # final
        lambda b: (
            b.replace(b"sOO8/Q==", b"sOO8/R==")
            if b"sOO8" in b
            else b.replace(b"b6c6ea8a", b"b6c6ea8b")
        ),  # trailer
    ],
)
def test_tampered_chunks_are_refused(mode: str, tamper: object) -> None:
    wire, body = doc_request(mode)
    verified = check(wire, DOC_SECRET, DOC_NOW)
    tampered = tamper(body)  # type: ignore[operator]
    assert tampered != body
    with pytest.raises(errors.SignatureDoesNotMatch):
        decode(decoder_for(wire, verified), tampered, max_piece=9000)


@pytest.mark.parametrize("cut", [1, 10, 100, 65600, 66700, 66760, -3, -1])
def test_truncated_body(cut: int) -> None:
    wire, body = doc_request(sigv4.STREAMING_PAYLOAD)
    verified = check(wire, DOC_SECRET, DOC_NOW)
    with pytest.raises(errors.IncompleteBody):
        decode(decoder_for(wire, verified), body[:cut], max_piece=9000)


def test_signed_chunks_need_a_signed_request() -> None:
    with pytest.raises(errors.AccessDenied):
        chunked.ChunkedDecoder(None, sigv4.STREAMING_PAYLOAD)


def test_unsupported_mode() -> None:
    with pytest.raises(errors.InvalidRequest):
        chunked.ChunkedDecoder(None, sigv4.UNSIGNED_PAYLOAD)


# --- unsigned chunks with a checksum trailer, as the AWS SDKs send them ----------


@pytest.mark.parametrize("size", [0, 1, 100, 65536, 300_001])
def test_botocore_put_object_over_https(size: int) -> None:
    data = random.Random(size).randbytes(size)
    wire = Capture(scheme="https").call("put_object", Bucket="bucket", Key="k", Body=data)
    verified = check(wire)
    assert wire.headers["content-encoding"] == "aws-chunked"
    sums = checksums.ChecksumSet(
        wire.headers, chunked.parse_trailer_names(wire.headers["x-amz-trailer"])
    )
    for seed in range(3):
        decoder = decoder_for(wire, verified)
        decoded, trailers = decode(decoder, wire.body, seed=seed)
        assert decoded == data
    sums.update(decoded)
    result = sums.finish(trailers)
    assert result.checksums == {"CRC32": checksums.checksum("CRC32", data)}
    assert trailers["x-amz-checksum-crc32"] == result.checksums["CRC32"]


@pytest.mark.parametrize(
    ("algorithm", "cls"),
    [
        ("CRC32", CrtCrc32Checksum),
        ("CRC32C", CrtCrc32cChecksum),
        ("CRC64NVME", CrtCrc64NvmeChecksum),
        ("SHA1", Sha1Checksum),
        ("SHA256", Sha256Checksum),
    ],
)
@pytest.mark.parametrize("chunk_size", [1, 7, 1024, 1 << 20])
def test_aws_chunked_wrapper_bodies(algorithm: str, cls: type, chunk_size: int) -> None:
    data = random.Random(chunk_size).randbytes(5000)
    name = checksums.header_name(algorithm)
    body = AwsChunkedWrapper(io.BytesIO(data), cls, name, chunk_size).read()
    decoder = chunked.ChunkedDecoder(None, sigv4.STREAMING_UNSIGNED_PAYLOAD_TRAILER, [name], 5000)
    decoded, trailers = decode(decoder, body, seed=chunk_size, max_piece=13)
    assert decoded == data
    sums = checksums.ChecksumSet({"x-amz-sdk-checksum-algorithm": algorithm}, [name])
    sums.update(decoded)
    assert sums.finish(trailers).checksums == {algorithm: trailers[name]}


def test_wrong_trailer_checksum() -> None:
    body = b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    decoder = chunked.ChunkedDecoder(
        None, sigv4.STREAMING_UNSIGNED_PAYLOAD_TRAILER, ["x-amz-checksum-crc32"], 3
    )
    data, trailers = decode(decoder, body)
    sums = checksums.ChecksumSet({}, ["x-amz-checksum-crc32"])
    sums.update(data)
    with pytest.raises(errors.BadDigest, match="The CRC32 you specified did not match"):
        sums.finish(trailers)


def unsigned(
    body: bytes, trailers: list[str] | None = None, length: int | None = None
) -> tuple[bytes, dict[str, str]]:
    decoder = chunked.ChunkedDecoder(
        None,
        sigv4.STREAMING_UNSIGNED_PAYLOAD_TRAILER,
        ["x-amz-checksum-crc32"] if trailers is None else trailers,
        length,
    )
    return decode(decoder, body, max_piece=3)


def test_unsigned_body_without_closing_line_is_tolerated() -> None:
    assert unsigned(b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n") == (
        b"abc",
        {"x-amz-checksum-crc32": "NSRBwg=="},
    )


def test_lf_only_trailers_are_tolerated() -> None:
    assert unsigned(b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\n\n")[1] == {
        "x-amz-checksum-crc32": "NSRBwg=="
    }


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"3\r\nabcd\r\n0\r\n\r\n", errors.InvalidRequest),  # chunk longer than announced
        (b"zz\r\nabc\r\n0\r\n\r\n", errors.InvalidRequest),  # bad size
        (b"3\nabc\r\n0\r\n\r\n", errors.InvalidRequest),  # bare LF in a chunk header
        (b"3" * 5000, errors.InvalidRequest),  # endless header line
        (b"3\r\nabc\r\n0\r\nx-amz-meta-evil:1\r\n\r\n", errors.MalformedTrailerError),
        (b"3\r\nabc\r\n0\r\nno colon\r\n\r\n", errors.MalformedTrailerError),
        (b"3\r\nabc\r\n0\r\n\r\n", errors.MalformedTrailerError),  # declared, not sent
        (b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\nmore", errors.InvalidRequest),
        (
            b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\nx-amz-checksum-crc32:x\r\n\r\n",
            errors.MalformedTrailerError,
        ),
        (b"3\r\nab", errors.IncompleteBody),
        (b"", errors.IncompleteBody),
    ],
)
def test_malformed_unsigned_bodies(body: bytes, error: type[errors.AuthError]) -> None:
    with pytest.raises(error):
        unsigned(body)


def test_decoded_length_is_enforced() -> None:
    body = b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n"
    assert unsigned(body, length=3)[0] == b"abc"
    with pytest.raises(errors.InvalidRequest):
        unsigned(body, length=2)
    with pytest.raises(errors.IncompleteBody):
        unsigned(body, length=4)


def test_a_failed_decoder_stays_failed() -> None:
    decoder = chunked.ChunkedDecoder(None, sigv4.STREAMING_UNSIGNED_PAYLOAD_TRAILER)
    with pytest.raises(errors.InvalidRequest):
        decoder.feed(b"zz\r\n")
    with pytest.raises(errors.InvalidRequest):
        decoder.feed(b"0\r\n\r\n")
    with pytest.raises(errors.InvalidRequest):
        decoder.finish()


def test_memory_is_bounded() -> None:
    decoder = chunked.ChunkedDecoder(None, sigv4.STREAMING_UNSIGNED_PAYLOAD_TRAILER, [])
    assert decoder.feed(b"100000\r\n") == b""
    piece = b"x" * 65536
    for _ in range(16):
        assert decoder.feed(piece) == piece  # passed through, not buffered
        assert len(decoder._line) == 0
    assert decoder.feed(b"\r\n0\r\n\r\n") == b""
    assert decoder.finish() == {}
