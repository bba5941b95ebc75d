"""SQL for multipart uploads and their parts."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select

from cumulo import errors
from cumulo.metadata import schema as t
from cumulo.metadata.db import Database
from cumulo.metadata.objects import HIGH, ObjectStore
from cumulo.model import ObjectRecord, Part, Upload


def _upload(row: Any) -> Upload:
    document = json.loads(row.metadata)
    return Upload(
        id=row.id,
        container_id=row.container_id,
        name=row.name,
        created_at=row.created_at,
        content_type=row.content_type,
        metadata=document.get("meta", {}),
        headers=document.get("headers", {}),
        checksum_algorithm=row.checksum_algorithm,
        principal=row.principal,
    )


def _part(row: Any) -> Part:
    return Part(
        number=row.number,
        blob=row.blob,
        size=row.size,
        etag=row.etag,
        checksum=row.checksum,
        last_modified=row.last_modified,
    )


class UploadStore:
    def __init__(self, db: Database, objects: ObjectStore) -> None:
        self.db = db
        self.objects = objects

    def create(self, upload: Upload, container: tuple[str, str] | None = None) -> Upload:
        """Records a new upload in the container named by `container` (project id,
        name) at this commit, else in `upload.container_id`; returns it as stored."""

        def work(conn: Connection) -> Upload:
            made = upload
            if container is not None:
                # The container's row is held (key share) until the commit: a DELETE
                # of it waits for this upload, or went first and is seen here.
                project_id, name = container
                found = conn.execute(
                    select(t.containers.c.id)
                    .where(t.containers.c.project_id == project_id, t.containers.c.name == name)
                    .with_for_update(read=True, key_share=True)
                ).scalar()
                if found is None:
                    raise errors.NoSuchContainer(f"no container {name!r}")
                made = replace(upload, container_id=found)
            self._insert(conn, made)
            return made

        return self.db.transact(work)

    def _insert(self, conn: Connection, upload: Upload) -> None:
        conn.execute(
            insert(t.uploads).values(
                id=upload.id,
                container_id=upload.container_id,
                name=upload.name,
                created_at=upload.created_at,
                content_type=upload.content_type,
                metadata=json.dumps({"meta": upload.metadata, "headers": upload.headers}),
                checksum_algorithm=upload.checksum_algorithm,
                principal=upload.principal,
            )
        )

    def get(self, container_id: str, upload_id: str, name: str) -> Upload:
        with self.db.read() as conn:
            row = conn.execute(
                select(t.uploads).where(
                    t.uploads.c.id == upload_id,
                    t.uploads.c.container_id == container_id,
                    t.uploads.c.name == name,
                )
            ).first()
        if row is None:
            raise errors.NoSuchUpload("The specified upload does not exist.")
        return _upload(row)

    def _lock(self, conn: Connection, upload_id: str) -> None:
        row = conn.execute(
            select(t.uploads.c.id).where(t.uploads.c.id == upload_id).with_for_update()
        ).first()
        if row is None:
            raise errors.NoSuchUpload("The specified upload does not exist.")

    def put_part(self, upload_id: str, part: Part) -> list[str]:
        """Records a part (replacing one with its number); returns replaced blobs."""

        def work(conn: Connection) -> list[str]:
            self._lock(conn, upload_id)
            old = conn.execute(
                select(t.parts.c.blob).where(
                    t.parts.c.upload_id == upload_id, t.parts.c.number == part.number
                )
            ).first()
            if old is not None:
                conn.execute(
                    delete(t.parts).where(
                        t.parts.c.upload_id == upload_id, t.parts.c.number == part.number
                    )
                )
            conn.execute(insert(t.parts).values(upload_id=upload_id, **part.__dict__))
            return [] if old is None else [old.blob]

        return self.db.transact(work)

    def parts(self, upload_id: str, *, after: int = 0, limit: int = 10000) -> list[Part]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.parts)
                .where(t.parts.c.upload_id == upload_id, t.parts.c.number > after)
                .order_by(t.parts.c.number)
                .limit(limit)
            )
            return [_part(r) for r in rows]

    def list_uploads(
        self,
        container_id: str,
        *,
        prefix: str = "",
        key_marker: str = "",
        upload_id_marker: str = "",
        limit: int = 1000,
    ) -> list[Upload]:
        u = t.uploads
        query = select(u).where(u.c.container_id == container_id)
        if prefix:
            query = query.where(u.c.name >= prefix, u.c.name < prefix + HIGH)
        if key_marker:
            after = u.c.name > key_marker
            if upload_id_marker:
                after = or_(after, and_(u.c.name == key_marker, u.c.id > upload_id_marker))
            query = query.where(after)
        query = query.order_by(u.c.name, u.c.created_at, u.c.id).limit(limit)
        with self.db.read() as conn:
            return [_upload(r) for r in conn.execute(query)]

    def abort(self, upload_id: str) -> list[str]:
        """Deletes the upload; returns its parts' blobs."""

        def work(conn: Connection) -> list[str]:
            self._lock(conn, upload_id)
            blobs = [
                r.blob
                for r in conn.execute(
                    select(t.parts.c.blob).where(t.parts.c.upload_id == upload_id)
                )
            ]
            conn.execute(delete(t.parts).where(t.parts.c.upload_id == upload_id))
            conn.execute(delete(t.uploads).where(t.uploads.c.id == upload_id))
            return blobs

        return self.db.transact(work)

    def complete(self, upload_id: str, record: ObjectRecord) -> list[str]:
        """Makes the object and ends the upload in one transaction; returns the blobs
        now unreferenced (the replaced object's, and parts the object left out)."""
        used = {s.blob for s in record.segments}

        def work(conn: Connection) -> list[str]:
            self._lock(conn, upload_id)
            blobs = [
                r.blob
                for r in conn.execute(
                    select(t.parts.c.blob).where(t.parts.c.upload_id == upload_id)
                )
            ]
            missing = used.difference(blobs)
            if missing:
                raise errors.InvalidPart("a part changed while the upload was completing")
            # The upload's row pins its container (deleting one deletes the other).
            replaced = self.objects.put_in(conn, record).replaced
            conn.execute(delete(t.parts).where(t.parts.c.upload_id == upload_id))
            conn.execute(delete(t.uploads).where(t.uploads.c.id == upload_id))
            return replaced + [b for b in blobs if b not in used]

        return self.db.transact(work)

    def live_blobs(self) -> set[str]:
        with self.db.read() as conn:
            return {r.blob for r in conn.execute(select(t.parts.c.blob))}
