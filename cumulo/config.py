"""Settings, parsed once: defaults, then a TOML file, then CUMULO_* variables, then flags.

Admin commands also read what `cumulo serve` recorded in the data dir
(`serve-settings.json`: its effective settings, public URLs resolved), between the file
and the environment, so they use the server's database and print its endpoints.

Every setting is declared here with its type and help text; `docs/settings.md` is
generated from this table (`cumulo settings --markdown`) and a test fails when it drifts.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "CUMULO_"
# What `cumulo serve` records in the data dir for the admin commands.
RECORD_FILE = "serve-settings.json"
# Not recorded: where the record itself is found, and the first admin's password.
_NOT_RECORDED = ("data_dir", "config_file", "admin_password")


def _setting(default: Any, help: str, *, flag: bool = True) -> Any:
    return field(default=default, metadata={"help": help, "flag": flag})


@dataclass(frozen=True)
class Settings:
    data_dir: str = _setting(
        "./data", "Directory holding metadata, blobs and the default cluster key."
    )
    config_file: str = _setting(
        "", "TOML file with settings (keys as below); default <data-dir>/cumulo.toml if present."
    )
    host: str = _setting("127.0.0.1", "Address the endpoints listen on.")
    identity_port: int = _setting(5000, "Port of the Keystone-compatible identity endpoint.")
    object_port: int = _setting(8080, "Port of the object storage endpoint (Swift and S3).")
    portal_port: int = _setting(8000, "Port of the portal (web UI and REST API).")
    identity_url: str = _setting(
        "", "Public URL of the identity endpoint (catalog, snippets); default from host and port."
    )
    object_url: str = _setting(
        "", "Public URL of the object endpoint (catalog, snippets); default from host and port."
    )
    portal_url: str = _setting("", "Public URL of the portal; default from host and port.")
    s3_domain: str = _setting(
        "",
        "Domain for virtual-host-style S3 addressing (<bucket>.<domain>); "
        "default: the object URL's host name, when it is a name.",
    )
    workers: int = _setting(0, "Worker processes; 0 means one per CPU core.")
    tls_cert: str = _setting("", "PEM certificate (chain) to serve HTTPS on every endpoint.")
    tls_key: str = _setting("", "PEM private key for --tls-cert.")
    metadata_url: str = _setting(
        "", "SQLAlchemy URL of the metadata database; default SQLite in the data dir."
    )
    metadata_pool_timeout: int = _setting(
        10,
        "Seconds a request waits for a pooled metadata connection (PostgreSQL) before "
        "answering 503 instead of hanging.",
    )
    metadata_connect_timeout: int = _setting(
        5,
        "Seconds to wait for a new PostgreSQL connection (a host that drops packets) before "
        "answering 503.",
    )
    cluster_key_file: str = _setting(
        "",
        "File holding the cluster key (base64, e.g. `openssl rand -base64 32`), which wraps "
        "the token and secret keys shared through the metadata database; every node on one "
        "database needs the same. Default <data-dir>/cluster.key, made on first start.",
    )
    region: str = _setting("RegionOne", "Region name in the catalog and for S3 signing.")
    token_ttl: int = _setting(3600, "Lifetime of identity tokens, in seconds.")
    token_key_count: int = _setting(
        3, "Token keys kept across rotations (staged, primary and secondaries)."
    )
    admin_password: str = _setting(
        "", "Password of the first system admin (default: generated and printed once)."
    )
    login_attempts: int = _setting(
        5, "Failed logins per username allowed per lockout window before refusing."
    )
    lockout_seconds: int = _setting(60, "Length of the failed-login window, in seconds.")
    fsync: bool = _setting(True, "fsync object bytes before they become visible (durability).")
    inline_max_bytes: int = _setting(
        64 * 1024,
        "Objects of at most this many bytes keep them in their metadata row instead of a "
        "blob file: one commit makes bytes and metadata durable together; 0 turns it off.",
    )
    max_object_size: int = _setting(
        5 * 1024**3, "Largest single object body accepted, in bytes (larger: use segments)."
    )
    log_level: str = _setting("info", "Log level: debug, info, warning, error.")

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).resolve()

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"

    def _default_url(self, port: int) -> str:
        host = self.host if self.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        return f"{self.scheme}://{host}:{port}"

    @property
    def public_identity_url(self) -> str:
        return (self.identity_url or self._default_url(self.identity_port)).rstrip("/")

    @property
    def public_object_url(self) -> str:
        return (self.object_url or self._default_url(self.object_port)).rstrip("/")

    @property
    def public_portal_url(self) -> str:
        return (self.portal_url or self._default_url(self.portal_port)).rstrip("/")

    @property
    def cluster_key_path(self) -> Path:
        return (
            Path(self.cluster_key_file) if self.cluster_key_file else self.data_path / "cluster.key"
        )

    @property
    def database_url(self) -> str:
        return self.metadata_url or f"sqlite:///{self.data_path / 'metadata.sqlite3'}"


def setting_fields() -> list[dataclasses.Field[Any]]:
    return list(fields(Settings))


def _coerce(name: str, kind: Any, value: Any) -> Any:
    kind_name = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    try:
        if kind_name == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if kind_name == "int":
            return int(value)
        return str(value)
    except ValueError:
        raise ConfigError(f"setting {name!r}: {value!r} is not a valid {kind_name}") from None


class ConfigError(Exception):
    pass


def load(
    flags: dict[str, Any] | None = None,
    environ: dict[str, str] | os._Environ[str] | None = None,
    *,
    recorded: bool = False,
) -> Settings:
    """Builds the settings from defaults < file < [recorded] < environment < flags
    (None = not given). `recorded` adds what `cumulo serve` recorded in the data dir:
    admin commands act on the running (or last) server's settings, unless told
    otherwise by their own environment or flags."""
    environ = os.environ if environ is None else environ
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    by_name = {f.name: f for f in fields(Settings)}
    values: dict[str, Any] = {}

    from_env = {
        f.name: environ[ENV_PREFIX + f.name.upper()]
        for f in fields(Settings)
        if ENV_PREFIX + f.name.upper() in environ
    }
    data_dir = flags.get("data_dir") or from_env.get("data_dir") or Settings.data_dir
    config_file = flags.get("config_file") or from_env.get("config_file")
    path = Path(config_file) if config_file else Path(data_dir) / "cumulo.toml"
    if path.exists():
        try:
            document = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        for key, value in document.items():
            name = key.replace("-", "_")
            if name not in by_name:
                raise ConfigError(f"{path}: unknown setting {key!r}")
            values[name] = value
    elif config_file:
        raise ConfigError(f"config file {path} does not exist")
    if recorded:
        values.update(_recorded(Path(data_dir) / RECORD_FILE, by_name))
    values.update(from_env)
    values.update(flags)
    coerced = {
        name: _coerce(name, by_name[name].type, value)
        for name, value in values.items()
        if name in by_name
    }
    if coerced.get("cluster_key_file"):
        # Recorded for the admin commands, which may run from another directory.
        coerced["cluster_key_file"] = str(Path(coerced["cluster_key_file"]).resolve())
    settings = Settings(**coerced)
    _validate(settings)
    return settings


def _recorded(path: Path, by_name: dict[str, Any]) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: not a settings record")
    # A setting this version no longer has is ignored (so is `public`, for people):
    # the record is rewritten at every start.
    return {k: v for k, v in document.items() if k in by_name and k not in _NOT_RECORDED}


def record(settings: Settings) -> Path:
    """Writes the server's effective settings (with the ports it bound) to the data dir,
    atomically and readable by its owner only (a metadata URL may hold a password).

    The public URLs are recorded as configured, not resolved: an admin command given
    another port or host by its own environment then derives its URLs from that. The
    resolved URLs are written too, under `public`, for people reading the file."""
    document: dict[str, Any] = {
        f.name: getattr(settings, f.name) for f in fields(Settings) if f.name not in _NOT_RECORDED
    }
    document["public"] = {
        "identity": settings.public_identity_url,
        "object": settings.public_object_url,
        "portal": settings.public_portal_url,
    }
    path = settings.data_path / RECORD_FILE
    tmp = path.with_name(f".{RECORD_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(document, f, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def _validate(settings: Settings) -> None:
    import re

    # botocore refuses region names outside this form before sending anything.
    if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9-]{0,62}", settings.region):
        raise ConfigError(
            f"region {settings.region!r}: use letters, digits and dashes only "
            "(the AWS CLI rejects other region names)"
        )
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise ConfigError("--tls-cert and --tls-key go together")
    if settings.workers < 0:
        raise ConfigError("--workers must be 0 (one per core) or more")
    if settings.token_ttl <= 0:
        raise ConfigError("--token-ttl must be positive")
    # 0 would mean "wait forever" to the pool and the driver: the hang these bound.
    if settings.metadata_pool_timeout <= 0 or settings.metadata_connect_timeout <= 0:
        raise ConfigError("--metadata-pool-timeout and --metadata-connect-timeout must be positive")


def settings_markdown() -> str:
    lines = [
        "# Settings",
        "",
        "Generated from `cumulo/config.py` by `cumulo settings --markdown`; do not edit.",
        "",
        "Each setting is read, lowest precedence first, from its default, the TOML file "
        "(`<data-dir>/cumulo.toml` or `--config-file`), the environment variable, and the "
        "command-line flag of `cumulo serve`.",
        "",
        f"`cumulo serve` records its effective settings in `<data-dir>/{RECORD_FILE}` "
        "(all but the admin password, with the ports it bound). "
        "The admin commands (`org`, `env`, `user`, `member`, `creds`, `keys`, `settings`) "
        "read that record after the TOML file and before the environment, so they use the "
        "server's metadata database and print its endpoints; their own `CUMULO_*` "
        "variables and flags (`--data-dir`, `--metadata-url`, `--cluster-key-file`) still "
        "win. They never create a data dir: without one (and without a metadata URL) they "
        "stop with an error, `settings` excepted; only `cumulo serve` creates it.",
        "",
        "| setting (TOML key) | flag | environment | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for f in fields(Settings):
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default != "" else "(empty)"
        lines.append(
            f"| `{f.name}` | `{flag}` | `{ENV_PREFIX}{f.name.upper()}` | `{default}` "
            f"| {f.metadata['help']} |"
        )
    return "\n".join(lines) + "\n"
