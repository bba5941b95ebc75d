"""Composition root: builds the stores, the services and the ASGI apps from settings.

This is the one place that chooses adapters (SQLite or PostgreSQL, local disk blobs).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from cumulo.blobs.localfs import LocalBlobStore
from cumulo.config import Settings
from cumulo.crypto import SecretBox
from cumulo.identity.admin import AdminService
from cumulo.identity.generation import NodeGeneration
from cumulo.identity.keys import ClusterKeys
from cumulo.identity.portal import PortalService
from cumulo.identity.service import IdentityService
from cumulo.identity.tokens import TokenCodec
from cumulo.metadata.db import Database
from cumulo.metadata.identity import IdentityStore
from cumulo.metadata.keys import ClusterKeyStore
from cumulo.metadata.objects import ObjectStore
from cumulo.metadata.portal import PortalStore
from cumulo.metadata.uploads import UploadStore
from cumulo.objects.multipart import MultipartService
from cumulo.objects.service import ObjectService

log = logging.getLogger("cumulo")

ADMIN_LOGIN = "admin"


@dataclass
class Cumulo:
    settings: Settings
    db: Database
    keys: ClusterKeys
    identity: IdentityService
    objects: ObjectService
    multipart: MultipartService
    portal: PortalService
    admin: AdminService

    def collect_orphans(self) -> int:
        return self.objects.collect_orphans(self.multipart.live_blobs())


def build(settings: Settings, *, migrate: bool = True, create: bool = True) -> Cumulo:
    """`migrate` brings the database up to date and, with `create` (a node's start-up,
    in-process tests), sets up the cluster keys, under the database's set-up lock.
    `create=False` (the admin commands) makes nothing: with a metadata URL they work on
    the database alone, and what needs the cluster key (a user's secret, token keys)
    says so when used."""
    data = settings.data_path
    local = create or data.is_dir()
    if create:
        data.mkdir(parents=True, exist_ok=True)
    db = Database(
        settings.database_url,
        pool_timeout=settings.metadata_pool_timeout,
        connect_timeout=settings.metadata_connect_timeout,
    )
    # A cluster key file named by the settings is the operator's: never made here.
    keys = ClusterKeys(
        ClusterKeyStore(db),
        settings.cluster_key_path,
        create=create and not settings.cluster_key_file,
        token_key_count=settings.token_key_count,
    )
    if migrate:
        with db.setup_lock():
            db.migrate()
            if create:
                keys.setup(data)
    identity = IdentityService(
        IdentityStore(db),
        SecretBox(keys),
        TokenCodec(keys),
        # No data dir, no server on it: no other process to tell of changes.
        NodeGeneration(data / "identity.generation" if local else None),
        token_ttl=settings.token_ttl,
        login_attempts=settings.login_attempts,
        lockout_seconds=settings.lockout_seconds,
    )
    object_store = ObjectStore(db)
    objects = ObjectService(
        object_store,
        LocalBlobStore(data / "blobs", fsync=settings.fsync, create=local),
        max_object_size=settings.max_object_size,
        inline_max=settings.inline_max_bytes or -1,
    )
    multipart = MultipartService(objects, UploadStore(db, object_store))
    portal = PortalService(identity, PortalStore(db), settings)
    admin = AdminService(identity, portal)
    return Cumulo(settings, db, keys, identity, objects, multipart, portal, admin)


def asgi_apps(cumulo: Cumulo) -> dict[str, Any]:
    """The ASGI app of each endpoint, keyed by endpoint name."""
    from cumulo.keystone.app import KeystoneApp
    from cumulo.portal.app import PortalApp
    from cumulo.s3.app import S3App
    from cumulo.swift.app import SwiftApp

    s3 = S3App(cumulo.identity, cumulo.objects, cumulo.multipart, cumulo.settings)
    return {
        "identity": KeystoneApp(cumulo.identity, cumulo.settings),
        # One port, one data set: /info and /v1/... are Swift, everything else S3.
        "object": SwiftApp(cumulo.identity, cumulo.objects, cumulo.settings, fallback=s3),
        "portal": PortalApp(cumulo.portal, cumulo.admin, cumulo.settings),
    }
