"""Service settings: one frozen value built from the environment and CLI flags, passed down."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from rundir.errors import LoadcapError

ENV_PREFIX = "LOADCAP_"
METRICS_ALLOW_DEFAULT = (
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
)
DEFAULT_RATE_LIMIT = "100/minute"


class SettingsError(LoadcapError, ValueError):
    """A configuration value is malformed; the message names the variable."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the reference service can be told. Defaults are the seed plan's numbers."""

    db_url: str = "sqlite:///loadcap.db"
    replica_urls: tuple[str, ...] = ()
    redis_url: str | None = None
    pool_size: int = 10
    profile_ttl_s: float = 300.0
    list_ttl_s: float = 60.0
    rate_limit: str | None = DEFAULT_RATE_LIMIT  # None switches rate limiting off
    body_limit_bytes: int = 100 * 1024
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    # Who may read /metrics (CIDRs): loopback and the private ranges a Prometheus sits in.
    metrics_allow: tuple[str, ...] = METRICS_ALLOW_DEFAULT
    replica_max_lag_s: float = 5.0
    replica_retry_s: float = 5.0
    replica_check_interval_s: float = 1.0  # how often replica lag is measured
    read_your_writes_s: float = 5.0
    read_your_writes_mode: str = "gtid"  # "gtid" (causal reads by position) or "window"
    # Signs read-your-writes positions; empty: the key kept in the shared database, which
    # every instance on it reads at start (signing_key.py).
    read_your_writes_secret: str = field(default="", repr=False)
    replica_max_stale_s: float = 300.0  # how long replicas serve reads while the master is down
    max_page_limit: int = 100
    default_page_limit: int = 20
    redis_timeout_s: float = 0.05
    # A mysql:// database without Redis is cached in-process only when this is the only
    # instance on it (other instances' writes would never reach this cache).
    single_instance: bool = False
    head_timeout_s: float = 10.0  # a request head (line + headers) must arrive within this
    local_cache_entries: int = 20_000  # the in-process L1 in front of the cache; 0 = off
    log_level: str = "info"
    # Set by `serve --workers N` (never by hand): prometheus_client's multiprocess directory.
    metrics_dir: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read LOADCAP_* variables, then apply explicit overrides (CLI flags); None = not given."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = _parse(f.name, raw, type(f.default))
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "rate_limit" in values and isinstance(values["rate_limit"], str):
            values["rate_limit"] = _rate_limit_or_none(values["rate_limit"])
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """LOADCAP_* variables that `from_env` turns back into these settings (uvicorn
        workers and service subprocesses receive their settings this way)."""
        env: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                text = ",".join(value)
            elif value is None:
                text = "off" if f.name == "rate_limit" else ""
            else:
                text = str(value)
            env[ENV_PREFIX + f.name.upper()] = text
        return env

    def with_changes(self, **changes: Any) -> Settings:
        return replace(self, **changes)  # validated by __post_init__

    def __post_init__(self) -> None:
        # An invalid Settings value cannot exist, however it was built.
        self.validate()

    def validate(self) -> None:
        if not (self.db_url.startswith("sqlite://") or self.db_url.startswith("mysql://")):
            raise SettingsError(
                f"LOADCAP_DB_URL: expected sqlite:///path or mysql://user:pass@host:port/db, "
                f"got {display_url(self.db_url)!r}"
            )
        for url in self.replica_urls:
            if not url.startswith("mysql://"):
                shown = display_url(url)
                raise SettingsError(f"LOADCAP_REPLICA_URLS: expected mysql:// URLs, got {shown!r}")
        if self.replica_urls and not self.db_url.startswith("mysql://"):
            raise SettingsError("replicas need a mysql:// primary database URL")
        if self.redis_url is not None and not self.redis_url.startswith(("redis://", "rediss://")):
            shown = display_url(self.redis_url)
            raise SettingsError(f"LOADCAP_REDIS_URL: expected redis://host:port/db, got {shown!r}")
        # The default is valid: commands that never change it skip importing `limits`.
        if self.rate_limit is not None and self.rate_limit != DEFAULT_RATE_LIMIT:
            _check_rate_limit(self.rate_limit)
        if self.log_level.lower() not in LOG_LEVELS:
            expected = ", ".join(LOG_LEVELS)
            raise SettingsError(
                f"LOADCAP_LOG_LEVEL: expected one of {expected}, got {self.log_level!r}"
            )
        for network in self.metrics_allow:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise SettingsError(
                    f"LOADCAP_METRICS_ALLOW: expected CIDR networks (e.g. 10.0.0.0/8), "
                    f"got {network!r}"
                ) from None
        positive = {
            "pool_size": self.pool_size,
            "body_limit_bytes": self.body_limit_bytes,
            "max_page_limit": self.max_page_limit,
            "default_page_limit": self.default_page_limit,
            "replica_check_interval_s": self.replica_check_interval_s,
        }
        for name, value in positive.items():
            if value <= 0:
                raise SettingsError(f"LOADCAP_{name.upper()}: must be positive, got {value}")
        if self.read_your_writes_mode not in READ_YOUR_WRITES_MODES:
            raise SettingsError(
                "LOADCAP_READ_YOUR_WRITES_MODE: expected gtid or window, "
                f"got {self.read_your_writes_mode!r}"
            )
        if self.default_page_limit > self.max_page_limit:
            raise SettingsError("LOADCAP_DEFAULT_PAGE_LIMIT must not exceed LOADCAP_MAX_PAGE_LIMIT")
        for name in (
            "profile_ttl_s",
            "list_ttl_s",
            "replica_max_lag_s",
            "read_your_writes_s",
            "redis_timeout_s",
            "replica_retry_s",
            "replica_max_stale_s",
            "head_timeout_s",
            "local_cache_entries",
        ):
            if getattr(self, name) < 0:
                raise SettingsError(f"LOADCAP_{name.upper()}: must not be negative")


LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
READ_YOUR_WRITES_MODES = ("gtid", "window")


def display_url(url: str) -> str:
    """`url` with its password masked, for messages and logs (`mysql://user:***@host/db`)."""
    # Greedy up to the last "@" before the path: an unencoded "@" in a password stays hidden.
    return re.sub(r"(//[^:/@]*:)[^/]*@", r"\1***@", url)


def _check_rate_limit(rate: str) -> None:
    # Imported here: settings stay importable (and cheap) without the limits library.
    import limits

    try:
        limits.parse(rate)
    except ValueError:
        raise SettingsError(
            f"LOADCAP_RATE_LIMIT: expected e.g. '100/minute' or 'off', got {rate!r}"
        ) from None


def _rate_limit_or_none(raw: str) -> str | None:
    text = raw.strip()
    return None if text.lower() in {"", "off", "none", "0", "false"} else text


def _parse(name: str, raw: str, kind: type) -> Any:
    var = ENV_PREFIX + name.upper()
    try:
        if name in {"replica_urls", "trusted_proxies", "metrics_allow"}:
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        if name in {"redis_url", "metrics_dir"}:
            return raw.strip() or None
        if name == "rate_limit":
            return _rate_limit_or_none(raw)
        if kind is bool:
            return _parse_bool(raw)
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        return raw
    except ValueError:
        raise SettingsError(f"{var}: expected {kind.__name__}, got {raw!r}") from None


def _parse_bool(raw: str) -> bool:
    text = raw.strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"", "0", "false", "no", "off"}:
        return False
    raise ValueError(raw)
