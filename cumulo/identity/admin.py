"""Administration from the portal: organizations, environments, users and members,
with who-may-do-what decided here.

System admins may do everything. An *organization admin* is a user with the `admin`
role in at least one environment of an organization; within that organization they
manage environments and members, and they may create users and disable users whose
every membership lies in organizations they administer. Only system admins create
organizations and system admins.
"""

from __future__ import annotations

from dataclasses import dataclass

from cumulo import errors
from cumulo.identity.portal import Actor, PortalService, check_email, check_password
from cumulo.identity.service import IdentityService, check_name
from cumulo.metadata.portal import PortalStore, PortalUser
from cumulo.model import Environment, Membership, Organization, Role, User


@dataclass(frozen=True)
class NewUser:
    user: User
    invitation: str | None  # the one-time set-password token, when invited


class AdminService:
    def __init__(self, identity: IdentityService, portal: PortalService) -> None:
        self.identity = identity
        self.portal = portal
        self.store: PortalStore = portal.store

    # --- scope --------------------------------------------------------------

    def admin_org_ids(self, actor: Actor) -> set[str]:
        return self.store.organization_ids(actor.user.id, admin_only=True)

    def is_admin_anywhere(self, actor: Actor) -> bool:
        return actor.user.is_admin or bool(self.admin_org_ids(actor))

    def _require_system_admin(self, actor: Actor) -> None:
        if not actor.user.is_admin:
            raise errors.AccessDenied("only system administrators may do this")

    def organization(self, actor: Actor, name: str) -> Organization:
        """An organization the actor administers."""
        org = self.identity.store.organization(name)
        if not actor.user.is_admin and org.id not in self.admin_org_ids(actor):
            raise errors.AccessDenied(f"you do not administer organization {name!r}")
        return org

    # --- organizations and environments -------------------------------------

    def organizations(self, actor: Actor) -> list[Organization]:
        every = self.identity.store.organizations()
        if actor.user.is_admin:
            return every
        mine = self.admin_org_ids(actor)
        return [org for org in every if org.id in mine]

    def create_organization(self, actor: Actor, name: str) -> Organization:
        self._require_system_admin(actor)
        org = self.identity.create_organization(name)
        self.portal.record(actor, "organization.created", name, organization_id=org.id)
        return org

    def environments(self, actor: Actor, org_name: str) -> list[Environment]:
        return self.identity.store.environments(self.organization(actor, org_name))

    def environment(self, actor: Actor, org_name: str, env_name: str) -> Environment:
        return self.identity.store.environment(self.organization(actor, org_name), env_name)

    def create_environment(self, actor: Actor, org_name: str, name: str) -> Environment:
        org = self.organization(actor, org_name)
        env = self.identity.create_environment(org.name, name)
        self.portal.record(actor, "environment.created", env.project_name, organization_id=org.id)
        return env

    def rename_environment(
        self, actor: Actor, org_name: str, env_name: str, new_name: str
    ) -> Environment:
        """A new name and project name `<org>-<new>`; the project id, service usernames
        and keys stay, so clients configured by project id keep working."""
        check_name("environment", new_name)
        env = self.environment(actor, org_name, env_name)
        renamed = self.store.rename_environment(env, new_name, f"{org_name}-{new_name}")
        self.identity.forget()  # tokens and principals carry the project name
        self.portal.record(
            actor,
            "environment.renamed",
            f"{env.project_name} → {renamed.project_name}",
            organization_id=env.organization_id,
        )
        return renamed

    def delete_environment(self, actor: Actor, org_name: str, env_name: str) -> None:
        env = self.environment(actor, org_name, env_name)
        self.store.delete_environment(env)
        self.identity.forget()
        self.portal.record(
            actor, "environment.deleted", env.project_name, organization_id=env.organization_id
        )

    # --- members ------------------------------------------------------------

    def members(self, actor: Actor, org_name: str, env_name: str) -> list[tuple[Membership, str]]:
        return self.store.members(self.environment(actor, org_name, env_name).id)

    def add_member(
        self, actor: Actor, org_name: str, env_name: str, login: str, role: Role
    ) -> Membership:
        env = self.environment(actor, org_name, env_name)
        membership = self.identity.add_member(org_name, env_name, login, role)
        self.portal.record(
            actor,
            "member.added",
            f"{login} → {env.project_name} ({role.value}, {membership.username})",
            organization_id=env.organization_id,
            subject_id=membership.user_id,
        )
        return membership

    def set_role(self, actor: Actor, org_name: str, env_name: str, login: str, role: Role) -> None:
        env = self.environment(actor, org_name, env_name)
        self.identity.set_role(org_name, env_name, login, role)
        self.portal.record(
            actor,
            "member.role",
            f"{login} in {env.project_name}: {role.value}",
            organization_id=env.organization_id,
            subject_id=self.identity.store.user(login).id,
        )

    def remove_member(self, actor: Actor, org_name: str, env_name: str, login: str) -> Membership:
        env = self.environment(actor, org_name, env_name)
        gone = self.identity.remove_member(org_name, env_name, login)
        self.portal.record(
            actor,
            "member.removed",
            f"{login} ✕ {env.project_name} ({gone.username})",
            organization_id=env.organization_id,
            subject_id=gone.user_id,
        )
        return gone

    # --- users --------------------------------------------------------------

    def users(self, actor: Actor) -> list[PortalUser]:
        """System admins see everyone; organization admins the members of their orgs."""
        every = self.store.users()
        if actor.user.is_admin:
            return every
        mine = self.admin_org_ids(actor)
        return [
            u
            for u in every
            if u.user.id == actor.user.id
            or self.store.organization_ids(u.user.id, admin_only=False) & mine
        ]

    def create_user(
        self,
        actor: Actor,
        login: str,
        *,
        email: str | None = None,
        password: str | None = None,
        invite: bool = False,
        is_admin: bool = False,
    ) -> NewUser:
        if not self.is_admin_anywhere(actor):
            raise errors.AccessDenied("only administrators may create users")
        if is_admin:
            self._require_system_admin(actor)
        if email is not None:
            check_email(email)
        if password:
            check_password(password)
        user = self.identity.create_user(login, email=email, password=password, is_admin=is_admin)
        self.portal.record(actor, "user.created", login, subject_id=user.id)
        token = self.portal.invite(actor, user) if invite or not password else None
        return NewUser(user, token)

    def set_disabled(self, actor: Actor, login: str, disabled: bool) -> User:
        target = self.store.portal_user(login=login).user
        if target.id == actor.user.id and disabled:
            raise errors.AccessDenied("you cannot disable yourself")
        if not actor.user.is_admin:
            orgs = self.store.organization_ids(target.id, admin_only=False)
            if target.is_admin or not orgs or not orgs <= self.admin_org_ids(actor):
                raise errors.AccessDenied(
                    f"you may disable {login!r} only if all their environments are yours"
                )
        self.store.set_disabled(target.id, disabled)
        self.identity.forget()
        self.portal.record(
            actor, "user.disabled" if disabled else "user.enabled", login, subject_id=target.id
        )
        return self.store.portal_user(login=login).user
