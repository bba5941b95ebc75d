"""Stateless tokens: Fernet-encrypted payloads, keys in a rotating repository.

The keys follow Keystone's fernet-keys numbering: `0` is the staged key (next to
become primary), the highest number is the primary key that encrypts, and every key
decrypts. A rotation promotes the staged key, stages a new one and drops the oldest
beyond the configured count. The keys live in the shared metadata database, wrapped by
the cluster key (`identity/keys.py`), so every node validates every other node's
tokens; processes notice a rotation within a second.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.fernet import InvalidToken, MultiFernet

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


class TokenKeys(Protocol):
    """The token keys at hand, primary first (the cluster's key ring, `identity/keys.py`)."""

    def token_fernet(self) -> MultiFernet: ...


def rotation(max_keys: int) -> Callable[[list[int]], tuple[int, list[int]]]:
    """Keystone's rotation, on key numbers: the staged key (0) becomes the primary
    (one above the highest), a new key is staged, and the oldest secondaries beyond
    `max_keys` (at least 2: staged and primary) are dropped."""
    keep_count = max(max_keys, 2)

    def plan(numbers: list[int]) -> tuple[int, list[int]]:
        primary = max(numbers) + 1
        after = sorted({n for n in numbers if n != 0} | {0, primary})
        # Keep the staged key, the new primary and the newest secondaries.
        return primary, after[1 : max(1, len(after) - keep_count + 1)]

    return plan


def legacy_repository(directory: Path) -> list[tuple[int, bytes]]:
    """The keys of a Keystone fernet-keys directory (how a node kept its token keys
    before they moved into the metadata database), by number."""
    try:
        names = [p for p in directory.iterdir() if p.name.isdigit()]
    except FileNotFoundError:
        return []
    return sorted((int(p.name), p.read_bytes().strip()) for p in names)


class TokenCodec:
    def __init__(self, keys: TokenKeys) -> None:
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
        token = self.keys.token_fernet().encrypt(body)
        # Fernet tokens are URL-safe base64 already; drop the padding as Keystone does.
        return token.decode().rstrip("=")

    def decode(self, token: str) -> TokenPayload:
        try:
            padded = token + "=" * (-len(token) % 4)
            base64.urlsafe_b64decode(padded.encode())
            body = json.loads(self.keys.token_fernet().decrypt(padded.encode()))
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
