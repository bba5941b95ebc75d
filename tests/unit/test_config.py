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
