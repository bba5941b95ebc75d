"""The cluster's key ring: token keys and secret-encryption keys, shared by every node.

Nodes on one metadata database share its keys: they are stored there wrapped by the
cluster key (`crypto.ClusterKey`), which every node is given (`--cluster-key-file`; by
default `<data-dir>/cluster.key`, made on first start). The database also keeps a check
value of the cluster key, compared before anything is unwrapped: a node given another
key refuses to start with one clear line instead of failing on every login.

Each process keeps the unwrapped keys and polls the key set's generation (one integer)
at most once a second, so a rotation made on any node holds everywhere within a second.

Before this, a node kept its keys in its data dir (`fernet-keys/`, `secret.key`); the
first start on such a data dir moves them into the database, so its tokens and stored
secrets keep working, and renames the files to `*.migrated`.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet

from cumulo import errors
from cumulo.crypto import ClusterKey
from cumulo.identity.tokens import legacy_repository, rotation
from cumulo.metadata.keys import ClusterKeyStore

log = logging.getLogger("cumulo.identity.keys")

TOKEN = "token"
SECRET = "secret"
# How long a process trusts its keys before it polls the generation.
FRESH_SECONDS = 1.0


class ClusterKeys:
    """`create`: the cluster key file may be made (a node's first start, on its own
    data dir); admin commands never make one (it would wrap nothing the nodes can read)."""

    def __init__(
        self,
        store: ClusterKeyStore,
        key_file: Path,
        *,
        create: bool = False,
        token_key_count: int = 3,
    ) -> None:
        self.store = store
        self.key_file = key_file
        self.create = create
        self.token_key_count = token_key_count
        self._key: ClusterKey | None = None
        self._lock = threading.Lock()
        self._rings: dict[str, MultiFernet] = {}
        self._generation: int | None = None
        self._checked = 0.0
        self._polls_failing = False  # logged once per outage, not once a second
        self._verified = False

    # --- set-up (under the database's set-up lock) --------------------------------

    def setup(self, legacy_dir: Path | None = None) -> None:
        """Makes the database's key set if it has none (from a data dir's old key files
        when `legacy_dir` holds them), or checks that the cluster key matches it."""
        key = self.cluster_key()
        self._verify(key)
        legacy_tokens = legacy_repository(legacy_dir / "fernet-keys") if legacy_dir else []
        legacy_secrets = _legacy_secret_keys(legacy_dir / "secret.key") if legacy_dir else []
        wanted: dict[str, list[tuple[int, bytes]]] = {}
        imported: list[Path] = []
        if not self.store.keys(TOKEN):
            tokens = legacy_tokens or [(0, Fernet.generate_key()), (1, Fernet.generate_key())]
            wanted[TOKEN] = [(n, key.wrap(k)) for n, k in tokens]
            if legacy_tokens and legacy_dir:
                imported.append(legacy_dir / "fernet-keys")
        if not self.store.keys(SECRET):
            # The file lists its keys newest first; positions count up to the newest.
            secrets = legacy_secrets or [Fernet.generate_key()]
            count = len(secrets)
            wanted[SECRET] = [(count - 1 - i, key.wrap(k)) for i, k in enumerate(secrets)]
            if legacy_secrets and legacy_dir:
                imported.append(legacy_dir / "secret.key")
        if wanted or self.store.key_check() is None:
            self.store.initialize(key.check_value(), wanted)
        self._retire(imported)
        if legacy_dir is not None:
            self._warn_unused(legacy_dir, imported)
        self._checked = 0.0

    def _retire(self, imported: list[Path]) -> None:
        """The files now in the database are renamed, not deleted: they are the user's."""
        for path in imported:
            target = path.with_name(path.name + ".migrated")
            path.rename(target)
            log.info("moved %s into the metadata database; the file is now %s", path, target)

    def _warn_unused(self, data: Path, imported: list[Path]) -> None:
        for name in ("fernet-keys", "secret.key"):
            path = data / name
            if path.exists() and path not in imported:
                log.warning(
                    "%s is not used: this cluster's keys are in its metadata database", path
                )

    # --- the keys at hand -------------------------------------------------------

    def cluster_key(self) -> ClusterKey:
        if self._key is None:
            self._key = ClusterKey.load(self.key_file, create=self.create)
        return self._key

    def verify(self) -> None:
        """Refuses a cluster key other than the one the database was set up with."""
        self._verify(self.cluster_key())

    def _verify(self, key: ClusterKey) -> None:
        check = self.store.key_check()
        if check is not None and not key.matches(check):
            raise errors.ClusterKeyMismatch(
                f"the cluster key in {key.source} does not match the one this database was "
                "set up with (every node on it needs the same --cluster-key-file)"
            )
        self._verified = check is not None

    def token_fernet(self) -> MultiFernet:
        return self._ring(TOKEN)

    def secret_fernet(self) -> MultiFernet:
        return self._ring(SECRET)

    def _ring(self, kind: str) -> MultiFernet:
        now = time.monotonic()
        ring = self._rings.get(kind)
        if ring is not None and now - self._checked < FRESH_SECONDS:
            return ring
        with self._lock:
            try:
                generation = self.store.generation()
            except errors.Unavailable:
                if ring is None:
                    raise
                # The keys at hand are still good: a rotation keeps the old ones, and
                # the request that brought us here meets the outage on its own.
                if not self._polls_failing:
                    log.warning("cannot poll the cluster key generation; keeping the keys at hand")
                    self._polls_failing = True
                self._checked = now
                return ring
            if self._polls_failing:
                log.info("polling the cluster key generation again")
                self._polls_failing = False
            if generation is None:
                raise errors.ClusterNotSetUp(
                    "the metadata database holds no cluster keys yet: `cumulo serve` "
                    "sets them up on its first start"
                )
            if generation != self._generation:
                self._rings.clear()
                self._generation = generation
            ring = self._rings.get(kind)
            if ring is None:
                ring = self._load(kind)
                self._rings[kind] = ring
            self._checked = now
            return ring

    def _load(self, kind: str) -> MultiFernet:
        key = self.cluster_key()
        if not self._verified:
            self._verify(key)
        rows = self.store.keys(kind)  # highest first: the primary (or newest) encrypts
        if not rows:
            raise errors.ClusterNotSetUp(f"the metadata database holds no {kind} keys")
        return MultiFernet([Fernet(key.unwrap(wrapped)) for _, wrapped in rows])

    # --- rotation ---------------------------------------------------------------

    def rotate_tokens(self) -> int:
        """Keystone's rotation, in the database (from any node); returns the new
        primary's number. Concurrent rotations queue on the database (see the store)."""
        key = self.cluster_key()
        self._verify(key)
        primary = self.store.rotate(
            TOKEN, key.wrap(Fernet.generate_key()), rotation(self.token_key_count)
        )
        if primary is None:
            raise errors.ClusterNotSetUp(
                "the metadata database holds no token keys yet: `cumulo serve` sets them up"
            )
        self._checked = 0.0
        return primary


def _legacy_secret_keys(path: Path) -> list[bytes]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    return [line.strip().encode() for line in text.splitlines() if line.strip()]
