"""Password hashing, secret encryption at rest, and generators for ids and keys."""

from __future__ import annotations

import hmac
import os
import random
import secrets
import string
import time
import uuid
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

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


class SecretBox:
    """Encrypts recoverable secrets (S3 secret keys) with keys kept in the data dir.

    The key file holds one Fernet key per line, newest first: decryption tries all,
    so a key can be added in front and old ciphertexts still open.
    """

    def __init__(self, key_file: Path, *, create: bool = True) -> None:
        self.key_file = key_file
        self._fernet: MultiFernet | None = None
        if not key_file.exists():
            if not create:
                return  # an admin command without the data dir: see `_keys`
            key_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(Fernet.generate_key().decode() + "\n")
        keys = [line.strip() for line in key_file.read_text().splitlines() if line.strip()]
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def _keys(self) -> MultiFernet:
        if self._fernet is None:
            # A new key here would encrypt secrets no server can read.
            raise errors.DataDirMissing(
                f"{self.key_file} is missing: this needs the data dir of a node "
                "(--data-dir or CUMULO_DATA_DIR)"
            )
        return self._fernet

    def encrypt(self, secret: str) -> str:
        return self._keys().encrypt(secret.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._keys().decrypt(token.encode()).decode()
        except InvalidToken:
            raise ValueError("a stored secret cannot be decrypted with the keys at hand") from None
