"""Accounts and credentials: who may do what, and the tokens and keys that say so.

A Keystone "user" here is a membership: the service username `<project>-<number>` that
one portal user has in one environment. Its password is that user's object-storage
secret, shared by all their memberships, so *Regenerate* rotates it everywhere.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from cumulo import crypto, errors
from cumulo.crypto import SecretBox
from cumulo.identity.generation import NodeGeneration
from cumulo.identity.tokens import TokenCodec, TokenPayload
from cumulo.logs import clip
from cumulo.metadata.identity import IdentityStore
from cumulo.model import Ec2Credential, Environment, Membership, Organization, Principal, Role, User

log = logging.getLogger("cumulo.identity")

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")

# Cached identity facts are at most this old: a change made on another node (sharing
# the PostgreSQL database) reaches this one within a second. Changes made on this node
# hold at once in every process: see `identity/generation.py`.
CACHE_SECONDS = 1.0


# The longest username, membership id and access key there can be (`metadata/schema.py`):
# a longer one is unknown without a lookup, and never becomes a cache or throttle key.
MAX_USERNAME = 160
MAX_ID = 32
MAX_ACCESS_KEY = 40


class CacheMiss(Exception):
    """A lookup asked for cached answers only (`cached_only=True`) missed the cache."""


async def cached_or_in_thread(call: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`call(..., cached_only=True)` inline when the caches answer it (no I/O, so no
    thread hop: the hop was 9% of a token issue); on a miss, the whole call again in a
    thread, keeping the database off the event loop. Lookups raise CacheMiss before any
    side effect (throttle counts, revocations), so the retry repeats nothing."""
    try:
        return call(*args, cached_only=True, **kwargs)
    except CacheMiss:
        return await asyncio.to_thread(call, *args, **kwargs)


class TtlCache(Generic[K, V]):
    """Entries live `seconds`, and only while the node's identity generation is the one
    they were loaded under. The generation is read before the load, so a change
    committed while a load runs leaves that entry already stale."""

    def __init__(
        self, generation: Callable[[], int], seconds: float = CACHE_SECONDS, size: int = 10000
    ) -> None:
        self.generation = generation
        self.seconds = seconds
        self.size = size
        self._items: dict[K, tuple[float, int, V]] = {}

    def get(self, key: K, load: Callable[[], V], *, cached_only: bool = False) -> V:
        now = time.monotonic()
        generation = self.generation()
        hit = self._items.get(key)
        if hit is not None and hit[1] == generation and now - hit[0] < self.seconds:
            return hit[2]
        if cached_only:
            raise CacheMiss(key)
        value = load()
        if len(self._items) >= self.size:
            self._items.clear()
        self._items[key] = (now, generation, value)
        return value

    def clear(self) -> None:
        self._items.clear()


@dataclass(frozen=True)
class _Secrets:
    """A membership row with its user's secret decrypted (cached ≤ 1 s)."""

    principal: Principal
    secret: str
    disabled: bool
    access_key: str


@dataclass(frozen=True)
class AuthResult:
    principal: Principal
    payload: TokenPayload
    token: str


@dataclass(frozen=True)
class ServiceCredentials:
    organization: str
    environment: str
    username: str
    password: str
    project_name: str
    project_id: str
    access_key_id: str
    secret_access_key: str


class Throttle:
    """Refuses a name after too many failures inside the window. The counts live in the
    metadata database (`login_failures`), so every worker and node adds to the same
    count; `scope` keeps throttles with different limits apart. A long name counts
    under its digest, so client-chosen names cannot grow a row.

    `check` is one indexed point read; the database is written only on a failure, and
    on a success after one (`succeed` clears only what this process's `check` saw)."""

    def __init__(self, store: IdentityStore, scope: str, attempts: int, window: float) -> None:
        self.store = store
        self.scope = scope
        self.attempts = attempts
        self.window = window
        self._seen: set[str] = set()  # keys whose last check found failures
        self._lock = threading.Lock()

    def check(self, name: str, *, cached_only: bool = False) -> None:
        if cached_only and not self.store.db.reads_inline:
            raise CacheMiss  # a network round trip: off the event loop
        key = self._key(name)
        count = self.store.login_failures(key, time.time())
        with self._lock:
            if count:
                if len(self._seen) > 100000:
                    self._seen.clear()
                self._seen.add(key)
            else:
                self._seen.discard(key)
        if count >= self.attempts:
            raise errors.TooManyAttempts("too many failed attempts; try again later")

    def fail(self, name: str, *, cached_only: bool = False) -> None:
        if cached_only:
            raise CacheMiss  # a write: the retry in a thread counts it, once
        self.store.add_login_failure(self._key(name), time.time(), self.window)

    def succeed(self, name: str, *, cached_only: bool = False) -> None:
        key = self._key(name)
        with self._lock:
            if key not in self._seen:
                return
            if cached_only:
                raise CacheMiss
            self._seen.discard(key)
        self.store.clear_login_failures(key)

    def _key(self, name: str) -> str:
        return f"{self.scope}:{_throttle_key(name)}"


def _throttle_key(name: str) -> str:
    if len(name) <= 64:
        return name
    return "sha256:" + hashlib.sha256(name.encode(errors="surrogatepass")).hexdigest()


class IdentityService:
    def __init__(
        self,
        store: IdentityStore,
        box: SecretBox,
        codec: TokenCodec,
        generation: NodeGeneration,
        *,
        token_ttl: int,
        login_attempts: int,
        lockout_seconds: int,
    ) -> None:
        self.store = store
        self.box = box
        self.codec = codec
        self.token_ttl = token_ttl
        self.throttle = Throttle(store, "keystone", login_attempts, lockout_seconds)
        self.generation = generation
        current = generation.value
        self._by_username: TtlCache[str, _Secrets | None] = TtlCache(current)
        self._by_membership: TtlCache[str, _Secrets | None] = TtlCache(current)
        self._by_access_key: TtlCache[str, tuple[_Secrets, str] | None] = TtlCache(current)
        self._revoked: TtlCache[str, set[str]] = TtlCache(current)

    # --- administration -----------------------------------------------------
    # Every change to who a username, access key or token is ends with `forget()`.

    def create_organization(self, name: str) -> Organization:
        check_name("organization", name)
        return self.store.create_organization(name)

    def create_environment(self, org_name: str, name: str) -> Environment:
        check_name("environment", name)
        org = self.store.organization(org_name)
        # The seed's project names read "<environment>-<organization>" in places and
        # "<organization>-<environment>" in others; the issue fixes "<org>-<env>".
        return self.store.create_environment(org, name, f"{org.name}-{name}")

    def create_user(
        self,
        login: str,
        *,
        email: str | None = None,
        password: str | None = None,
        is_admin: bool = False,
    ) -> User:
        check_name("login", login)
        return self.store.create_user(
            login,
            email=email,
            password_hash=crypto.hash_password(password) if password else None,
            secret_enc=self.box.encrypt(crypto.new_secret()),
            is_admin=is_admin,
        )

    def ensure_admin(self, login: str, password: str | None) -> tuple[User, str] | None:
        """Creates the first system admin if there is none; returns it and its password."""
        if self.store.count_admins() > 0:
            return None
        password = password or crypto.new_secret(20)
        try:
            return self.create_user(login, password=password, is_admin=True), password
        except errors.Conflict:
            return None

    def environment(self, org_name: str, env_name: str) -> Environment:
        return self.store.environment(self.store.organization(org_name), env_name)

    def add_member(self, org_name: str, env_name: str, login: str, role: Role) -> Membership:
        env = self.environment(org_name, env_name)
        membership = self.store.add_member(self.store.user(login), env, role)
        self.forget()  # a lookup of the new username or key may have cached "unknown"
        return membership

    def remove_member(self, org_name: str, env_name: str, login: str) -> Membership:
        """Ends the membership: its username, access key, EC2 credentials and tokens."""
        env = self.environment(org_name, env_name)
        gone = self.store.remove_member(self.store.user(login), env)
        self.forget()
        return gone

    def set_role(self, org_name: str, env_name: str, login: str, role: Role) -> None:
        env = self.environment(org_name, env_name)
        self.store.set_role(self.store.user(login), env, role)
        self.forget()

    def credentials(self, login: str, org_name: str, env_name: str) -> ServiceCredentials:
        env = self.environment(org_name, env_name)
        user = self.store.user(login)
        membership = self.store.membership(user, env)
        _, secret_enc = self.store.user_secret(user.id)
        secret = self.box.decrypt(secret_enc)
        return ServiceCredentials(
            organization=org_name,
            environment=env_name,
            username=membership.username,
            password=secret,
            project_name=env.project_name,
            project_id=env.project_id,
            access_key_id=membership.access_key,
            secret_access_key=secret,
        )

    def regenerate(self, login: str) -> str:
        """A new object-storage secret for every environment of the user, for Swift and
        S3 alike: old tokens die, and so do the user's EC2 credentials (deleted with
        the secret's change, in one transaction)."""
        user = self.store.user(login)
        secret = crypto.new_secret()
        self.store.set_secret(user.id, self.box.encrypt(secret))
        self.forget()
        return secret

    def forget(self) -> None:
        """Announces an identity change this process committed: every process of the
        node drops the cached facts it loaded before (this one at once, too)."""
        self.generation.bump()
        for cache in (self._by_username, self._by_membership, self._by_access_key, self._revoked):
            cache.clear()

    # --- lookups (cached) ---------------------------------------------------

    def _secrets(self, row: Any) -> _Secrets | None:
        if row is None:
            return None
        return _Secrets(
            principal=Principal(
                user_id=row.user_id,
                membership_id=row.membership_id,
                username=row.username,
                project_id=row.project_id,
                project_name=row.project_name,
                role=Role(row.role),
                secret_generation=row.secret_generation,
            ),
            secret=self.box.decrypt(row.secret_enc),
            disabled=bool(row.disabled),
            access_key=row.access_key,
        )

    def _by_name(self, username: str, cached_only: bool = False) -> _Secrets | None:
        if len(username) > MAX_USERNAME:
            return None  # no such user, and not worth a cache entry of that size
        return self._by_username.get(
            username,
            lambda: self._secrets(self.store.principal_row(username=username)),
            cached_only=cached_only,
        )

    def _by_id(self, membership_id: str, cached_only: bool = False) -> _Secrets | None:
        if len(membership_id) > MAX_ID:
            return None
        return self._by_membership.get(
            membership_id,
            lambda: self._secrets(self.store.principal_row(id=membership_id)),
            cached_only=cached_only,
        )

    def s3_key(self, access_key: str, *, cached_only: bool = False) -> tuple[Principal, str] | None:
        """The principal and secret behind an S3 access key id, or None."""
        if len(access_key) > MAX_ACCESS_KEY:
            return None

        def load() -> tuple[_Secrets, str] | None:
            found = self._secrets(self.store.principal_row(access_key=access_key))
            if found is not None:
                return found, found.secret
            rows = self.store.ec2_rows(access=access_key)
            if not rows:
                return None
            owner = self._secrets(self.store.principal_row(id=rows[0].membership_id))
            return None if owner is None else (owner, self.box.decrypt(rows[0].secret_enc))

        hit = self._by_access_key.get(access_key, load, cached_only=cached_only)
        if hit is None or hit[0].disabled:
            return None
        return hit[0].principal, hit[1]

    # --- authentication -----------------------------------------------------

    def authenticate(
        self,
        *,
        username: str | None = None,
        user_id: str | None = None,
        password: str,
        project_name: str | None = None,
        project_id: str | None = None,
        unscoped: bool = False,
        cached_only: bool = False,
    ) -> AuthResult:
        name = username or user_id or ""
        self.throttle.check(name, cached_only=cached_only)
        found = (
            self._by_name(username, cached_only)
            if username
            else self._by_id(user_id or "", cached_only)
        )
        if (
            found is None
            or found.disabled
            or not password
            or not crypto.equal(found.secret, password)
        ):
            self.throttle.fail(name, cached_only=cached_only)
            log.info("failed password authentication for %s", clip(name))
            raise errors.Unauthenticated("The request you have made requires authentication.")
        self.throttle.succeed(name, cached_only=cached_only)
        return self._issue(found.principal, ("password",), project_name, project_id, unscoped)

    def rescope(
        self,
        token: str,
        *,
        project_name: str | None = None,
        project_id: str | None = None,
        unscoped: bool = False,
        cached_only: bool = False,
    ) -> AuthResult:
        principal, payload = self.validate(token, cached_only=cached_only)
        return self._issue(
            principal,
            payload.methods if "token" in payload.methods else (*payload.methods, "token"),
            project_name,
            project_id,
            unscoped,
            expires_at=payload.expires_at,
        )

    def _issue(
        self,
        principal: Principal,
        methods: tuple[str, ...],
        project_name: str | None,
        project_id: str | None,
        unscoped: bool,
        *,
        expires_at: float | None = None,
    ) -> AuthResult:
        if project_name is not None and project_name != principal.project_name:
            raise errors.Unauthenticated("The request you have made requires authentication.")
        if project_id is not None and project_id != principal.project_id:
            raise errors.Unauthenticated("The request you have made requires authentication.")
        now = time.time()
        payload = TokenPayload(
            membership_id=principal.membership_id,
            project_id=None if unscoped else principal.project_id,
            methods=methods,
            issued_at=now,
            expires_at=expires_at or now + self.token_ttl,
            audit_id=uuid.uuid4().hex,
            secret_generation=principal.secret_generation,
        )
        return AuthResult(principal, payload, self.codec.encode(payload))

    def validate(self, token: str, *, cached_only: bool = False) -> tuple[Principal, TokenPayload]:
        payload = self.codec.decode(token)
        found = self._by_id(payload.membership_id, cached_only)
        if (
            found is None
            or found.disabled
            or found.principal.secret_generation != payload.secret_generation
            or payload.audit_id
            in self._revoked.get("all", self.store.revoked, cached_only=cached_only)
        ):
            raise errors.TokenNotFound("the token is not valid")
        return found.principal, payload

    def revoke(self, token: str) -> None:
        _, payload = self.validate(token)
        self.store.revoke(payload.audit_id, payload.expires_at)
        self.forget()

    # --- EC2 credentials ----------------------------------------------------

    def create_ec2(self, principal: Principal, project_id: str) -> Ec2Credential:
        if project_id != principal.project_id:
            raise errors.AccessDenied("credentials can be made for your own project only")
        secret = crypto.new_secret()
        made = self.store.add_ec2(principal.membership_id, project_id, self.box.encrypt(secret))
        self.forget()
        return Ec2Credential(made.access, made.membership_id, project_id, secret, made.created_at)

    def list_ec2(self, principal: Principal) -> list[Ec2Credential]:
        return [
            self._ec2(row) for row in self.store.ec2_rows(membership_id=principal.membership_id)
        ]

    def get_ec2(self, principal: Principal, access: str) -> Ec2Credential:
        rows = self.store.ec2_rows(membership_id=principal.membership_id, access=access)
        if not rows:
            raise errors.CredentialNotFound("no such EC2 credential")
        return self._ec2(rows[0])

    def delete_ec2(self, principal: Principal, access: str) -> None:
        self.store.delete_ec2(principal.membership_id, access)
        self.forget()

    def member_ec2(self, login: str, org_name: str, env_name: str) -> list[Ec2Credential]:
        """A membership's EC2 credentials, for listing: their secrets are not decrypted
        (they were shown once, when made)."""
        membership = self.store.membership(
            self.store.user(login), self.environment(org_name, env_name)
        )
        return [
            Ec2Credential(row.access, row.membership_id, row.project_id, "", row.created_at)
            for row in self.store.ec2_rows(membership_id=membership.id)
        ]

    def delete_member_ec2(self, login: str, org_name: str, env_name: str, access: str) -> None:
        membership = self.store.membership(
            self.store.user(login), self.environment(org_name, env_name)
        )
        self.store.delete_ec2(membership.id, access)
        self.forget()

    def _ec2(self, row: Any) -> Ec2Credential:
        return Ec2Credential(
            access=row.access,
            membership_id=row.membership_id,
            project_id=row.project_id,
            secret=self.box.decrypt(row.secret_enc),
            created_at=row.created_at,
        )


def check_name(what: str, name: str) -> None:
    import re

    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,62}", name):
        raise errors.InvalidName(
            f"{what} {name!r}: use 1-63 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
