"""The metadata store's contract, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from cumulo import errors
from cumulo.crypto import new_id
from cumulo.metadata.db import Database
from cumulo.metadata.identity import IdentityStore
from cumulo.metadata.objects import ObjectStore
from cumulo.metadata.schema import metadata
from cumulo.model import ObjectRecord, Role, Segment


def obj(container_id: str, name: str, size: int = 1, **kw: object) -> ObjectRecord:
    values: dict[str, object] = {
        "id": new_id(),
        "container_id": container_id,
        "name": name,
        "size": size,
        "etag": "e" * 32,
        "content_type": "application/octet-stream",
        "last_modified": time.time(),
        "metadata": {"color": "blue"},
        "segments": (Segment(new_id(), size),),
    }
    values.update(kw)
    return ObjectRecord(**values)  # type: ignore[arg-type]


def test_migrations_match_the_schema(database: Database) -> None:
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    database.migrate()  # a second run is a no-op


def test_identity_lifecycle(database: Database) -> None:
    store = IdentityStore(database)
    org = store.create_organization("system")
    with pytest.raises(errors.Conflict):
        store.create_organization("system")
    env = store.create_environment(org, "ccontini", "system-ccontini")
    user = store.create_user("alice", email=None, password_hash=None, secret_enc="x")
    first = store.add_member(user, env, Role.MEMBER)
    assert first.username.startswith("system-ccontini-")
    with pytest.raises(errors.Conflict):
        store.add_member(user, env, Role.MEMBER)
    row = store.principal_row(username=first.username)
    assert row.project_id == env.project_id and row.secret_enc == "x"
    store.remove_member(user, env)
    assert store.principal_row(username=first.username) is None
    second = store.add_member(user, env, Role.READ_ONLY)
    assert second.username != first.username and second.access_key != first.access_key
    store.set_secret(user.id, "y")
    assert store.user_secret(user.id)[0].secret_generation == 2


def test_a_new_secret_deletes_the_users_ec2_credentials_only(database: Database) -> None:
    store = IdentityStore(database)
    org = store.create_organization("ec2")
    envs = [store.create_environment(org, name, f"ec2-{name}") for name in ("a", "b")]
    user = store.create_user("carol", email=None, password_hash=None, secret_enc="x")
    other = store.create_user("dave", email=None, password_hash=None, secret_enc="x")
    mine = [store.add_member(user, env, Role.MEMBER) for env in envs]
    theirs = store.add_member(other, envs[0], Role.MEMBER)
    for membership in [*mine, theirs]:
        store.add_ec2(membership.id, "", "enc")
    store.set_secret(user.id, "y")
    assert all(store.ec2_rows(membership_id=m.id) == [] for m in mine)
    assert len(store.ec2_rows(membership_id=theirs.id)) == 1


def test_container_and_object_counters(database: Database) -> None:
    store = ObjectStore(database)
    project = new_id()
    assert store.create_container(project, "photos", {"x-container-meta-a": "1"})
    assert not store.create_container(project, "photos", {})
    container = store.container(project, "photos")
    store.put_object(obj(container.id, "a", 10))
    replaced = store.put_object(obj(container.id, "a", 4)).replaced
    assert len(replaced) == 1
    store.put_object(obj(container.id, "b", 6))
    container = store.container(project, "photos")
    assert (container.object_count, container.bytes_used) == (2, 10)
    with pytest.raises(errors.ContainerNotEmpty):
        store.delete_container(project, "photos")
    store.delete_object(project, "photos", "a")
    store.delete_object(project, "photos", "b")
    with pytest.raises(errors.NoSuchObject):
        store.delete_object(project, "photos", "b")
    store.delete_container(project, "photos")
    with pytest.raises(errors.NoSuchContainer):
        store.container(project, "photos")


def test_listing_is_byte_ordered_with_delimiters(database: Database) -> None:
    store = ObjectStore(database)
    project = new_id()
    store.create_container(project, "c", {})
    cid = store.container(project, "c").id
    names = ["a/1", "a/2", "b", "B", "é", "z/x/y", "a-", "a/b/c"]
    for name in names:
        store.put_object(obj(cid, name))
    listed = [e.name for e in store.list_objects(cid)]
    assert listed == sorted(names, key=lambda n: n.encode())
    top = [(e.name, e.is_prefix) for e in store.list_objects(cid, delimiter="/")]
    assert top == [
        ("B", False),
        ("a-", False),
        ("a/", True),
        ("b", False),
        ("z/", True),
        ("é", False),
    ]
    under = [e.name for e in store.list_objects(cid, prefix="a/", delimiter="/")]
    assert under == ["a/1", "a/2", "a/b/"]
    page = [e.name for e in store.list_objects(cid, marker="a/2", limit=2)]
    assert page == ["a/b/c", "b"]
    reverse = [e.name for e in store.list_objects(cid, reverse=True, limit=3)]
    assert reverse == ["é", "z/x/y", "b"]
    ranged = [e.name for e in store.list_objects(cid, marker="a", end_marker="b")]
    assert ranged == ["a-", "a/1", "a/2", "a/b/c"]
    rev_delim = [e.name for e in store.list_objects(cid, delimiter="/", reverse=True)]
    assert rev_delim == ["é", "z/", "b", "a/", "a-", "B"]


def test_expired_objects_are_invisible_and_reaped(database: Database) -> None:
    store = ObjectStore(database)
    project = new_id()
    store.create_container(project, "c", {})
    cid = store.container(project, "c").id
    store.put_object(obj(cid, "gone", delete_at=time.time() - 1))
    store.put_object(obj(cid, "kept", delete_at=time.time() + 3600))
    with pytest.raises(errors.NoSuchObject):
        store.get_object(cid, "gone")
    assert [e.name for e in store.list_objects(cid)] == ["kept"]
    expired = store.expired()
    assert [r.name for r in expired] == ["gone"]
    assert store.reap(expired[0])
    assert store.container(project, "c").object_count == 1


def test_concurrent_writers_to_one_name(database: Database) -> None:
    store = ObjectStore(database)
    project = new_id()
    store.create_container(project, "c", {})
    cid = store.container(project, "c").id

    def put(i: int) -> list[str]:
        return store.put_object(obj(cid, "same", i + 1)).replaced

    with ThreadPoolExecutor(8) as pool:
        replaced = list(pool.map(put, range(16)))
    container = store.container(project, "c")
    assert container.object_count == 1
    assert sum(len(r) for r in replaced) == 15
    assert container.bytes_used == store.get_object(cid, "same").size


def test_writes_and_reads_by_name_see_a_recreated_container(database: Database) -> None:
    """Delete a container, create it again: a write or read naming it reaches the new
    one, even with the old id in hand (no cached id can make it miss)."""
    from cumulo.metadata.uploads import UploadStore
    from cumulo.model import Part, Upload

    store = ObjectStore(database)
    uploads = UploadStore(database, store)
    project = new_id()
    store.create_container(project, "c", {})
    old = store.container_id(project, "c")
    store.put_object(obj(old, "x"), (project, "c"))
    pending = uploads.create(
        Upload(new_id(), "", "mp", time.time(), "text/plain", {}, {}, None, "p"), (project, "c")
    )
    assert pending.container_id == old
    part = Part(1, new_id(), 5, "e" * 32, None, time.time())
    uploads.put_part(pending.id, part)
    store.delete_object(project, "c", "x")
    # An upload in progress goes with its container, and its parts' bytes are freed.
    assert store.delete_container(project, "c") == [part.blob]
    assert uploads.live_blobs() == set()
    with pytest.raises(errors.NoSuchContainer):
        store.put_object(obj(old, "y"), (project, "c"))
    with pytest.raises(errors.NoSuchContainer):
        store.find_object(project, "c", "y")
    with pytest.raises(errors.NoSuchContainer):
        store.delete_object(project, "c", "y")
    with pytest.raises(errors.NoSuchContainer):
        uploads.create(
            Upload(new_id(), old, "mp", time.time(), "text/plain", {}, {}, None, "p"),
            (project, "c"),
        )

    store.create_container(project, "c", {})
    new = store.container_id(project, "c")
    assert new != old
    stored = store.put_object(obj(old, "y", 3), (project, "c"))
    assert stored.record.container_id == new
    assert store.find_object(project, "c", "y").container_id == new
    with pytest.raises(errors.NoSuchObject):
        store.find_object(project, "c", "x")
    made = uploads.create(
        Upload(new_id(), old, "mp", time.time(), "text/plain", {}, {}, None, "p"), (project, "c")
    )
    assert made.container_id == new and [u.id for u in uploads.list_uploads(new)] == [made.id]
    assert store.delete_object(project, "c", "y").size == 3
    container = store.container(project, "c")
    assert (container.object_count, container.bytes_used) == (0, 0)


def test_revocations(database: Database) -> None:
    store = IdentityStore(database)
    store.revoke("a" * 32, time.time() + 60)
    store.revoke("a" * 32, time.time() + 60)
    store.revoke("b" * 32, time.time() - 1)
    assert store.revoked() == {"a" * 32}


def test_multipart_uploads(database: Database) -> None:
    from cumulo.metadata.uploads import UploadStore
    from cumulo.model import Part, Upload

    objects = ObjectStore(database)
    uploads = UploadStore(database, objects)
    project = new_id()
    objects.create_container(project, "c", {})
    cid = objects.container(project, "c").id

    def upload(name: str) -> Upload:
        made = Upload(new_id(), cid, name, time.time(), "text/plain", {"a": "1"}, {}, None, "p")
        uploads.create(made)
        return made

    first, second, third = upload("k"), upload("k"), upload("m")
    listed = [(u.name, u.id) for u in uploads.list_uploads(cid)]
    assert sorted(listed) == sorted([("k", first.id), ("k", second.id), ("m", third.id)])
    assert [u.name for u in uploads.list_uploads(cid, prefix="m")] == ["m"]
    assert uploads.get(cid, first.id, "k").metadata == {"a": "1"}
    with pytest.raises(errors.NoSuchUpload):
        uploads.get(cid, first.id, "other-key")

    def part(number: int) -> Part:
        return Part(number, new_id(), 5, "e" * 32, None, time.time())

    p1, p2 = part(1), part(2)
    assert uploads.put_part(first.id, p1) == []
    assert uploads.put_part(first.id, p2) == []
    p2b = part(2)
    assert uploads.put_part(first.id, p2b) == [p2.blob]
    assert [p.number for p in uploads.parts(first.id)] == [1, 2]
    assert [p.number for p in uploads.parts(first.id, after=1)] == [2]
    assert uploads.live_blobs() == {p1.blob, p2b.blob}

    record = obj(cid, "k", 5, segments=(Segment(p1.blob, 5),))
    assert uploads.complete(first.id, record) == [p2b.blob]
    assert objects.get_object(cid, "k").segments == (Segment(p1.blob, 5),)
    with pytest.raises(errors.NoSuchUpload):
        uploads.put_part(first.id, part(3))
    uploads.put_part(second.id, part(1))
    assert len(uploads.abort(second.id)) == 1
    with pytest.raises(errors.NoSuchUpload):
        uploads.abort(second.id)
    assert [u.id for u in uploads.list_uploads(cid)] == [third.id]


def test_a_common_prefix_at_the_marker_is_not_listed_again(database: Database) -> None:
    store = ObjectStore(database)
    project = new_id()
    store.create_container(project, "c", {})
    cid = store.container(project, "c").id
    for name in ["a/1", "a/2", "b/1", "c"]:
        store.put_object(obj(cid, name))
    first = store.list_objects(cid, delimiter="/", limit=1)
    assert [e.name for e in first] == ["a/"]
    rest = store.list_objects(cid, delimiter="/", marker="a/")
    assert [e.name for e in rest] == ["b/", "c"]


def test_container_listing_with_delimiter_and_reverse(database: Database) -> None:
    from cumulo.model import Container

    store = ObjectStore(database)
    project = new_id()
    for name in ["logs-2024", "logs-2025", "photos", "x_a", "x_b"]:
        store.create_container(project, name, {})
    names = [
        (e.name, isinstance(e, Container)) for e in store.list_containers(project, delimiter="_")
    ]
    assert names == [("logs-2024", True), ("logs-2025", True), ("photos", True), ("x_", False)]
    reverse = [e.name for e in store.list_containers(project, reverse=True, limit=2)]
    assert reverse == ["x_b", "x_a"]
    assert [e.name for e in store.list_containers(project, prefix="logs-", marker="logs-2024")] == [
        "logs-2025"
    ]
