"""The credential life cycle over S3: *Regenerate* changes the secret in every environment;
a removed member's access key is gone; `openstack ec2 credentials` keys work too.
Every change holds at once: the CLI runs on the server's node."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.functional.s3_support import (
    S3User,
    client_error_code,
    unique,
)
from tests.harness import Server, run, v3_env


def _code(call: object) -> str:
    with pytest.raises(ClientError) as failed:
        call()  # type: ignore[operator]
    return client_error_code(failed.value)


def test_regenerate_changes_the_secret_in_every_environment(server: Server, tmp_path: Path) -> None:
    org = unique("regen")
    users = {env: S3User.create(server, org, env, "reggie", tmp_path / env) for env in ("a", "b")}
    old = {env: u.client() for env, u in users.items()}
    for env, s3 in old.items():
        s3.create_bucket(Bucket=f"bucket-{env}")
    server.cli("creds", "regenerate", "reggie")
    for env, s3 in old.items():
        assert _code(lambda s3=s3: s3.list_buckets()) == "SignatureDoesNotMatch"
        assert (
            _code(lambda s3=s3, env=env: s3.put_object(Bucket=f"bucket-{env}", Key="k", Body=b"x"))
            == "SignatureDoesNotMatch"
        )
        failed = users[env].aws("s3", "ls", check=False)
        assert failed.returncode != 0 and "SignatureDoesNotMatch" in failed.stderr
    for env, user in users.items():
        access_key = user.access_key
        user.write_profile()
        assert user.access_key == access_key  # the key id stays; its secret changed
        s3 = user.client()
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [f"bucket-{env}"]
        s3.put_object(Bucket=f"bucket-{env}", Key="k", Body=b"fresh")
        assert "bucket-" + env in user.aws("s3", "ls").stdout
    assert users["a"].secret_key == users["b"].secret_key


def test_a_removed_members_access_key_is_unknown(server: Server, tmp_path: Path) -> None:
    org = unique("rm")
    kept = S3User.create(server, org, "kept", "remy", tmp_path / "kept")
    gone = S3User.create(server, org, "gone", "remy", tmp_path / "gone")
    kept.client().create_bucket(Bucket="stays")
    gone_client = gone.client()
    gone_client.create_bucket(Bucket="data")
    server.cli("member", "remove", org, "gone", "remy")
    assert _code(gone_client.list_buckets) == "InvalidAccessKeyId"
    assert _code(lambda: gone_client.get_object(Bucket="data", Key="k")) == "InvalidAccessKeyId"
    assert [b["Name"] for b in kept.client().list_buckets()["Buckets"]] == ["stays"]

    server.cli("member", "add", org, "gone", "remy")
    gone.write_profile()
    assert [b["Name"] for b in gone.client().list_buckets()["Buckets"]] == ["data"]


def test_ec2_credentials_work_with_boto3(server: Server, tmp_path: Path) -> None:
    import boto3

    user = S3User.create(server, unique("ec2"), "env", "eco", tmp_path / "home")
    env = v3_env(server, user.creds)
    made = json.loads(run(["openstack", "ec2", "credentials", "create", "-f", "json"], env).stdout)
    s3 = boto3.client(
        "s3",
        endpoint_url=server.object_url,
        region_name=user.region,
        aws_access_key_id=made["access"],
        aws_secret_access_key=made["secret"],
    )
    s3.create_bucket(Bucket="viaec2")
    s3.put_object(Bucket="viaec2", Key="k", Body=b"ec2")
    assert user.client().get_object(Bucket="viaec2", Key="k")["Body"].read() == b"ec2"
    run(["openstack", "ec2", "credentials", "delete", made["access"]], env)
    assert _code(s3.list_buckets) == "InvalidAccessKeyId"
