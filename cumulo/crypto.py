"""Password hashing, secret encryption at rest, and generators for ids and keys."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import random
import secrets
import string
import time
import uuid
from pathlib import Path
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cumulo import errors

_hasher = PasswordHasher()
_ALNUM = string.ascii_letters + string.digits


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(hashed: str | None, password: str) -> bool:
    if not hashed:
        return False
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def equal(a: str, b: str) -> bool:
    """Constant-time comparison of two secrets."""
    return hmac.compare_digest(a.encode(), b.encode())


def new_id() -> str:
    return uuid.uuid4().hex


def new_sortable_id() -> str:
    """A unique id that sorts by creation time (microseconds, then 72 random bits), for
    rows created at a high rate: each insert lands at the end of the id index instead
    of on a random page of it. Not a secret (`random` reseeds itself in forked
    children, so processes do not repeat each other)."""
    return f"{time.time_ns() // 1000:014x}{random.getrandbits(72):018x}"


def new_secret(length: int = 40) -> str:
    """An object-storage secret: letters and digits only, safe to paste in any shell."""
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def new_access_key() -> str:
    return secrets.token_hex(16)


class SecretFernet(Protocol):
    """Where the secret-encryption keys come from (the cluster's key ring)."""

    def secret_fernet(self) -> MultiFernet: ...


class SecretBox:
    """Encrypts recoverable secrets (S3 secret keys) with the cluster's secret keys.

    The keys are kept in the metadata database, wrapped by the cluster key
    (`identity/keys.py`); decryption tries every key, so a key can be added in front
    and old ciphertexts still open.
    """

    def __init__(self, keys: SecretFernet) -> None:
        self.keys = keys

    def encrypt(self, secret: str) -> str:
        return self.keys.secret_fernet().encrypt(secret.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self.keys.secret_fernet().decrypt(token.encode()).decode()
        except InvalidToken:
            raise ValueError("a stored secret cannot be decrypted with the keys at hand") from None


# The value whose MAC under the cluster key the database keeps: a node compares it
# before it unwraps anything, so a wrong key is told apart from damaged rows.
_CHECK_MESSAGE = b"cumulo cluster key check v1"
CLUSTER_KEY_BYTES = 32


class ClusterKey:
    """The key every node of a cluster is given; it wraps the token and secret keys
    stored in the shared metadata database.

    The file holds base64 text (`openssl rand -base64 32`). Two keys are derived from it
    with HKDF, one to wrap (Fernet: AES-128-CBC with an HMAC-SHA256), one to make the
    check value, so the check value reveals nothing about the wrapping key.
    """

    def __init__(self, material: bytes, source: str) -> None:
        if len(material) < 16:
            raise errors.ClusterKeyInvalid(
                f"the cluster key in {source} is too short: use 32 random bytes, "
                "base64-encoded (openssl rand -base64 32)"
            )
        self.source = source
        self._wrap = Fernet(base64.urlsafe_b64encode(_derive(material, b"cumulo wrap")))
        self._check = _derive(material, b"cumulo check")

    @classmethod
    def from_text(cls, text: str, source: str) -> ClusterKey:
        try:
            material = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise errors.ClusterKeyInvalid(
                f"the cluster key in {source} is not base64 text (openssl rand -base64 32)"
            ) from None
        return cls(material, source)

    @classmethod
    def load(cls, path: Path, *, create: bool = False) -> ClusterKey:
        """Reads the key file; `create` makes one (mode 0600) when there is none."""
        if create and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            text = base64.b64encode(secrets.token_bytes(CLUSTER_KEY_BYTES)).decode() + "\n"
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process made it first: read theirs
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(text)
                    f.flush()
                    os.fsync(f.fileno())
        try:
            return cls.from_text(path.read_text(), str(path))
        except FileNotFoundError:
            raise errors.ClusterKeyMissing(
                f"the cluster key file {path} does not exist: give every node the same "
                "--cluster-key-file (or CUMULO_CLUSTER_KEY_FILE), or the data dir of a node"
            ) from None

    def check_value(self) -> bytes:
        return hmac.new(self._check, _CHECK_MESSAGE, hashlib.sha256).digest()

    def matches(self, check_value: bytes) -> bool:
        return hmac.compare_digest(self.check_value(), check_value)

    def wrap(self, key: bytes) -> bytes:
        return self._wrap.encrypt(key)

    def unwrap(self, wrapped: bytes) -> bytes:
        try:
            return self._wrap.decrypt(wrapped)
        except InvalidToken:
            raise errors.ClusterKeyMismatch(
                f"a stored key cannot be unwrapped with the cluster key in {self.source}"
            ) from None


def _derive(material: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=purpose).derive(material)
