"""Version ids, before versioning exists: every object has one version, `null`.

S3 names the only version of an object in a bucket that was never versioned `null`
(ListObjectVersions lists it so, and GET, HEAD, DELETE, the object ACLs and copy
sources accept `versionId=null`). Any other id names a version that does not exist:
NoSuchVersion, once the bucket is known to exist, as S3 answers.
"""

from __future__ import annotations

from cumulo.s3 import errors as s3
from cumulo.s3.app import S3App
from cumulo.s3.context import Target

NULL_VERSION = "null"


async def check_version(app: S3App, target: Target, key: str, version_id: str | None) -> None:
    """Raises unless `version_id` (absent or `null`) names the object's current version."""
    if version_id is None or version_id == NULL_VERSION:
        return
    if version_id == "":
        raise s3.InvalidArgument(
            "Version id cannot be the empty string", ArgumentName="versionId", ArgumentValue=""
        )
    await app.objects.container(target.project_id, target.bucket)  # NoSuchBucket first
    raise s3.NoSuchVersion(Key=key, VersionId=version_id)
