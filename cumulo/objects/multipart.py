"""Multipart uploads (S3's CreateMultipartUpload … CompleteMultipartUpload).

Each part is a blob of its own; completing an upload makes an object whose segments
are the chosen parts' blobs, in one metadata transaction, without copying a byte.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import AsyncIterator

from cumulo import errors
from cumulo.crypto import new_sortable_id
from cumulo.metadata.uploads import UploadStore
from cumulo.model import ObjectRecord, Part, Segment, Upload
from cumulo.objects.service import Finish, ObjectService, Piece, check_object_name, in_thread

MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PART_NUMBER = 10000


class MultipartService:
    def __init__(self, objects: ObjectService, uploads: UploadStore) -> None:
        self.objects = objects
        self.uploads = uploads

    def live_blobs(self) -> set[str]:
        return self.uploads.live_blobs()

    async def create(
        self,
        project_id: str,
        container: str,
        name: str,
        *,
        content_type: str,
        metadata: dict[str, str],
        headers: dict[str, str],
        checksum_algorithm: str | None,
        principal: str,
    ) -> Upload:
        check_object_name(name)
        upload = Upload(
            id=new_sortable_id(),
            container_id="",  # the container's, looked up by name in the same commit
            name=name,
            created_at=time.time(),
            content_type=content_type,
            metadata=metadata,
            headers=headers,
            checksum_algorithm=checksum_algorithm,
            principal=principal,
        )
        return await in_thread(self.uploads.create, upload, (project_id, container))

    async def get(self, project_id: str, container: str, name: str, upload_id: str) -> Upload:
        found = await self.objects.container_id(project_id, container)
        return await in_thread(self.uploads.get, found, upload_id, name)

    async def upload_part(
        self,
        upload: Upload,
        number: int,
        body: AsyncIterator[bytes],
        *,
        expected_md5: str | None = None,
        finish: Finish | None = None,
    ) -> Part:
        _check_number(number)
        segment, etag, checksums = await self.objects.write_body(body, expected_md5, finish)
        checksum = checksums.get(upload.checksum_algorithm or "") if checksums else None
        return await self._record(upload, number, segment, etag, checksum)

    async def copy_part(
        self, upload: Upload, number: int, pieces: list[Piece], start: int, end: int
    ) -> Part:
        _check_number(number)
        body = self.objects.stream(pieces, start, end)
        segment, etag, _ = await self.objects.write_body(body, None)
        return await self._record(upload, number, segment, etag, None)

    async def _record(
        self, upload: Upload, number: int, segment: Segment, etag: str, checksum: str | None
    ) -> Part:
        part = Part(number, segment.blob, segment.size, etag, checksum, time.time())
        try:
            replaced = await in_thread(self.uploads.put_part, upload.id, part)
        except BaseException:
            await self.objects.unlink_blobs([segment.blob])
            raise
        await self.objects.unlink_blobs(replaced)
        return part

    async def parts(self, upload: Upload, *, after: int = 0, limit: int = 1000) -> list[Part]:
        return await in_thread(self.uploads.parts, upload.id, after=after, limit=limit)

    async def list_uploads(
        self,
        project_id: str,
        container: str,
        *,
        prefix: str = "",
        key_marker: str = "",
        upload_id_marker: str = "",
        limit: int = 1000,
    ) -> list[Upload]:
        return await in_thread(
            self.uploads.list_uploads,
            await self.objects.container_id(project_id, container),
            prefix=prefix,
            key_marker=key_marker,
            upload_id_marker=upload_id_marker,
            limit=limit,
        )

    async def abort(self, upload: Upload) -> None:
        await self.objects.unlink_blobs(await in_thread(self.uploads.abort, upload.id))

    async def complete(
        self,
        upload: Upload,
        chosen: list[tuple[int, str]],
        *,
        checksums: dict[str, str] | None = None,
    ) -> ObjectRecord:
        """Assembles the listed (part number, ETag) pairs into the object."""
        if not chosen:
            raise errors.InvalidInput("You must specify at least one part.")
        numbers = [n for n, _ in chosen]
        if any(b <= a for a, b in itertools.pairwise(numbers)):
            raise errors.InvalidPartOrder("The list of parts was not in ascending order.")
        stored = {p.number: p for p in await in_thread(self.uploads.parts, upload.id)}
        parts: list[Part] = []
        for number, etag in chosen:
            part = stored.get(number)
            if part is None or part.etag != etag.strip().strip('"').lower():
                raise errors.InvalidPart(
                    "One or more of the specified parts could not be found. The part may not "
                    "have been uploaded, or the specified entity tag may not match the "
                    "part's entity tag.",
                    part_number=number,
                    etag=etag,
                )
            parts.append(part)
        for part in parts[:-1]:
            if part.size < MIN_PART_SIZE:
                raise errors.EntityTooSmall(
                    "Your proposed upload is smaller than the minimum allowed object size.",
                    part_number=part.number,
                    size=part.size,
                    min_size=MIN_PART_SIZE,
                )
        digest = hashlib.md5(b"".join(bytes.fromhex(p.etag) for p in parts), usedforsecurity=False)
        record = ObjectRecord(
            id=new_sortable_id(),
            container_id=upload.container_id,
            name=upload.name,
            size=sum(p.size for p in parts),
            etag=f"{digest.hexdigest()}-{len(parts)}",
            content_type=upload.content_type,
            last_modified=time.time(),
            metadata=upload.metadata,
            headers=upload.headers,
            segments=tuple(Segment(p.blob, p.size) for p in parts),
            checksums=checksums or {},
        )
        unreferenced = await in_thread(self.uploads.complete, upload.id, record)
        await self.objects.unlink_blobs(unreferenced)
        return record


def _check_number(number: int) -> None:
    if not 1 <= number <= MAX_PART_NUMBER:
        raise errors.InvalidInput(
            f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive"
        )
