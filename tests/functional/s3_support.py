"""Shared by the S3 functional tests: an S3 user configured only from `creds show`,
its clients (aws, boto3, s3cmd, rclone), and raw signed requests for bad input."""

from __future__ import annotations

import datetime
import hashlib
import hmac
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
import botocore.session
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
    login: str
    org: str
    environment: str
    home: Path
    ca_bundle: Path | None = None
    profile_text: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)
    _creds: dict[str, Any] | None = None

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
        server.member(org, env, login, role)
        user = cls(server, login, org, env, home, ca_bundle)
        user.write_profile()
        return user

    def write_profile(self) -> None:
        """Saves `creds show --format aws` alone as ~/.aws/credentials."""
        self.profile_text = self.server.cli(
            "creds", "show", self.login, self.org, self.environment, "--format", "aws"
        ).stdout
        (self.home / ".aws").mkdir(parents=True, exist_ok=True)
        (self.home / ".aws" / "credentials").write_text(self.profile_text)
        self._creds = None

    @property
    def creds(self) -> dict[str, Any]:
        """`creds show --format json` (fetched when first needed: each CLI call costs)."""
        if self._creds is None:
            self._creds = self.server.creds(self.login, self.org, self.environment)
        return self._creds

    def _profile(self, name: str) -> str:
        for line in self.profile_text.splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() == name:
                return value.strip()
        raise KeyError(name)

    @property
    def access_key(self) -> str:
        return self._profile("aws_access_key_id")

    @property
    def secret_key(self) -> str:
        return self._profile("aws_secret_access_key")

    @property
    def region(self) -> str:
        return self._profile("region")

    @property
    def endpoint_url(self) -> str:
        return self._profile("endpoint_url")

    @property
    def project_id(self) -> str:
        return str(self.creds["openstack"]["project_id"])

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
        """A boto3 session from the credentials file alone (endpoint and region included),
        as `HOME=<home>` would give, without touching this process's environment."""
        core = botocore.session.Session()
        core.set_config_variable("credentials_file", str(self.home / ".aws" / "credentials"))
        core.set_config_variable("config_file", str(self.home / ".aws" / "config"))
        return boto3.Session(botocore_session=core)

    def client(self, **config: Any) -> Any:
        session = self.session()
        verify: Any = str(self.ca_bundle) if self.ca_bundle else None
        kwargs: dict[str, Any] = {"verify": verify}
        if config:
            kwargs["config"] = Config(**config)
        return session.client("s3", **kwargs)


# --- raw signed requests ----------------------------------------------------------


class _Signer(S3SigV4Auth):
    """botocore's S3 SigV4 signer, with the payload hash chosen by the caller."""

    def __init__(self, credentials: Credentials, region: str, payload: str | None) -> None:
        super().__init__(credentials, "s3", region)
        self._payload = payload
        self.signature_value = ""
        self.amz_date = ""

    def payload(self, request: Any) -> str:
        return self._payload or str(super().payload(request))

    def signature(self, string_to_sign: str, request: Any) -> str:
        self.amz_date = request.context["timestamp"]
        self.signature_value = str(super().signature(string_to_sign, request))
        return self.signature_value


def signed(
    server: Server,
    method: str,
    path: str,
    *,
    access_key: str,
    secret_key: str,
    region: str,
    body: Any = b"",
    headers: Mapping[str, str] | None = None,
    payload_hash: str | None = None,
    host: str | None = None,
    chunk_signer: Any = None,
) -> requests.Response:
    """A SigV4-signed request sent with requests, signed by botocore's own signer.

    `chunk_signer(seed_signature, amz_date)`, if given, returns the body to send: for the
    STREAMING-AWS4-HMAC-SHA256-PAYLOAD mode, whose chunk signatures chain from the seed.
    """
    url = server.object_url + path
    all_headers = dict(headers or {})
    if host is not None:
        all_headers["Host"] = host
    request = AWSRequest(
        method=method, url=url, data=b"" if chunk_signer else body, headers=all_headers
    )
    request.context["payload_signing_enabled"] = True
    signer = _Signer(Credentials(access_key, secret_key), region, payload_hash)
    signer.add_auth(request)
    if chunk_signer is not None:
        body = chunk_signer(signer.signature_value, signer.amz_date)
    prepared = request.prepare()
    return requests.request(
        method, url, headers=dict(prepared.headers), data=body, timeout=30, verify=False
    )


def signed_as(
    server: Server, creds: dict[str, Any], method: str, path: str, **options: Any
) -> requests.Response:
    """`signed`, with the S3 keys of `creds` (as `creds show --format json` prints them)."""
    s3 = creds["s3"]
    return signed(
        server,
        method,
        path,
        access_key=s3["access_key_id"],
        secret_key=s3["secret_access_key"],
        region=s3["region"],
        **options,
    )


def chunked_body(data: bytes, secret_key: str, region: str, chunk_size: int = 64 * 1024) -> Any:
    """A chunk signer for `signed`: the aws-chunked body of `data`, each chunk signed."""

    def build(seed: str, amz_date: str) -> bytes:
        day = amz_date[:8]
        key = ("AWS4" + secret_key).encode()
        for part in (day, region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        scope = f"{day}/{region}/s3/aws4_request"
        empty = hashlib.sha256(b"").hexdigest()
        previous = seed
        out = bytearray()
        pieces = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)] + [b""]
        for piece in pieces:
            to_sign = (
                f"AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{scope}\n{previous}\n{empty}\n"
                f"{hashlib.sha256(piece).hexdigest()}"
            )
            previous = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
            out += f"{len(piece):x};chunk-signature={previous}\r\n".encode() + piece + b"\r\n"
        return bytes(out)

    return build


def chunked_length(size: int, chunk_size: int = 64 * 1024) -> int:
    """The encoded length of `chunked_body` for a payload of `size` bytes."""
    sizes = [min(chunk_size, size - i) for i in range(0, size, chunk_size)] + [0]
    return sum(len(f"{n:x}") + len(";chunk-signature=") + 64 + 4 + n for n in sizes)


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
    now = datetime.datetime.now(datetime.UTC)
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
    ca_path, cert_path, key_path = (
        directory / "ca.pem",
        directory / "cert.pem",
        directory / "key.pem",
    )
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


def peak_rss_kib(server: Server) -> dict[int, int]:
    """VmHWM of the server's process tree, by pid."""
    assert server.proc is not None

    def tree(root: int) -> list[int]:
        found = [root]
        for task in Path(f"/proc/{root}/task").iterdir():
            for child in (task / "children").read_text().split():
                found.extend(tree(int(child)))
        return found

    peaks: dict[int, int] = {}
    for pid in tree(server.proc.pid):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks[pid] = int(line.split()[1])
    return peaks
