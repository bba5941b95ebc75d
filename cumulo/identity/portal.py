"""The portal's accounts: sign-in and sessions, API keys, passwords, languages, the
user's own services and credentials, and the activity log.

No HTTP here: the portal front end turns requests into these calls. Every call that
acts for someone takes an `Actor` (the signed-in user, or the owner of an API key).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from cumulo import crypto, errors
from cumulo.config import Settings
from cumulo.identity.service import IdentityService, Throttle
from cumulo.identity.snippets import creds_document
from cumulo.logs import clip
from cumulo.metadata.portal import PortalStore, PortalUser, Service
from cumulo.model import ActivityEvent, ApiKey, Ec2Credential, User

log = logging.getLogger("cumulo.portal")

SESSION_TTL = 12 * 3600.0
INVITATION_TTL = 7 * 86400.0
LANGUAGES = ("en", "es")
API_KEY_PREFIX = "cumulo_"
MIN_PASSWORD = 8
# Any text without control characters and not only blanks (also in the OpenAPI document).
# Explicit ranges only: `\s` differs between Python and ECMAScript (OpenAPI tools).
KEY_NAME_PATTERN = r"^[^\u0000-\u001f\u007f]*[^\u0000-\u0020\u007f-\u00a0][^\u0000-\u001f\u007f]*$"
# ASCII only and no character classes whose meaning differs between regex engines
# (Python's \s matches U+0085 and U+001C-1F; ECMAScript's, used by OpenAPI tools, does
# not), so the served schema and the server's check accept exactly the same addresses.
EMAIL_PATTERN = r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$"


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the login is unknown, so a miss costs what a hit costs."""
    return crypto.hash_password(secrets.token_hex(8))


def digest(token: str) -> str:
    """Session, invitation and API-key tokens are random: SHA-256 is enough to store them."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Actor:
    """Who a portal request acts for, and how they proved it."""

    user: User
    ip: str
    language: str | None
    session_id: str | None = None
    csrf: str | None = None
    api_key_id: str | None = None

    @property
    def login(self) -> str:
        return self.user.login


class PortalService:
    def __init__(self, identity: IdentityService, store: PortalStore, settings: Settings) -> None:
        self.identity = identity
        self.store = store
        self.settings = settings
        self.by_login = Throttle(
            identity.store, "portal", settings.login_attempts, settings.lockout_seconds
        )
        # A wider net per address, against one client guessing across many logins.
        self.by_ip = Throttle(
            identity.store, "portal-ip", settings.login_attempts * 4, settings.lockout_seconds
        )

    # --- the activity log ---------------------------------------------------

    def record(
        self,
        actor: Actor | None,
        action: str,
        target: str,
        *,
        organization_id: str | None = None,
        subject_id: str | None = None,
        actor_name: str | None = None,
        ip: str | None = None,
    ) -> None:
        self.store.record(
            ActivityEvent(
                id=crypto.new_id(),
                at=time.time(),
                actor=(actor_name or (actor.login if actor else "-"))[:64],
                actor_id=actor.user.id if actor else None,
                subject_id=subject_id or (actor.user.id if actor else None),
                action=action,
                target=target[:300],
                organization_id=organization_id,
                ip=(ip if ip is not None else actor.ip if actor else "")[:64],
            )
        )

    def activity(self, actor: Actor, limit: int = 200) -> list[ActivityEvent]:
        """System admins see everything; organization admins their organizations and
        themselves; everyone else their own events."""
        if actor.user.is_admin:
            return self.store.activity(user_id=None, org_ids=None, limit=limit)
        orgs = self.store.organization_ids(actor.user.id, admin_only=True)
        return self.store.activity(user_id=actor.user.id, org_ids=orgs, limit=limit)

    # --- sign-in and sessions -----------------------------------------------

    def sign_in(self, login: str, password: str, ip: str) -> tuple[str, Actor]:
        """A new session token for the right password; failures are throttled and logged."""
        self.by_login.check(login)
        self.by_ip.check(ip)
        try:
            found: PortalUser | None = self.store.portal_user(login=login)
        except errors.UserNotFound:
            found = None
        hashed = found.password_hash if found and found.password_hash else _dummy_hash()
        good = crypto.verify_password(hashed, password) and found is not None
        if not good or found is None or found.user.disabled or not found.password_hash:
            self.by_login.fail(login)
            self.by_ip.fail(ip)
            log.info("failed portal sign-in for %s from %s", clip(login), clip(ip))
            self.record(
                None,
                "signin.failed",
                login,
                actor_name=login,
                subject_id=found.user.id if found else None,
                ip=ip,
            )
            raise errors.Unauthenticated("wrong user name or password")
        self.by_login.succeed(login)
        return self._start_session(found, ip)

    def _start_session(self, found: PortalUser, ip: str) -> tuple[str, Actor]:
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        session_id = digest(token)
        self.store.create_session(session_id, found.user.id, csrf, ip, SESSION_TTL)
        actor = Actor(found.user, ip, found.language, session_id=session_id, csrf=csrf)
        self.record(actor, "signin", found.user.login)
        return token, actor

    def session_actor(self, token: str, ip: str) -> Actor | None:
        session_id = digest(token)
        found = self.store.session(session_id)
        if found is None:
            return None
        user_id, csrf = found
        try:
            account = self.store.portal_user(user_id=user_id)
        except errors.UserNotFound:
            return None
        if account.user.disabled:
            return None
        return Actor(account.user, ip, account.language, session_id=session_id, csrf=csrf)

    def sign_out(self, actor: Actor) -> None:
        if actor.session_id is not None:
            self.store.delete_sessions(session_id=actor.session_id)

    def change_password(self, actor: Actor, current: str, new: str) -> None:
        account = self.store.portal_user(user_id=actor.user.id)
        self.by_login.check(actor.login)
        if not crypto.verify_password(account.password_hash, current):
            self.by_login.fail(actor.login)
            raise errors.AccessDenied("the current password is not right")
        self.store.set_password_hash(actor.user.id, crypto.hash_password(check_password(new)))
        # Every other session of this user ends: a changed password locks out the old.
        self.store.delete_sessions(user_id=actor.user.id, keep=actor.session_id or "")
        self.record(actor, "password.changed", actor.login)

    def set_language(self, actor: Actor, language: str | None) -> None:
        if language is not None and language not in LANGUAGES:
            raise errors.InvalidInput(f"language must be one of {', '.join(LANGUAGES)}")
        self.store.set_language(actor.user.id, language)

    # --- invitations --------------------------------------------------------

    def invite(self, by: Actor, user: User) -> str:
        token = secrets.token_urlsafe(32)
        self.store.create_invitation(digest(token), user.id, by.login, INVITATION_TTL)
        self.record(by, "user.invited", user.login, subject_id=user.id)
        return token

    def invited_user(self, token: str) -> User:
        user_id = self.store.invitation(digest(token))
        if user_id is None:
            raise errors.NotFound("this invitation link is not valid (used or expired)")
        return self.store.portal_user(user_id=user_id).user

    def accept_invitation(self, token: str, password: str, ip: str) -> tuple[str, Actor]:
        user = self.invited_user(token)
        self.store.set_password_hash(user.id, crypto.hash_password(check_password(password)))
        if not self.store.delete_invitation(digest(token)):
            raise errors.NotFound("this invitation link is not valid (used or expired)")
        return self._start_session(self.store.portal_user(user_id=user.id), ip)

    # --- API keys -----------------------------------------------------------

    def api_key_actor(self, token: str, ip: str) -> Actor | None:
        """The owner of a presented API key `cumulo_<id>_<secret>`, or None."""
        if not token.startswith(API_KEY_PREFIX):
            return None
        key_id, _, secret = token[len(API_KEY_PREFIX) :].partition("_")
        if len(key_id) != 32 or not secret:
            return None
        found = self.store.api_key_secret(key_id)
        if found is None or found[0].revoked_at is not None:
            return None
        if not crypto.equal(found[1], digest(secret)):
            return None
        try:
            account = self.store.portal_user(user_id=found[0].user_id)
        except errors.UserNotFound:
            return None
        if account.user.disabled:
            return None
        self.store.touch_api_key(key_id, ip)
        return Actor(account.user, ip, account.language, api_key_id=key_id)

    def suggested_key_name(self, actor: Actor) -> str:
        return f"{actor.login}-{time.strftime('%Y%m%d-%H%M', time.gmtime())}"

    def create_api_key(self, actor: Actor, name: str) -> tuple[ApiKey, str]:
        name = check_key_name(name or self.suggested_key_name(actor))
        secret = secrets.token_urlsafe(32)
        key = self.store.add_api_key(actor.user.id, name, digest(secret))
        self.record(actor, "apikey.created", name)
        return key, f"{API_KEY_PREFIX}{key.id}_{secret}"

    def api_keys(self, actor: Actor) -> list[ApiKey]:
        return self.store.api_keys(actor.user.id)

    def rename_api_key(self, actor: Actor, key_id: str, name: str) -> ApiKey:
        key = self.store.update_api_key(actor.user.id, key_id, name=check_key_name(name))
        self.record(actor, "apikey.renamed", name)
        return key

    def revoke_api_key(self, actor: Actor, key_id: str) -> ApiKey:
        key = self.store.update_api_key(actor.user.id, key_id, revoked_at=time.time())
        self.record(actor, "apikey.revoked", key.name)
        return key

    # --- the user's own services --------------------------------------------

    def services(self, actor: Actor) -> list[Service]:
        return self.store.services(actor.user.id)

    def service(self, actor: Actor, service_id: str) -> Service:
        """One of the actor's services; another user's is indistinguishable from none."""
        for service in self.services(actor):
            if service.environment.id == service_id:
                return service
        raise errors.NotFound("no such service among yours")

    def credentials(self, actor: Actor, service_id: str, *, reveal: str = "") -> dict[str, Any]:
        """The service's credentials document; `reveal` names why the secret is shown
        (it is logged), and without it the secret is masked."""
        service = self.service(actor, service_id)
        creds = self.identity.credentials(
            actor.login, service.organization.name, service.environment.name
        )
        document = creds_document(self.settings, creds)
        if reveal:
            self.record(
                actor,
                "secret.revealed",
                f"{service.environment.project_name} ({reveal})",
                organization_id=service.organization.id,
            )
        return document

    def ec2_credentials(self, actor: Actor, service_id: str) -> list[Ec2Credential]:
        """The EC2 credentials of the actor's membership in a service (no secrets)."""
        service = self.service(actor, service_id)
        return self.identity.member_ec2(
            actor.login, service.organization.name, service.environment.name
        )

    def delete_ec2(self, actor: Actor, service_id: str, access: str) -> None:
        service = self.service(actor, service_id)
        self.identity.delete_member_ec2(
            actor.login, service.organization.name, service.environment.name, access
        )
        self.record(
            actor,
            "ec2.deleted",
            f"{service.environment.project_name} ({access})",
            organization_id=service.organization.id,
        )

    def regenerate(self, actor: Actor) -> None:
        self.identity.regenerate(actor.login)
        orgs: set[str | None] = {s.organization.id for s in self.services(actor)}
        for org_id in orgs or {None}:
            self.record(actor, "credentials.regenerated", actor.login, organization_id=org_id)


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= 1024:
        raise errors.InvalidInput(f"a password needs at least {MIN_PASSWORD} characters")
    return password


def check_key_name(name: str) -> str:
    if not 1 <= len(name) <= 100 or not re.fullmatch(KEY_NAME_PATTERN, name):
        raise errors.InvalidInput("an API key name needs 1 to 100 characters, not only blanks")
    return name


def check_email(email: str) -> str:
    if len(email) > 254 or not re.fullmatch(EMAIL_PATTERN, email):
        raise errors.InvalidInput("the e-mail address is not valid")
    return email
