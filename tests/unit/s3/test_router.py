"""The operation table: which request is which S3 operation, and what it needs."""

from __future__ import annotations

import pytest

from cumulo.s3.handlers import HANDLERS
from cumulo.s3.router import Access, NotAllowed, Op, Unsupported, resolve


@pytest.mark.parametrize(
    ("method", "bucket", "key", "query", "copy", "expected"),
    [
        ("GET", "", "", {}, False, Op.ListBuckets),
        ("PUT", "b", "", {}, False, Op.CreateBucket),
        ("GET", "b", "", {"location": ""}, False, Op.GetBucketLocation),
        ("GET", "b", "", {"list-type": "2"}, False, Op.ListObjectsV2),
        ("GET", "b", "", {}, False, Op.ListObjects),
        ("GET", "b", "", {"uploads": ""}, False, Op.ListMultipartUploads),
        ("POST", "b", "", {"delete": ""}, False, Op.DeleteObjects),
        ("PUT", "b", "k", {"x-id": "PutObject"}, False, Op.PutObject),
        ("PUT", "b", "k", {}, True, Op.CopyObject),
        ("PUT", "b", "k", {"partNumber": "1", "uploadId": "u"}, False, Op.UploadPart),
        ("PUT", "b", "k", {"partNumber": "1", "uploadId": "u"}, True, Op.UploadPartCopy),
        ("POST", "b", "k", {"uploads": ""}, False, Op.CreateMultipartUpload),
        ("POST", "b", "k", {"uploadId": "u"}, False, Op.CompleteMultipartUpload),
        ("DELETE", "b", "k", {"uploadId": "u"}, False, Op.AbortMultipartUpload),
        ("GET", "b", "k", {"uploadId": "u"}, False, Op.ListParts),
        ("GET", "b", "k", {"versionId": "null"}, False, Op.GetObject),
        # Handlers answer other version ids (NoSuchVersion), not the router.
        ("GET", "b", "k", {"versionId": "3"}, False, Op.GetObject),
        ("DELETE", "b", "k", {"versionId": "3"}, False, Op.DeleteObject),
        ("GET", "b", "", {"versions": ""}, False, Op.ListObjectVersions),
        ("GET", "b", "", {"versioning": ""}, False, Op.GetBucketVersioning),
        ("PUT", "b", "", {"acl": ""}, False, Op.PutBucketAcl),
        ("PUT", "b", "k", {"acl": ""}, False, Op.PutObjectAcl),
    ],
)
def test_resolve(
    method: str, bucket: str, key: str, query: dict[str, str], copy: bool, expected: Op
) -> None:
    assert resolve(method, bucket, key, query, copy) is expected


@pytest.mark.parametrize(
    ("method", "bucket", "key", "query"),
    [
        ("GET", "b", "", {"tagging": ""}),
        ("PUT", "b", "", {"versioning": ""}),
    ],
)
def test_unsupported_subresources(
    method: str, bucket: str, key: str, query: dict[str, str]
) -> None:
    with pytest.raises(Unsupported):
        resolve(method, bucket, key, query, False)


@pytest.mark.parametrize(
    ("method", "bucket", "key"), [("PUT", "", ""), ("POST", "b", "k"), ("PATCH", "b", "")]
)
def test_methods_not_allowed(method: str, bucket: str, key: str) -> None:
    with pytest.raises(NotAllowed):
        resolve(method, bucket, key, {}, False)


def test_every_operation_has_a_handler_and_reads_are_reads() -> None:
    assert set(HANDLERS) == set(Op)
    reads = {op for op in Op if op.access is Access.READ}
    assert {Op.GetObject, Op.HeadObject, Op.ListObjectsV2, Op.ListParts} <= reads
    assert Op.PutObject not in reads and Op.DeleteObjects not in reads
