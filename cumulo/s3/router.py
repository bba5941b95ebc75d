"""Which S3 operation a request is, and what right it needs: the one table to audit.

Operations are named as in the Amazon S3 API Reference. Each is classified READ (a
read-only member may do it, and anyone may on a public-read bucket's objects), WRITE
or OWNER (bucket-level changes). Subresources we do not implement answer
`NotImplemented`, never a guess.
"""

from __future__ import annotations

from enum import Enum


class Access(Enum):
    READ = "read"
    WRITE = "write"
    OWNER = "owner"


class Op(Enum):
    ListBuckets = ("ListBuckets", Access.READ)
    CreateBucket = ("CreateBucket", Access.OWNER)
    HeadBucket = ("HeadBucket", Access.READ)
    DeleteBucket = ("DeleteBucket", Access.OWNER)
    GetBucketLocation = ("GetBucketLocation", Access.READ)
    GetBucketAcl = ("GetBucketAcl", Access.READ)
    PutBucketAcl = ("PutBucketAcl", Access.OWNER)
    GetBucketVersioning = ("GetBucketVersioning", Access.READ)
    ListObjects = ("ListObjects", Access.READ)
    ListObjectsV2 = ("ListObjectsV2", Access.READ)
    ListObjectVersions = ("ListObjectVersions", Access.READ)
    ListMultipartUploads = ("ListMultipartUploads", Access.READ)
    DeleteObjects = ("DeleteObjects", Access.WRITE)
    PutObject = ("PutObject", Access.WRITE)
    CopyObject = ("CopyObject", Access.WRITE)
    GetObject = ("GetObject", Access.READ)
    HeadObject = ("HeadObject", Access.READ)
    DeleteObject = ("DeleteObject", Access.WRITE)
    GetObjectAcl = ("GetObjectAcl", Access.READ)
    PutObjectAcl = ("PutObjectAcl", Access.WRITE)
    CreateMultipartUpload = ("CreateMultipartUpload", Access.WRITE)
    UploadPart = ("UploadPart", Access.WRITE)
    UploadPartCopy = ("UploadPartCopy", Access.WRITE)
    CompleteMultipartUpload = ("CompleteMultipartUpload", Access.WRITE)
    AbortMultipartUpload = ("AbortMultipartUpload", Access.WRITE)
    ListParts = ("ListParts", Access.READ)

    @property
    def access(self) -> Access:
        return self.value[1]


# Operations a public-read bucket allows to anyone (canned ACL public-read).
PUBLIC_READ = {
    Op.GetObject,
    Op.HeadObject,
    Op.ListObjects,
    Op.ListObjectsV2,
    Op.ListObjectVersions,
    Op.HeadBucket,
}

# Subresources S3 defines that Cumulo does not implement (yet): NotImplemented.
UNSUPPORTED = frozenset(
    {
        "accelerate", "analytics", "attributes", "cors", "encryption", "intelligent-tiering",
        "inventory", "legal-hold", "lifecycle", "logging", "metrics", "notification",
        "object-lock", "ownershipControls", "policy", "policyStatus", "publicAccessBlock",
        "replication", "requestPayment", "restore", "retention", "select", "tagging",
        "torrent", "website",
    }
)  # fmt: skip


class Unsupported(Exception):
    """The request names a subresource or method Cumulo does not implement."""


class NotAllowed(Exception):
    """The method is not allowed on this kind of resource."""


def resolve(method: str, bucket: str, key: str, query: dict[str, str], copy_source: bool) -> Op:
    unsupported = UNSUPPORTED.intersection(query)
    if unsupported:
        raise Unsupported(sorted(unsupported)[0])
    if not bucket:
        if method in ("GET", "HEAD"):
            return Op.ListBuckets
        raise NotAllowed()
    if not key:
        return _bucket_op(method, query)
    return _object_op(method, query, copy_source)


def _bucket_op(method: str, query: dict[str, str]) -> Op:
    if method == "GET":
        for sub, op in (
            ("location", Op.GetBucketLocation),
            ("acl", Op.GetBucketAcl),
            ("versioning", Op.GetBucketVersioning),
            ("versions", Op.ListObjectVersions),
            ("uploads", Op.ListMultipartUploads),
        ):
            if sub in query:
                return op
        return Op.ListObjectsV2 if query.get("list-type") == "2" else Op.ListObjects
    if method == "HEAD":
        return Op.HeadBucket
    if method == "PUT":
        if "acl" in query:
            return Op.PutBucketAcl
        if "versioning" in query:
            raise Unsupported("versioning")
        return Op.CreateBucket
    if method == "DELETE":
        return Op.DeleteBucket
    if method == "POST" and "delete" in query:
        return Op.DeleteObjects
    raise NotAllowed()


def _object_op(method: str, query: dict[str, str], copy_source: bool) -> Op:
    if method == "PUT":
        if "partNumber" in query and "uploadId" in query:
            return Op.UploadPartCopy if copy_source else Op.UploadPart
        if "acl" in query:
            return Op.PutObjectAcl
        return Op.CopyObject if copy_source else Op.PutObject
    if method == "GET":
        if "uploadId" in query:
            return Op.ListParts
        if "acl" in query:
            return Op.GetObjectAcl
        return Op.GetObject
    if method == "HEAD":
        return Op.HeadObject
    if method == "DELETE":
        return Op.AbortMultipartUpload if "uploadId" in query else Op.DeleteObject
    if method == "POST":
        if "uploads" in query:
            return Op.CreateMultipartUpload
        if "uploadId" in query:
            return Op.CompleteMultipartUpload
    raise NotAllowed()


def coverage_markdown() -> str:
    """The S3 operation coverage table (docs/s3-operations.md), from this module."""
    lines = [
        "# S3 operations",
        "",
        "Generated from `cumulo/s3/router.py` by `make docs`; do not edit.",
        "",
        "| operation | right needed | public-read buckets |",
        "|---|---|---|",
    ]
    for op in Op:
        public = "yes" if op in PUBLIC_READ else ""
        lines.append(f"| {op.name} | {op.access.value} | {public} |")
    lines += [
        "",
        "Subresources answered with `NotImplemented`: "
        + ", ".join(f"`{name}`" for name in sorted(UNSUPPORTED))
        + ".",
        "",
    ]
    return "\n".join(lines)
