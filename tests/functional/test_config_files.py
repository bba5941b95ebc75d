"""The configuration files Cumulo hands out (portal downloads, `creds show --format ...`)
work with their real clients as they are: clouds.yaml with `openstack --os-cloud`,
rclone.conf with both of its remotes, .s3cfg with s3cmd, and the AWS profile.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.harness import BIN, Server, run


@pytest.fixture(scope="module")
def member(server: Server) -> dict[str, Any]:
    return server.member("files", "env", "fran")


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "AWS_", "RCLONE_"))}
    env["HOME"] = str(home)
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    return env


def _file(server: Server, kind: str) -> str:
    return server.cli("creds", "show", "fran", "files", "env", "--format", kind).stdout


def test_clouds_yaml_with_openstack_os_cloud(
    server: Server, member: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "clouds.yaml"
    path.write_text(_file(server, "clouds.yaml"))
    env = _clean_env(tmp_path) | {"OS_CLIENT_CONFIG_FILE": str(path)}
    cloud = member["openstack"]["project_name"]
    run(["openstack", "--os-cloud", cloud, "container", "create", "from-clouds-yaml"], env)
    listed = run(["openstack", "--os-cloud", cloud, "container", "list", "-f", "value"], env)
    assert "from-clouds-yaml" in listed.stdout.split()


def test_rclone_conf_swift_and_s3_remotes(
    server: Server, member: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "rclone.conf"
    path.write_text(_file(server, "rclone.conf"))
    env = _clean_env(tmp_path) | {"RCLONE_CONFIG": str(path)}
    project = member["openstack"]["project_name"]
    (tmp_path / "hello.txt").write_text("hola\n")
    run(["rclone", "copy", str(tmp_path / "hello.txt"), f"{project}-swift:rclone-box"], env)
    # The same object through the S3 remote: one data set, two APIs.
    got = run(["rclone", "cat", f"{project}-s3:rclone-box/hello.txt"], env)
    assert got.stdout == "hola\n"


def test_s3cfg_with_s3cmd(server: Server, member: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / ".s3cfg"
    path.write_text(_file(server, "s3cfg"))
    env = _clean_env(tmp_path)
    (tmp_path / "note.txt").write_text("s3cmd\n")
    run([str(BIN / "s3cmd"), "-c", str(path), "mb", "s3://s3cmd-box"], env)
    run(
        [str(BIN / "s3cmd"), "-c", str(path), "put", str(tmp_path / "note.txt"), "s3://s3cmd-box/"],
        env,
    )
    listed = run([str(BIN / "s3cmd"), "-c", str(path), "ls", "s3://s3cmd-box"], env)
    assert "s3://s3cmd-box/note.txt" in listed.stdout


def test_aws_profile_alone(server: Server, member: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "credentials").write_text(_file(server, "aws"))
    env = _clean_env(tmp_path)
    run([str(BIN / "aws"), "s3", "mb", "s3://aws-box"], env)
    assert "aws-box" in run([str(BIN / "aws"), "s3", "ls"], env).stdout
