"""Configuration: defaults, then ``HAILONG_*`` environment variables, then a test mapping."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"

DEFAULTS: dict[str, Any] = {
    # Embedded default: one SQLite file, WAL mode (see survey.db_setup).
    "DATABASE_URL": f"sqlite:///{INSTANCE_DIR / 'hailong.db'}",
    "SECRET_KEY": None,
    "FORMS_DIR": str(PROJECT_ROOT / "forms"),
    "TRANSLATIONS_DIR": str(PROJECT_ROOT / "translations"),
    "DEFAULT_LOCALE": "vi",
    # A language is offered on the kiosk only when its catalog covers this
    # share of the strings the kiosk shows (DOMAIN.md: never a half language).
    "KIOSK_LANGUAGE_COVERAGE": 0.95,
    "KIOSK_THANKS_SECONDS": 8,
    "KIOSK_IDLE_SECONDS": 90,
    "MAX_COMMENT_LENGTH": 2000,
    # Refuse bodies larger than this before parsing them.
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "SUBMIT_RATE_LIMIT": "30/minute",
    # All devices of one centre together (a flood aimed at one centre's index).
    "CENTRE_SUBMIT_RATE_LIMIT": "300/minute",
    # Near-identical ratings of one device this close in time are flagged "burst".
    "INTEGRITY_BURST_SECONDS": 10,
    # Each worker keeps active centres this many seconds for submissions; a
    # centre deactivated elsewhere may take ratings that long (0 = no cache).
    "CENTRE_CACHE_SECONDS": 5,
    # Client addresses (kiosks behind a centre's NAT) exempt from the limit.
    "RATE_LIMIT_EXEMPT": [],
    # Where rate-limit counters live. memory:// counts in each worker process,
    # so under gunicorn a limit lets through workers x the limit; give every
    # worker one shared store with redis://host:6379 (extra: hailong[redis]).
    "RATELIMIT_STORAGE_URI": "memory://",
    # Keys in a shared store start with this: one Redis may serve several deployments.
    "RATELIMIT_KEY_PREFIX": "hailong",
    # Passed to the storage client; a Redis URI gets REDIS_TIMEOUTS under these.
    "RATELIMIT_STORAGE_OPTIONS": {},
    # A rating must never be lost because the limiter's store is down: each
    # worker then counts in memory (per-process limits) until the store answers
    # again, and any other limiter error lets the request through unlimited.
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    "RATELIMIT_SWALLOW_ERRORS": True,
    "MIN_REPORTABLE_N": 30,
    # Staff logins: per-address rate limit on the login POST, and a lockout
    # after this many consecutive failures of one account.
    "LOGIN_RATE_LIMIT": "10/minute",
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_LOCKOUT_MINUTES": 15,
    # Secure session cookie always (set behind an HTTPS proxy); HTTPS requests get it anyway.
    "SESSION_COOKIE_SECURE": False,
    # Dashboard alert: the last ALERT_RECENT_DAYS finished days against the
    # ALERT_BASELINE_DAYS before them, one-sided design-based test at ALERT_ALPHA,
    # both periods with at least ALERT_MIN_N respondents.
    "ALERT_RECENT_DAYS": 7,
    "ALERT_BASELINE_DAYS": 90,
    "ALERT_ALPHA": 0.05,
    "ALERT_MIN_N": 30,
    "TRUST_PROXY": False,
}

#: Keys whose environment values are parsed as JSON (numbers, lists, booleans).
_TYPED = {k for k, v in DEFAULTS.items() if not isinstance(v, str) and v is not None}

#: Seconds a Redis rate-limit store may take to connect or answer. redis-py
#: waits forever by default: a store that stops answering (host gone, packets
#: dropped) would hold every submission; past these the limiter falls back.
REDIS_TIMEOUTS: dict[str, float] = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
_REDIS_SCHEMES = ("redis://", "rediss://", "redis+unix://")


def sqlalchemy_url(url: str) -> str:
    """The URL with psycopg 3 as the PostgreSQL driver (the maintained one);
    accepts the plain ``postgresql://`` URL people write."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


class ConfigError(RuntimeError):
    """A required setting is missing or malformed."""


def load_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    config = dict(DEFAULTS)
    for key in DEFAULTS:
        raw = os.environ.get(f"HAILONG_{key}")
        if raw is None:
            continue
        if key in _TYPED:
            try:
                config[key] = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"HAILONG_{key}={raw!r} is not valid JSON: {exc}") from exc
        else:
            config[key] = raw
    config.update(overrides or {})
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = _instance_secret()
    if not str(config["DATABASE_URL"]).startswith(("sqlite", "postgresql")):
        raise ConfigError("HAILONG_DATABASE_URL must be a sqlite:// or postgresql:// URL")
    for key in ("FORMS_DIR", "TRANSLATIONS_DIR"):
        if not Path(config[key]).is_dir():
            raise ConfigError(f"{key} {config[key]!r} is not a directory")
    if not isinstance(config["RATELIMIT_STORAGE_OPTIONS"], dict):
        raise ConfigError("HAILONG_RATELIMIT_STORAGE_OPTIONS must be a JSON object")
    if str(config["RATELIMIT_STORAGE_URI"]).startswith(_REDIS_SCHEMES):
        config["RATELIMIT_STORAGE_OPTIONS"] = {**REDIS_TIMEOUTS,
                                               **config["RATELIMIT_STORAGE_OPTIONS"]}
    config["DATABASE_URL"] = sqlalchemy_url(config["DATABASE_URL"])
    return config


def _instance_secret() -> str:
    """A random key kept in ``instance/`` so sessions survive restarts of a demo.

    Production sets ``HAILONG_SECRET_KEY`` from its secret store instead.
    """
    INSTANCE_DIR.mkdir(exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32), encoding="ascii")
        path.chmod(0o600)
    return path.read_text(encoding="ascii").strip()
