"""Shared by the S3 functional tests: an S3 user configured only from `creds show`,
its clients (aws, boto3, s3cmd, rclone), and raw signed requests for bad input."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.harness import BIN, Server, run

MiB = 1024 * 1024


@dataclass
class S3User:
    """A member's S3 profile, written exactly as `creds show --format aws` prints it."""

    server: Server
    creds: dict[str, Any]
    home: Path
    ca_bundle: Path | None = None
    profile_text: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        server: Server,
        org: str,
        env: str,
        login: str,
        home: Path,
        *,
        role: str = "member",
        ca_bundle: Path | None = None,
    ) -> S3User:
        creds = server.member(org, env, login, role)
        user = cls(server, creds, home, ca_bundle)
        user.write_profile(login, org, env)
        return user

    def write_profile(self, login: str, org: str, env: str) -> None:
        self.profile_text = self.server.cli("creds", "show", login, org, env, "--format", "aws").stdout
        (self.home / ".aws").mkdir(parents=True, exist_ok=True)
        (self.home / ".aws" / "credentials").write_text(self.profile_text)
        self.creds = self.server.creds(login, org, env)

    @property
    def access_key(self) -> str:
        return str(self.creds["s3"]["access_key_id"])

    @property
    def secret_key(self) -> str:
        return str(self.creds["s3"]["secret_access_key"])

    @property
    def project_id(self) -> str:
        return str(self.creds["openstack"]["project_id"])

    @property
    def region(self) -> str:
        return str(self.creds["s3"]["region"])

    def env(self) -> dict[str, str]:
        """No AWS_* variable but the CA bundle: the credentials file says it all."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OS_"))}
        env["HOME"] = str(self.home)
        env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
        if self.ca_bundle is not None:
            env["AWS_CA_BUNDLE"] = str(self.ca_bundle)
        env.update(self.extra_env)
        return env

    def aws(self, *args: str, check: bool = True, cwd: Path | None = None) -> Any:
        return run([str(BIN / "aws"), *args], self.env(), check=check, cwd=cwd)

    def session(self) -> boto3.Session:
        """A boto3 session from the credentials file alone (endpoint and region included)."""
        path = self.home / ".aws" / "credentials"
        saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("AWS_")}
        os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(path)
        os.environ["AWS_CONFIG_FILE"] = str(self.home / ".aws" / "config")
        try:
            return boto3.Session()
        finally:
            os.environ.pop("AWS_SHARED_CREDENTIALS_FILE", None)
            os.environ.pop("AWS_CONFIG_FILE", None)
            os.environ.update(saved)

    def client(self, **config: Any) -> Any:
        session = self.session()
        verify: Any = str(self.ca_bundle) if self.ca_bundle else None
        kwargs: dict[str, Any] = {"verify": verify}
        if config:
            kwargs["config"] = Config(**config)
        return session.client("s3", **kwargs)


def public_server(server: Server) -> Server:
    """The server's ports in its environment too, so that the admin CLI's `creds show`
    prints the endpoint this server really listens on (as a config file would)."""
    server.env.update(
        CUMULO_OBJECT_PORT=str(server.object_port),
        CUMULO_IDENTITY_PORT=str(server.identity_port),
        CUMULO_PORTAL_PORT=str(server.portal_port),
    )
    return server


# --- raw signed requests ----------------------------------------------------------


def signed(
    server: Server,
    method: str,
    path: str,
    *,
    access_key: str,
    secret_key: str,
    region: str,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    payload_hash: str | None = None,
    host: str | None = None,
) -> requests.Response:
    """A SigV4-signed request sent with requests, built by botocore's own signer."""
    url = server.object_url + path
    all_headers = dict(headers or {})
    if host is not None:
        all_headers["Host"] = host
    request = AWSRequest(method=method, url=url, data=body, headers=all_headers)
    request.context["payload_signing_enabled"] = True
    if payload_hash is not None:
        request.headers["X-Amz-Content-SHA256"] = payload_hash
    S3SigV4Auth(Credentials(access_key, secret_key), "s3", region).add_auth(request)
    prepared = request.prepare()
    return requests.request(
        method, url, headers=dict(prepared.headers), data=body, timeout=30, verify=False
    )


def error_code(response: requests.Response) -> str:
    assert response.content, f"no error body (status {response.status_code})"
    root = ET.fromstring(response.content)
    assert root.tag == "Error", response.text
    assert root.findtext("RequestId") == response.headers.get("x-amz-request-id")
    return root.findtext("Code") or ""


def client_error_code(exc: Any) -> str:
    return str(exc.response["Error"]["Code"])


# --- TLS --------------------------------------------------------------------------


def make_tls(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1/localhost: (ca, cert, key) PEM paths."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Cumulo test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path


# --- files ------------------------------------------------------------------------


def random_file(path: Path, size: int) -> str:
    """Writes `size` random-looking bytes; returns their SHA-256."""
    digest = hashlib.sha256()
    block = os.urandom(min(size, 4 * MiB) or 1)
    with open(path, "wb") as f:
        written = 0
        while written < size:
            piece = (written.to_bytes(8, "big") + block[8:])[: size - written]
            f.write(piece)
            digest.update(piece)
            written += len(piece)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(4 * MiB), b""):
            digest.update(block)
    return digest.hexdigest()


def unique(prefix: str) -> str:
    return f"{prefix}-{time.monotonic_ns() % 10**9}"


def host_port(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}"
