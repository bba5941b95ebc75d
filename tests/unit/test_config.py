from __future__ import annotations

from pathlib import Path

import pytest

from cumulo import config


def test_precedence_default_file_env_flag(tmp_path: Path) -> None:
    (tmp_path / "cumulo.toml").write_text('region = "from-file"\nobject-port = 9000\n')
    env = {"CUMULO_DATA_DIR": str(tmp_path), "CUMULO_OBJECT_PORT": "9100"}
    settings = config.load({}, env)
    assert settings.region == "from-file"
    assert settings.object_port == 9100
    assert settings.identity_port == 5000
    assert config.load({"object_port": 9200}, env).object_port == 9200


@pytest.mark.parametrize("region", ["cloud.ca", "", "a b", "-x"])
def test_region_names_botocore_would_reject(region: str, tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError, match="region"):
        config.load({"data_dir": str(tmp_path), "region": region}, {})


def test_bad_values_and_unknown_keys(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError, match="not a valid int"):
        config.load({"data_dir": str(tmp_path)}, {"CUMULO_OBJECT_PORT": "eighty"})
    (tmp_path / "cumulo.toml").write_text("colour = 1\n")
    with pytest.raises(config.ConfigError, match="unknown setting"):
        config.load({"data_dir": str(tmp_path)}, {})
    with pytest.raises(config.ConfigError, match="go together"):
        config.load({"data_dir": str(tmp_path / "x"), "tls_cert": "c.pem"}, {})


def test_public_urls_default_from_host_and_ports(tmp_path: Path) -> None:
    settings = config.load({"data_dir": str(tmp_path), "host": "0.0.0.0"}, {})
    assert settings.public_identity_url == "http://127.0.0.1:5000"
    settings = config.load(
        {"data_dir": str(tmp_path), "identity_url": "https://auth.example.com/"}, {}
    )
    assert settings.public_identity_url == "https://auth.example.com"


def test_settings_reference_is_current() -> None:
    doc = Path(__file__).parents[2] / "docs" / "settings.md"
    assert doc.read_text() == config.settings_markdown(), "run `make docs`"


def test_admin_commands_read_the_servers_record_below_env_and_flags(tmp_path: Path) -> None:
    (tmp_path / "cumulo.toml").write_text('region = "from-file"\nobject-port = 9000\n')
    served = config.load(
        {
            "data_dir": str(tmp_path),
            "object_port": 9300,
            "metadata_url": "sqlite:////elsewhere/m.db",
            "admin_password": "not-recorded",
        },
        {},
    )
    path = config.record(served)
    assert path == tmp_path / config.RECORD_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert "not-recorded" not in path.read_text()

    env = {"CUMULO_DATA_DIR": str(tmp_path)}
    admin = config.load({}, env, recorded=True)
    assert admin.object_port == 9300 and admin.region == "from-file"
    assert admin.database_url == "sqlite:////elsewhere/m.db"
    assert admin.public_object_url == "http://127.0.0.1:9300"
    assert admin.admin_password == ""
    # The admin command's own environment and flags win over the record.
    assert config.load({}, {**env, "CUMULO_OBJECT_PORT": "9400"}, recorded=True).object_port == 9400
    assert config.load({"metadata_url": "sqlite:///x"}, env, recorded=True).database_url == (
        "sqlite:///x"
    )
    # `serve` itself never reads it.
    assert config.load({}, env).object_port == 9000


def test_a_broken_record_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / config.RECORD_FILE).write_text("[1, 2")
    with pytest.raises(config.ConfigError, match=config.RECORD_FILE):
        config.load({"data_dir": str(tmp_path)}, {}, recorded=True)
    (tmp_path / config.RECORD_FILE).write_text('{"object_port": "eighty"}')
    with pytest.raises(config.ConfigError, match="not a valid int"):
        config.load({"data_dir": str(tmp_path)}, {}, recorded=True)
