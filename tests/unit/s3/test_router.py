from __future__ import annotations

from pathlib import Path

import pytest

from cumulo.s3.handlers import HANDLERS
from cumulo.s3.router import NotAllowed, Op, Unsupported, coverage_markdown, resolve


def test_every_operation_has_a_handler() -> None:
    assert set(HANDLERS) == set(Op)


def test_coverage_table_is_current() -> None:
    doc = Path(__file__).parents[3] / "docs" / "s3-operations.md"
    assert doc.read_text() == coverage_markdown(), "run `make docs`"


@pytest.mark.parametrize(
    ("method", "bucket", "key", "query", "copy", "op"),
    [
        ("GET", "", "", {}, False, Op.ListBuckets),
        ("PUT", "b", "", {}, False, Op.CreateBucket),
        ("GET", "b", "", {"list-type": "2"}, False, Op.ListObjectsV2),
        ("GET", "b", "", {"location": ""}, False, Op.GetBucketLocation),
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
        ("HEAD", "b", "k", {}, False, Op.HeadObject),
    ],
)
def test_resolve(
    method: str, bucket: str, key: str, query: dict[str, str], copy: bool, op: Op
) -> None:
    assert resolve(method, bucket, key, query, copy) is op


def test_unknown_subresources_and_methods() -> None:
    with pytest.raises(Unsupported):
        resolve("GET", "b", "", {"tagging": ""}, False)
    with pytest.raises(Unsupported):
        resolve("GET", "b", "k", {"versionId": "abc"}, False)
    with pytest.raises(NotAllowed):
        resolve("POST", "b", "", {}, False)
    with pytest.raises(NotAllowed):
        resolve("PUT", "", "", {}, False)
