"""SQL for the identity model: organizations, environments, users, memberships, keys."""

from __future__ import annotations

import secrets
import time
from typing import Any

from sqlalchemy import Connection, Row, bindparam, case, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from cumulo import errors
from cumulo.crypto import new_access_key, new_id
from cumulo.metadata import schema as t
from cumulo.metadata.db import Database
from cumulo.model import Ec2Credential, Environment, Membership, Organization, Role, User

_LF = t.login_failures
# The hot read of every password login: one primary-key point read.
_FAILURES = select(_LF.c.count).where(
    _LF.c.key == bindparam("key"), _LF.c.expires_at > bindparam("now")
)


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        login=row.login,
        email=row.email,
        is_admin=bool(row.is_admin),
        disabled=bool(row.disabled),
        secret_generation=row.secret_generation,
        created_at=row.created_at,
    )


def _org(row: Row[Any]) -> Organization:
    return Organization(id=row.id, name=row.name, created_at=row.created_at)


def _env(row: Row[Any]) -> Environment:
    return Environment(
        id=row.id,
        organization_id=row.organization_id,
        name=row.name,
        project_id=row.project_id,
        project_name=row.project_name,
        created_at=row.created_at,
    )


def _membership(row: Row[Any]) -> Membership:
    return Membership(
        id=row.id,
        user_id=row.user_id,
        environment_id=row.environment_id,
        role=Role(row.role),
        username=row.username,
        access_key=row.access_key,
        created_at=row.created_at,
    )


def _member_of(user: User, env: Environment) -> tuple[Any, Any]:
    return (t.memberships.c.user_id == user.id, t.memberships.c.environment_id == env.id)


def _not_member(user: User, env: Environment) -> errors.MembershipNotFound:
    return errors.MembershipNotFound(f"{user.login!r} is not a member of {env.project_name!r}")


class IdentityStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- organizations and environments -----------------------------------

    def create_organization(self, name: str) -> Organization:
        org = Organization(id=new_id(), name=name, created_at=time.time())
        try:
            with self.db.write() as conn:
                conn.execute(insert(t.organizations).values(**org.__dict__))
        except IntegrityError:
            raise errors.Conflict(f"organization {name!r} exists already") from None
        return org

    def organization(self, name: str) -> Organization:
        with self.db.read() as conn:
            row = conn.execute(
                select(t.organizations).where(t.organizations.c.name == name)
            ).first()
        if row is None:
            raise errors.OrganizationNotFound(f"no organization {name!r}")
        return _org(row)

    def organizations(self) -> list[Organization]:
        with self.db.read() as conn:
            rows = conn.execute(select(t.organizations).order_by(t.organizations.c.name))
            return [_org(r) for r in rows]

    def create_environment(self, org: Organization, name: str, project_name: str) -> Environment:
        env = Environment(
            id=new_id(),
            organization_id=org.id,
            name=name,
            project_id=new_id(),
            project_name=project_name,
            created_at=time.time(),
        )
        try:
            with self.db.write() as conn:
                conn.execute(
                    insert(t.environments).values(
                        **env.__dict__, next_serial=1000 + secrets.randbelow(9000)
                    )
                )
                conn.execute(
                    insert(t.accounts).values(
                        project_id=env.project_id, metadata="{}", created_at=env.created_at
                    )
                )
        except IntegrityError:
            raise errors.Conflict(
                f"environment {name!r} (project {project_name!r}) exists already"
            ) from None
        return env

    def environment(self, org: Organization, name: str) -> Environment:
        with self.db.read() as conn:
            row = conn.execute(
                select(t.environments).where(
                    t.environments.c.organization_id == org.id, t.environments.c.name == name
                )
            ).first()
        if row is None:
            raise errors.EnvironmentNotFound(f"no environment {name!r} in {org.name!r}")
        return _env(row)

    def environment_by_id(self, env_id: str) -> Environment:
        with self.db.read() as conn:
            row = conn.execute(select(t.environments).where(t.environments.c.id == env_id)).first()
        if row is None:
            raise errors.EnvironmentNotFound("no such environment")
        return _env(row)

    def environments(self, org: Organization) -> list[Environment]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.environments)
                .where(t.environments.c.organization_id == org.id)
                .order_by(t.environments.c.name)
            )
            return [_env(r) for r in rows]

    # --- users --------------------------------------------------------------

    def create_user(
        self,
        login: str,
        *,
        email: str | None,
        password_hash: str | None,
        secret_enc: str,
        is_admin: bool = False,
    ) -> User:
        user = User(
            id=new_id(),
            login=login,
            email=email,
            is_admin=is_admin,
            disabled=False,
            secret_generation=1,
            created_at=time.time(),
        )
        try:
            with self.db.write() as conn:
                conn.execute(
                    insert(t.users).values(
                        **user.__dict__, password_hash=password_hash, secret_enc=secret_enc
                    )
                )
        except IntegrityError:
            raise errors.Conflict(f"user {login!r} exists already") from None
        return user

    def user(self, login: str) -> User:
        with self.db.read() as conn:
            row = conn.execute(select(t.users).where(t.users.c.login == login)).first()
        if row is None:
            raise errors.UserNotFound(f"no user {login!r}")
        return _user(row)

    def user_secret(self, user_id: str) -> tuple[User, str]:
        with self.db.read() as conn:
            row = conn.execute(select(t.users).where(t.users.c.id == user_id)).first()
        if row is None:
            raise errors.UserNotFound("no such user")
        return _user(row), row.secret_enc

    def count_admins(self) -> int:
        with self.db.read() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(t.users).where(t.users.c.is_admin)
                ).scalar_one()
            )

    def set_secret(self, user_id: str, secret_enc: str) -> None:
        """The user's new object-storage secret; their EC2 credentials go with the old."""
        with self.db.write() as conn:
            conn.execute(
                update(t.users)
                .where(t.users.c.id == user_id)
                .values(secret_enc=secret_enc, secret_generation=t.users.c.secret_generation + 1)
            )
            conn.execute(
                delete(t.ec2_credentials).where(
                    t.ec2_credentials.c.membership_id.in_(
                        select(t.memberships.c.id).where(t.memberships.c.user_id == user_id)
                    )
                )
            )

    # --- memberships --------------------------------------------------------

    def add_member(self, user: User, env: Environment, role: Role) -> Membership:
        def work(conn: Connection) -> Membership:
            serial = conn.execute(
                update(t.environments)
                .where(t.environments.c.id == env.id)
                .values(next_serial=t.environments.c.next_serial + 1)
                .returning(t.environments.c.next_serial)
            ).scalar_one()
            membership = Membership(
                id=new_id(),
                user_id=user.id,
                environment_id=env.id,
                role=role,
                username=f"{env.project_name}-{serial - 1}",
                access_key=new_access_key(),
                created_at=time.time(),
            )
            values = {**membership.__dict__, "role": role.value}
            conn.execute(insert(t.memberships).values(**values))
            return membership

        try:
            return self.db.transact(work)
        except IntegrityError:
            raise errors.Conflict(
                f"{user.login!r} is a member of {env.project_name!r} already"
            ) from None

    def remove_member(self, user: User, env: Environment) -> Membership:
        with self.db.write() as conn:
            row = conn.execute(select(t.memberships).where(*_member_of(user, env))).first()
            if row is None:
                raise _not_member(user, env)
            conn.execute(
                delete(t.ec2_credentials).where(t.ec2_credentials.c.membership_id == row.id)
            )
            conn.execute(delete(t.memberships).where(t.memberships.c.id == row.id))
        return _membership(row)

    def set_role(self, user: User, env: Environment, role: Role) -> None:
        with self.db.write() as conn:
            done = conn.execute(
                update(t.memberships).where(*_member_of(user, env)).values(role=role.value)
            )
            if done.rowcount == 0:
                raise _not_member(user, env)

    def membership(self, user: User, env: Environment) -> Membership:
        with self.db.read() as conn:
            row = conn.execute(select(t.memberships).where(*_member_of(user, env))).first()
        if row is None:
            raise _not_member(user, env)
        return _membership(row)

    def memberships_of(self, user: User) -> list[Membership]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.memberships)
                .where(t.memberships.c.user_id == user.id)
                .order_by(t.memberships.c.username)
            )
            return [_membership(r) for r in rows]

    def principal_row(self, **where: str) -> Any:
        """Membership joined with its user and environment, by one membership column."""
        m, u, e = t.memberships, t.users, t.environments
        query = (
            select(
                m.c.id.label("membership_id"),
                m.c.username,
                m.c.role,
                m.c.access_key,
                u.c.id.label("user_id"),
                u.c.secret_enc,
                u.c.secret_generation,
                u.c.disabled,
                e.c.project_id,
                e.c.project_name,
            )
            .join(u, u.c.id == m.c.user_id)
            .join(e, e.c.id == m.c.environment_id)
        )
        for column, value in where.items():
            query = query.where(m.c[column] == value)
        with self.db.read() as conn:
            return conn.execute(query).first()

    def project(self, **where: str) -> Environment | None:
        with self.db.read() as conn:
            query = select(t.environments)
            for column, value in where.items():
                query = query.where(t.environments.c[column] == value)
            row = conn.execute(query).first()
        return None if row is None else _env(row)

    # --- EC2 credentials ----------------------------------------------------

    def add_ec2(self, membership_id: str, project_id: str, secret_enc: str) -> Ec2Credential:
        access = new_access_key()
        now = time.time()
        with self.db.write() as conn:
            conn.execute(
                insert(t.ec2_credentials).values(
                    access=access,
                    membership_id=membership_id,
                    secret_enc=secret_enc,
                    created_at=now,
                )
            )
        return Ec2Credential(access, membership_id, project_id, "", now)

    def ec2_rows(
        self, membership_id: str | None = None, access: str | None = None
    ) -> list[Row[Any]]:
        c, m, e = t.ec2_credentials, t.memberships, t.environments
        query = (
            select(c, e.c.project_id)
            .join(m, m.c.id == c.c.membership_id)
            .join(e, e.c.id == m.c.environment_id)
        )
        if membership_id is not None:
            query = query.where(c.c.membership_id == membership_id)
        if access is not None:
            query = query.where(c.c.access == access)
        with self.db.read() as conn:
            return list(conn.execute(query.order_by(c.c.created_at)))

    def delete_ec2(self, membership_id: str, access: str) -> None:
        with self.db.write() as conn:
            done = conn.execute(
                delete(t.ec2_credentials).where(
                    t.ec2_credentials.c.access == access,
                    t.ec2_credentials.c.membership_id == membership_id,
                )
            )
        if done.rowcount == 0:
            raise errors.CredentialNotFound("no such EC2 credential")

    # --- token revocations --------------------------------------------------

    def revoke(self, audit_id: str, expires_at: float) -> None:
        with self.db.write() as conn:
            conn.execute(delete(t.revocations).where(t.revocations.c.expires_at < time.time()))
            exists = conn.execute(
                select(t.revocations.c.audit_id).where(t.revocations.c.audit_id == audit_id)
            ).first()
            if exists is None:
                conn.execute(insert(t.revocations).values(audit_id=audit_id, expires_at=expires_at))

    def revoked(self) -> set[str]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.revocations.c.audit_id).where(t.revocations.c.expires_at >= time.time())
            )
            return {r.audit_id for r in rows}

    # --- failed logins (cluster-wide throttling) ----------------------------

    def login_failures(self, key: str, now: float) -> int:
        """Failures counted for `key` in its open window (0 when none or expired)."""
        row = self.db.first(_FAILURES, {"key": key, "now": now})
        return 0 if row is None else int(row.count)

    def add_login_failure(self, key: str, now: float, window: float) -> None:
        """Counts one failure in one upsert: it opens a window of `window` seconds when
        none is open, so concurrent failures on any process or node add up. Expired
        windows are swept here (indexed), so rows stay bounded by recent failures."""
        dialect_insert = sqlite.insert if self.db.is_sqlite else postgresql.insert
        stmt = dialect_insert(_LF).values(key=key, count=1, expires_at=now + window)
        expired = _LF.c.expires_at <= now
        stmt = stmt.on_conflict_do_update(
            index_elements=[_LF.c.key],
            set_={
                "count": case((expired, 1), else_=_LF.c.count + 1),
                "expires_at": case((expired, now + window), else_=_LF.c.expires_at),
            },
        )
        with self.db.write() as conn:
            conn.execute(delete(_LF).where(_LF.c.expires_at <= now, _LF.c.key != key))
            conn.execute(stmt)

    def clear_login_failures(self, key: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(_LF).where(_LF.c.key == key))
