"""Stateless tokens: Fernet-encrypted payloads, keys in a rotating repository.

The repository follows Keystone's fernet-keys layout: files named by integers, `0` is
the staged key (next to become primary), the highest number is the primary key that
encrypts, and every key decrypts. `rotate()` promotes the staged key, stages a new
one and drops the oldest beyond the configured count. Every node sharing the directory
(or a copy of it) validates every other node's tokens; processes notice a rotation
within a second.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from cumulo import errors


@dataclass(frozen=True)
class TokenPayload:
    membership_id: str
    project_id: str | None
    methods: tuple[str, ...]
    issued_at: float
    expires_at: float
    audit_id: str
    secret_generation: int


class KeyRepository:
    def __init__(self, directory: Path, max_keys: int = 3) -> None:
        self.directory = directory
        self.max_keys = max(max_keys, 2)
        self._lock = threading.Lock()
        self._fernet: MultiFernet | None = None
        self._checked = 0.0
        self._signature: tuple[tuple[str, float], ...] = ()

    def initialize(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self._key_files():
            self._write_key(0)
            self._write_key(1)

    def rotate(self) -> int:
        """Promotes the staged key; returns the new primary's number."""
        self.initialize()
        numbers = sorted(self._key_files())
        primary = numbers[-1] + 1
        os.rename(self.directory / "0", self.directory / str(primary))
        self._write_key(0)
        keep = sorted(self._key_files())
        # Keep the staged key, the new primary and the newest secondaries.
        for number in keep[1 : max(1, len(keep) - self.max_keys + 1)]:
            (self.directory / str(number)).unlink()
        self._checked = 0.0
        return primary

    def _write_key(self, number: int) -> None:
        tmp = self.directory / f".{number}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(Fernet.generate_key())
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, self.directory / str(number))

    def _key_files(self) -> list[int]:
        try:
            return [int(p.name) for p in self.directory.iterdir() if p.name.isdigit()]
        except FileNotFoundError:
            return []

    def fernet(self) -> MultiFernet:
        now = time.monotonic()
        if self._fernet is not None and now - self._checked < 1.0:
            return self._fernet
        with self._lock:
            signature = tuple(
                sorted(
                    (p.name, p.stat().st_mtime)
                    for p in self.directory.iterdir()
                    if p.name.isdigit()
                )
            )
            if self._fernet is None or signature != self._signature:
                numbers = sorted((int(name) for name, _ in signature), reverse=True)
                if not numbers:
                    raise RuntimeError(f"no token keys in {self.directory}")
                # Primary (highest) first: MultiFernet encrypts with the first key.
                keys = [Fernet((self.directory / str(n)).read_bytes().strip()) for n in numbers]
                self._fernet = MultiFernet(keys)
                self._signature = signature
            self._checked = now
            return self._fernet


class TokenCodec:
    def __init__(self, keys: KeyRepository) -> None:
        self.keys = keys

    def encode(self, payload: TokenPayload) -> str:
        body = json.dumps(
            [
                1,
                payload.membership_id,
                payload.project_id,
                list(payload.methods),
                round(payload.issued_at, 3),
                round(payload.expires_at, 3),
                payload.audit_id,
                payload.secret_generation,
            ],
            separators=(",", ":"),
        ).encode()
        token = self.keys.fernet().encrypt(body)
        # Fernet tokens are URL-safe base64 already; drop the padding as Keystone does.
        return token.decode().rstrip("=")

    def decode(self, token: str) -> TokenPayload:
        try:
            padded = token + "=" * (-len(token) % 4)
            base64.urlsafe_b64decode(padded.encode())
            body = json.loads(self.keys.fernet().decrypt(padded.encode()))
            version, membership, project, methods, issued, expires, audit, generation = body
        except (InvalidToken, ValueError, TypeError):
            raise errors.TokenNotFound("the token is not valid") from None
        if version != 1:
            raise errors.TokenNotFound("the token is not valid")
        if expires <= time.time():
            raise errors.TokenNotFound("the token has expired")
        return TokenPayload(
            membership_id=membership,
            project_id=project,
            methods=tuple(methods),
            issued_at=issued,
            expires_at=expires,
            audit_id=audit,
            secret_generation=generation,
        )
