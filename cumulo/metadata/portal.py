"""SQL for the portal: accounts' portal fields, API keys, sessions, invitations, activity,
and the administrative reads and writes of environments the portal needs."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from cumulo import errors
from cumulo.crypto import new_id
from cumulo.metadata import schema as t
from cumulo.metadata.db import Database
from cumulo.metadata.identity import _membership, _org, _user
from cumulo.model import ActivityEvent, ApiKey, Environment, Membership, Organization, User


@dataclass(frozen=True)
class PortalUser:
    user: User
    password_hash: str | None
    language: str | None


@dataclass(frozen=True)
class Service:
    """One membership as the portal lists it: the environment's object storage."""

    membership: Membership
    environment: Environment
    organization: Organization


def _portal_user(row: Row[Any]) -> PortalUser:
    return PortalUser(_user(row), row.password_hash, row.language)


def _api_key(row: Row[Any]) -> ApiKey:
    return ApiKey(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        last_used_ip=row.last_used_ip,
        revoked_at=row.revoked_at,
    )


def _event(row: Row[Any]) -> ActivityEvent:
    return ActivityEvent(**{c: getattr(row, c) for c in ActivityEvent.__dataclass_fields__})


class PortalStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- users --------------------------------------------------------------

    def portal_user(self, *, login: str | None = None, user_id: str | None = None) -> PortalUser:
        query = select(t.users)
        query = query.where(
            t.users.c.login == login if login is not None else t.users.c.id == user_id
        )
        with self.db.read() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise errors.UserNotFound(f"no user {login!r}" if login else "no such user")
        return _portal_user(row)

    def users(self) -> list[PortalUser]:
        with self.db.read() as conn:
            return [
                _portal_user(r) for r in conn.execute(select(t.users).order_by(t.users.c.login))
            ]

    def _update_user(self, user_id: str, **values: Any) -> None:
        with self.db.write() as conn:
            conn.execute(update(t.users).where(t.users.c.id == user_id).values(**values))

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        self._update_user(user_id, password_hash=password_hash)

    def set_language(self, user_id: str, language: str | None) -> None:
        self._update_user(user_id, language=language)

    def set_disabled(self, user_id: str, disabled: bool) -> None:
        with self.db.write() as conn:
            conn.execute(update(t.users).where(t.users.c.id == user_id).values(disabled=disabled))
            if disabled:
                conn.execute(
                    delete(t.portal_sessions).where(t.portal_sessions.c.user_id == user_id)
                )

    # --- memberships as services, and who administers what ------------------

    def services(self, user_id: str) -> list[Service]:
        m, e, o = t.memberships, t.environments, t.organizations
        query = (
            select(m, e.c.id.label("e_id"), e.c.name.label("e_name"), o.c.name.label("o_name"))
            .add_columns(
                e.c.project_id,
                e.c.project_name,
                e.c.created_at.label("e_created_at"),
                o.c.id.label("o_id"),
                o.c.created_at.label("o_created_at"),
            )
            .join(e, e.c.id == m.c.environment_id)
            .join(o, o.c.id == e.c.organization_id)
            .where(m.c.user_id == user_id)
            .order_by(o.c.name, e.c.name)
        )
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [
            Service(
                membership=_membership(r),
                environment=Environment(
                    r.e_id, r.o_id, r.e_name, r.project_id, r.project_name, r.e_created_at
                ),
                organization=Organization(r.o_id, r.o_name, r.o_created_at),
            )
            for r in rows
        ]

    def organization_ids(self, user_id: str, *, admin_only: bool) -> set[str]:
        """The organizations where the user is a member (or, with admin_only, an admin)."""
        m, e = t.memberships, t.environments
        query = (
            select(e.c.organization_id)
            .join(m, m.c.environment_id == e.c.id)
            .where(m.c.user_id == user_id)
        )
        if admin_only:
            query = query.where(m.c.role == "admin")
        with self.db.read() as conn:
            return {r.organization_id for r in conn.execute(query)}

    def organization_by_id(self, org_id: str) -> Organization:
        with self.db.read() as conn:
            row = conn.execute(
                select(t.organizations).where(t.organizations.c.id == org_id)
            ).first()
        if row is None:
            raise errors.OrganizationNotFound("no such organization")
        return _org(row)

    def members(self, env_id: str) -> list[tuple[Membership, str]]:
        m, u = t.memberships, t.users
        query = (
            select(m, u.c.login)
            .join(u, u.c.id == m.c.user_id)
            .where(m.c.environment_id == env_id)
            .order_by(u.c.login)
        )
        with self.db.read() as conn:
            return [(_membership(r), r.login) for r in conn.execute(query)]

    # --- environments -------------------------------------------------------

    def rename_environment(self, env: Environment, name: str, project_name: str) -> Environment:
        try:
            with self.db.write() as conn:
                conn.execute(
                    update(t.environments)
                    .where(t.environments.c.id == env.id)
                    .values(name=name, project_name=project_name)
                )
        except IntegrityError:
            raise errors.Conflict(f"environment {name!r} exists already") from None
        return Environment(
            env.id, env.organization_id, name, env.project_id, project_name, env.created_at
        )

    def delete_environment(self, env: Environment) -> None:
        """Deletes an environment with no containers, its memberships and their keys."""
        with self.db.write() as conn:
            used = conn.execute(
                select(func.count())
                .select_from(t.containers)
                .where(t.containers.c.project_id == env.project_id)
            ).scalar_one()
            if used:
                raise errors.Conflict(
                    f"environment {env.name!r} holds {used} container(s); delete them first"
                )
            members = select(t.memberships.c.id).where(t.memberships.c.environment_id == env.id)
            conn.execute(
                delete(t.ec2_credentials).where(t.ec2_credentials.c.membership_id.in_(members))
            )
            conn.execute(delete(t.memberships).where(t.memberships.c.environment_id == env.id))
            conn.execute(delete(t.accounts).where(t.accounts.c.project_id == env.project_id))
            conn.execute(delete(t.environments).where(t.environments.c.id == env.id))

    # --- API keys -----------------------------------------------------------

    def add_api_key(self, user_id: str, name: str, secret_hash: str) -> ApiKey:
        key = ApiKey(new_id(), user_id, name, time.time(), None, None, None)
        with self.db.write() as conn:
            conn.execute(insert(t.api_keys).values(**key.__dict__, secret_hash=secret_hash))
        return key

    def api_keys(self, user_id: str) -> list[ApiKey]:
        k = t.api_keys
        query = (
            select(k)
            .where(k.c.user_id == user_id, k.c.revoked_at.is_(None))
            .order_by(k.c.created_at)
        )
        with self.db.read() as conn:
            return [_api_key(r) for r in conn.execute(query)]

    def api_key_secret(self, key_id: str) -> tuple[ApiKey, str] | None:
        with self.db.read() as conn:
            row = conn.execute(select(t.api_keys).where(t.api_keys.c.id == key_id)).first()
        return None if row is None else (_api_key(row), row.secret_hash)

    def touch_api_key(self, key_id: str, ip: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                update(t.api_keys)
                .where(t.api_keys.c.id == key_id)
                .values(last_used_at=time.time(), last_used_ip=ip[:64])
            )

    def update_api_key(self, user_id: str, key_id: str, **values: Any) -> ApiKey:
        k = t.api_keys
        mine = (k.c.id == key_id, k.c.user_id == user_id, k.c.revoked_at.is_(None))
        with self.db.write() as conn:
            row = conn.execute(select(k).where(*mine)).first()
            if row is None:
                raise errors.CredentialNotFound("no such API key")
            conn.execute(update(k).where(k.c.id == key_id).values(**values))
            row = conn.execute(select(k).where(k.c.id == key_id)).one()
        return _api_key(row)

    # --- sessions and invitations -------------------------------------------

    def create_session(self, session_id: str, user_id: str, csrf: str, ip: str, ttl: float) -> None:
        now = time.time()
        with self.db.write() as conn:
            conn.execute(delete(t.portal_sessions).where(t.portal_sessions.c.expires_at < now))
            conn.execute(
                insert(t.portal_sessions).values(
                    id=session_id,
                    user_id=user_id,
                    csrf=csrf,
                    ip=ip[:64],
                    created_at=now,
                    expires_at=now + ttl,
                )
            )

    def session(self, session_id: str) -> tuple[str, str] | None:
        """(user id, CSRF token) of a live session."""
        s = t.portal_sessions
        with self.db.read() as conn:
            row = conn.execute(
                select(s.c.user_id, s.c.csrf).where(
                    s.c.id == session_id, s.c.expires_at > time.time()
                )
            ).first()
        return None if row is None else (row.user_id, row.csrf)

    def delete_sessions(
        self, *, session_id: str | None = None, user_id: str | None = None, keep: str | None = None
    ) -> None:
        s = t.portal_sessions
        query = delete(s)
        if session_id is not None:
            query = query.where(s.c.id == session_id)
        if user_id is not None:
            query = query.where(s.c.user_id == user_id)
        if keep is not None:
            query = query.where(s.c.id != keep)
        with self.db.write() as conn:
            conn.execute(query)

    def create_invitation(self, token_hash: str, user_id: str, by: str, ttl: float) -> None:
        now = time.time()
        with self.db.write() as conn:
            conn.execute(delete(t.invitations).where(t.invitations.c.user_id == user_id))
            conn.execute(
                insert(t.invitations).values(
                    id=token_hash,
                    user_id=user_id,
                    created_by=by,
                    created_at=now,
                    expires_at=now + ttl,
                )
            )

    def invitation(self, token_hash: str) -> str | None:
        """The user id a live invitation is for."""
        i = t.invitations
        with self.db.read() as conn:
            row = conn.execute(
                select(i.c.user_id).where(i.c.id == token_hash, i.c.expires_at > time.time())
            ).first()
        return None if row is None else str(row.user_id)

    def delete_invitation(self, token_hash: str) -> bool:
        with self.db.write() as conn:
            done = conn.execute(delete(t.invitations).where(t.invitations.c.id == token_hash))
        return bool(done.rowcount)

    # --- activity -----------------------------------------------------------

    def record(self, event: ActivityEvent) -> None:
        with self.db.write() as conn:
            conn.execute(insert(t.activity).values(**event.__dict__))

    def activity(
        self, *, user_id: str | None, org_ids: set[str] | None, limit: int
    ) -> list[ActivityEvent]:
        """Newest first. user_id=None and org_ids=None: everything; otherwise the events
        the user made or that concern them, plus those in the given organizations."""
        a = t.activity
        query = select(a).order_by(a.c.at.desc(), a.c.id).limit(limit)
        if user_id is not None or org_ids is not None:
            scope = []
            if user_id is not None:
                scope += [a.c.actor_id == user_id, a.c.subject_id == user_id]
            if org_ids:
                scope.append(a.c.organization_id.in_(sorted(org_ids)))
            query = query.where(or_(*scope))
        with self.db.read() as conn:
            return [_event(r) for r in conn.execute(query)]
