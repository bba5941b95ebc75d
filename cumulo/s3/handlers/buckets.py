"""Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
GetBucketLocation, GetBucketVersioning, and the canned ACLs of buckets and objects.

A bucket is a container of the caller's project; its owner is the project. ACLs:
`private` and `public-read` (kept as Swift's `X-Container-Read: .r:*,.rlistings`, so
both APIs read the same setting), given as a canned ACL or as an AccessControlPolicy
document; other grants S3 defines are NotImplemented, and what S3 does not define
is refused as S3 refuses it.
"""

from __future__ import annotations

import re

from cumulo.http.asgi import utc_seconds
from cumulo.model import Container
from cumulo.s3 import errors as s3
from cumulo.s3.app import PUBLIC_READ_KEY, PUBLIC_READ_VALUE, Reply, S3App, xml_reply
from cumulo.s3.context import S3Call, Target, owner
from cumulo.s3.handlers.versions import check_version
from cumulo.s3.xml import (
    XSI,
    AccessControlPolicy,
    Node,
    parse_access_control_policy,
    parse_create_bucket_configuration,
)

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# Every canned ACL S3 defines. An object's owner is always its bucket's owner (the
# project), so the bucket-owner-* ACLs grant no one anything `private` does not.
CANNED_ACLS = {
    "private": "private",
    "public-read": "public-read",
    "bucket-owner-read": "private",
    "bucket-owner-full-control": "private",
    "public-read-write": None,
    "authenticated-read": None,
    "aws-exec-read": None,
    "log-delivery-write": None,
}


def iso8601(when: float) -> str:
    return f"{utc_seconds(int(when))}.{int(when % 1 * 1000):03d}Z"


async def list_buckets(app: S3App, call: S3Call, target: Target) -> Reply:
    assert call.principal is not None
    containers = await app.objects.list_containers(target.project_id, limit=10000)
    buckets = [
        Node("Bucket", Name=c.name, CreationDate=iso8601(c.created_at))
        for c in containers
        if isinstance(c, Container)
    ]
    return xml_reply(
        Node(
            "ListAllMyBucketsResult",
            Node("Owner", **owner(target.project_id, call.principal.project_name)),
            Node("Buckets", *buckets),
        )
    )


def check_bucket_name(name: str) -> None:
    if not BUCKET_NAME.fullmatch(name) or ".." in name or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        raise s3.InvalidBucketName(BucketName=name)


async def create_bucket(app: S3App, call: S3Call, target: Target) -> Reply:
    if not target.own:
        raise s3.AccessDenied()
    check_bucket_name(target.bucket)
    acl = _canned_acl(call)
    body = await call.document()
    if body.strip():
        constraint = parse_create_bucket_configuration(body)
        # One region per server; no constraint (or an empty one) means this one.
        if constraint is not None and constraint != app.settings.region:
            raise s3.IllegalLocationConstraintException(
                f"The {constraint} location constraint is incompatible for the region "
                "specific endpoint this request was sent to."
            )
    metadata = {PUBLIC_READ_KEY: PUBLIC_READ_VALUE} if acl == "public-read" else {}
    created = await app.objects.create_container(target.project_id, target.bucket, metadata)
    if not created:
        raise s3.BucketAlreadyOwnedByYou(BucketName=target.bucket)
    return Reply(200, [("Location", "/" + target.bucket)])


async def head_bucket(app: S3App, call: S3Call, target: Target) -> Reply:
    await app.objects.container(target.project_id, target.bucket)
    return Reply(200, [("x-amz-bucket-region", app.settings.region)])


async def delete_bucket(app: S3App, call: S3Call, target: Target) -> Reply:
    await app.objects.delete_container(target.project_id, target.bucket)
    return Reply(204)


async def get_bucket_location(app: S3App, call: S3Call, target: Target) -> Reply:
    await app.objects.container(target.project_id, target.bucket)
    return xml_reply(Node("LocationConstraint").with_text(app.settings.region))


async def get_bucket_versioning(app: S3App, call: S3Call, target: Target) -> Reply:
    await app.objects.container(target.project_id, target.bucket)
    # Versioning has never been enabled: S3 answers with an empty configuration.
    return xml_reply(Node("VersioningConfiguration"))


# --- ACLs ----------------------------------------------------------------------


def _canned_acl(call: S3Call) -> str:
    """The request's canned ACL (`private` unless given), as `private` or `public-read`."""
    headers = call.request.headers
    grants = any(name.startswith("x-amz-grant-") for name in headers)
    if "x-amz-acl" in headers and grants:
        raise s3.InvalidRequest("Specifying both Canned ACLs and Header Grants is not allowed")
    if grants:
        raise s3.NotImplementedOp("Explicit grants (x-amz-grant-*) are not implemented.")
    acl = headers.get("x-amz-acl", "private")
    if acl not in CANNED_ACLS:
        raise s3.InvalidArgument(ArgumentName="x-amz-acl", ArgumentValue=acl)
    kept = CANNED_ACLS[acl]
    if kept is None:
        raise s3.NotImplementedOp(f"The canned ACL {acl!r} is not implemented.")
    return kept


def _acl_document(project_id: str, project_name: str | None, public: bool) -> Node:
    me = owner(project_id, project_name)
    owner_grantee = Node("Grantee", ID=me["ID"], DisplayName=me["DisplayName"])
    grants = [
        Node(
            "Grant",
            owner_grantee.attrs(xmlns__xsi=XSI, xsi__type="CanonicalUser"),
            Permission="FULL_CONTROL",
        )
    ]
    if public:
        everyone = Node("Grantee", URI=ALL_USERS).attrs(xmlns__xsi=XSI, xsi__type="Group")
        grants.append(Node("Grant", everyone, Permission="READ"))
    return Node("AccessControlPolicy", Node("Owner", **me), Node("AccessControlList", *grants))


async def _acl_from_request(call: S3Call, target: Target) -> str:
    """PutBucketAcl/PutObjectAcl: the ACL from its header or its body, exactly one."""
    body = await call.document()
    headers = call.request.headers
    in_headers = "x-amz-acl" in headers or any(h.startswith("x-amz-grant-") for h in headers)
    if body.strip():
        if in_headers:
            raise s3.UnexpectedContent()
        return _policy_acl(parse_access_control_policy(body), target)
    if not in_headers:
        raise s3.MissingSecurityHeader(MissingHeaderName="x-amz-acl")
    return _canned_acl(call)


def _policy_acl(policy: AccessControlPolicy, target: Target) -> str:
    """`public-read` or `private`: the owner's grants change nothing (it always has full
    control), AllUsers READ is public-read; any other grant is one we cannot keep."""
    if policy.owner_id is not None and policy.owner_id != target.project_id:
        raise s3.AccessDenied()
    public = False
    for grant in policy.grants:
        if grant.kind == "Group" and grant.uri == ALL_USERS and grant.permission == "READ":
            public = True
        elif not (grant.kind == "CanonicalUser" and grant.id == target.project_id):
            raise s3.NotImplementedOp("Only private and public-read ACLs are implemented.")
    return "public-read" if public else "private"


async def get_bucket_acl(app: S3App, call: S3Call, target: Target) -> Reply:
    container = await app.objects.container(target.project_id, target.bucket)
    public = container.metadata.get(PUBLIC_READ_KEY, "").startswith(".r:*")
    name = call.principal.project_name if call.principal and target.own else None
    return xml_reply(_acl_document(target.project_id, name, public))


async def put_bucket_acl(app: S3App, call: S3Call, target: Target) -> Reply:
    acl = await _acl_from_request(call, target)
    value = PUBLIC_READ_VALUE if acl == "public-read" else None
    await app.objects.set_container_metadata(
        target.project_id, target.bucket, {PUBLIC_READ_KEY: value}
    )
    return Reply(200)


async def get_object_acl(app: S3App, call: S3Call, target: Target) -> Reply:
    await check_version(app, target, call.key, call.query.get("versionId"))
    container = await app.objects.container(target.project_id, target.bucket)
    record = await app.objects.head_object(target.project_id, target.bucket, call.key)
    public = record.headers.get("x-amz-acl") == "public-read" or container.metadata.get(
        PUBLIC_READ_KEY, ""
    ).startswith(".r:*")
    name = call.principal.project_name if call.principal and target.own else None
    return xml_reply(_acl_document(target.project_id, name, public))


async def put_object_acl(app: S3App, call: S3Call, target: Target) -> Reply:
    acl = await _acl_from_request(call, target)
    await check_version(app, target, call.key, call.query.get("versionId"))
    record = await app.objects.head_object(target.project_id, target.bucket, call.key)
    headers = {k: v for k, v in record.headers.items() if k != "x-amz-acl"}
    if acl == "public-read":
        headers["x-amz-acl"] = acl
    await app.objects.set_object_metadata(
        target.project_id,
        target.bucket,
        call.key,
        metadata=record.metadata,
        headers=headers,
        keep_delete_at=True,
    )
    return Reply(200)


def object_acl_header(call: S3Call) -> dict[str, str]:
    """The stored form of a PutObject/CopyObject/CreateMultipartUpload's x-amz-acl."""
    return {"x-amz-acl": "public-read"} if _canned_acl(call) == "public-read" else {}
