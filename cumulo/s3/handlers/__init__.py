"""Every implemented S3 operation and its handler, in one table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cumulo.s3.handlers import buckets, listing, multipart, objects
from cumulo.s3.router import Op

if TYPE_CHECKING:
    from cumulo.s3.app import Handler

HANDLERS: dict[Op, Handler] = {
    Op.ListBuckets: buckets.list_buckets,
    Op.CreateBucket: buckets.create_bucket,
    Op.HeadBucket: buckets.head_bucket,
    Op.DeleteBucket: buckets.delete_bucket,
    Op.GetBucketLocation: buckets.get_bucket_location,
    Op.GetBucketAcl: buckets.get_bucket_acl,
    Op.PutBucketAcl: buckets.put_bucket_acl,
    Op.GetBucketVersioning: buckets.get_bucket_versioning,
    Op.GetObjectAcl: buckets.get_object_acl,
    Op.PutObjectAcl: buckets.put_object_acl,
    Op.ListObjects: listing.list_objects,
    Op.ListObjectsV2: listing.list_objects_v2,
    Op.ListObjectVersions: listing.list_object_versions,
    Op.ListMultipartUploads: listing.list_multipart_uploads,
    Op.PutObject: objects.put_object,
    Op.GetObject: objects.get_object,
    Op.HeadObject: objects.head_object,
    Op.DeleteObject: objects.delete_object,
    Op.DeleteObjects: objects.delete_objects,
    Op.CopyObject: objects.copy_object,
    Op.CreateMultipartUpload: multipart.create_multipart_upload,
    Op.UploadPart: multipart.upload_part,
    Op.UploadPartCopy: multipart.upload_part_copy,
    Op.CompleteMultipartUpload: multipart.complete_multipart_upload,
    Op.AbortMultipartUpload: multipart.abort_multipart_upload,
    Op.ListParts: multipart.list_parts,
}
