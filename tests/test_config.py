"""Configuration: defaults, then HAILONG_* environment variables, then the mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from survey import config as config_module
from survey import create_app
from survey.config import DEFAULTS, ConfigError, load_config


@pytest.fixture(autouse=True)
def _no_hailong_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests start from the defaults, and never write the real instance/ folder."""
    import os

    for key in list(os.environ):
        if key.startswith("HAILONG_"):
            monkeypatch.delenv(key)
    monkeypatch.setattr(config_module, "INSTANCE_DIR", tmp_path / "instance")


def test_defaults() -> None:
    config = load_config()
    assert config["DATABASE_URL"].startswith("sqlite:///")
    assert config["KIOSK_THANKS_SECONDS"] == DEFAULTS["KIOSK_THANKS_SECONDS"]
    assert Path(config["FORMS_DIR"]).is_dir()


def test_environment_overrides_defaults_and_is_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAILONG_KIOSK_IDLE_SECONDS", "45")
    monkeypatch.setenv("HAILONG_RATE_LIMIT_EXEMPT", '["10.0.0.5", "10.0.0.6"]')
    monkeypatch.setenv("HAILONG_SUBMIT_RATE_LIMIT", "5/minute")
    config = load_config()
    assert config["KIOSK_IDLE_SECONDS"] == 45
    assert config["RATE_LIMIT_EXEMPT"] == ["10.0.0.5", "10.0.0.6"]
    assert config["SUBMIT_RATE_LIMIT"] == "5/minute"


def test_mapping_overrides_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAILONG_KIOSK_IDLE_SECONDS", "45")
    assert load_config({"KIOSK_IDLE_SECONDS": 12})["KIOSK_IDLE_SECONDS"] == 12


def test_malformed_environment_value_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAILONG_KIOSK_IDLE_SECONDS", "ninety")
    with pytest.raises(ConfigError, match="HAILONG_KIOSK_IDLE_SECONDS"):
        load_config()


def test_unsupported_database_is_refused() -> None:
    with pytest.raises(ConfigError, match="sqlite:// or postgresql://"):
        load_config({"DATABASE_URL": "mysql://root@localhost/hailong"})


@pytest.mark.parametrize("key", ["FORMS_DIR", "TRANSLATIONS_DIR"])
def test_missing_directory_is_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        load_config({key: str(tmp_path / "nowhere")})


def test_plain_postgresql_url_uses_psycopg() -> None:
    config = load_config({"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test"})
    assert config["DATABASE_URL"] == "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_config()["SECRET_KEY"]
    assert len(first) >= 32
    assert load_config()["SECRET_KEY"] == first
    key_file = tmp_path / "instance" / "secret_key"
    assert key_file.stat().st_mode & 0o077 == 0


def test_given_secret_key_wins() -> None:
    assert load_config({"SECRET_KEY": "from-the-vault"})["SECRET_KEY"] == "from-the-vault"


def test_app_derives_the_sqlalchemy_uri(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'x.db'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": url})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == url
    assert (tmp_path / "sub").is_dir()
    assert app.config["BABEL_DEFAULT_LOCALE"] == "vi"


def test_security_headers(client) -> None:  # noqa: ANN001 -- the client fixture
    page = client.get("/healthz")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
