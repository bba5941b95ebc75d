"""Shared by the Swift functional tests: an account with its credentials and clients."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import swiftclient

from tests.harness import Server, run, v3_env


@dataclass
class SwiftAccount:
    server: Server
    creds: dict[str, Any]
    _token: str = ""

    @property
    def project_id(self) -> str:
        return str(self.creds["openstack"]["project_id"])

    @property
    def storage_url(self) -> str:
        return f"{self.server.object_url}/v1/AUTH_{self.project_id}"

    def env(self) -> dict[str, str]:
        """The seed's Keystone v3 export block, for the swift and openstack CLIs."""
        return v3_env(self.server, self.creds)

    def rclone_env(self, workdir: Path) -> dict[str, str]:
        """An rclone remote `myswift:` configured from the same values, via environment."""
        o = self.creds["openstack"]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "RCLONE_"))}
        env.update(
            RCLONE_CONFIG=str(workdir / "rclone.conf"),
            RCLONE_CONFIG_MYSWIFT_TYPE="swift",
            RCLONE_CONFIG_MYSWIFT_AUTH=f"{self.server.auth_url}/v3",
            RCLONE_CONFIG_MYSWIFT_AUTH_VERSION="3",
            RCLONE_CONFIG_MYSWIFT_USER=o["username"],
            RCLONE_CONFIG_MYSWIFT_KEY=o["password"],
            RCLONE_CONFIG_MYSWIFT_TENANT=o["project_name"],
        )
        (workdir / "rclone.conf").touch()
        return env

    def connection(self) -> swiftclient.Connection:
        # Pre-authenticated: swiftclient's own v3 path goes through the deprecated
        # keystoneclient; the CLI tests cover the full Keystone login.
        return swiftclient.Connection(
            preauthurl=self.storage_url, preauthtoken=self.token(), retries=0
        )

    def token(self) -> str:
        """A project-scoped Keystone v3 token (cached for the account's life)."""
        if not self._token:
            o = self.creds["openstack"]
            response = requests.post(
                f"{self.server.auth_url}/v3/auth/tokens",
                json={
                    "auth": {
                        "identity": {
                            "methods": ["password"],
                            "password": {
                                "user": {
                                    "name": o["username"],
                                    "password": o["password"],
                                    "domain": {"name": "Default"},
                                }
                            },
                        },
                        "scope": {
                            "project": {"name": o["project_name"], "domain": {"name": "Default"}}
                        },
                    }
                },
                timeout=30,
            )
            response.raise_for_status()
            self._token = response.headers["X-Subject-Token"]
        return self._token

    def swift(self, *args: str, cwd: Path | None = None, check: bool = True) -> Any:
        return run(["swift", *args], self.env(), cwd=cwd, check=check)

    def request(self, method: str, path: str = "", **kwargs: Any) -> requests.Response:
        """A raw request to the account URL plus `path`, with this account's token."""
        headers = {"X-Auth-Token": self.token(), **kwargs.pop("headers", {})}
        return requests.request(
            method, self.storage_url + path, headers=headers, timeout=30, **kwargs
        )


def make_account(
    server: Server, org: str, env: str, login: str, role: str = "member"
) -> SwiftAccount:
    return SwiftAccount(server, server.member(org, env, login, role))
