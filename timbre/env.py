"""Typed readers for settings taken from the environment.

Each reader fails loudly, naming the variable, when a value cannot be parsed: a typo in
production configuration must stop start-up, not silently fall back to a default.
Secrets may come from a file named by ``<NAME>_FILE`` (mounted secrets), which wins over
the plain variable so that a stale plain value never shadows the mounted one.
"""

from __future__ import annotations

import os
from pathlib import Path


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the variable."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE={file_path!r} cannot be read: {exc}") from exc
    value = os.environ.get(name)
    if value is None:
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not an integer") from exc
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={value} is below the minimum {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_host_ports(name: str, *, default_port: int) -> list[tuple[str, int]]:
    """A comma-separated list of ``host:port`` (``[v6]:port`` for IPv6; the port may be
    left out), e.g. ``TIMBRE_DNS_NAMESERVERS=10.0.0.2:53,[2001:db8::1]``."""
    result = []
    for item in env_list(name, []):
        host, port_text = item, ""
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            if rest and not rest.startswith(":"):
                raise ConfigError(f"{name}: {item!r} is not host:port")
            port_text = rest[1:]
        elif item.count(":") == 1:
            host, port_text = item.split(":")
        elif ":" in item:
            raise ConfigError(f"{name}: write an IPv6 address as [address]:port ({item!r})")
        try:
            port = int(port_text) if port_text else default_port
        except ValueError as exc:
            raise ConfigError(f"{name}: {item!r} has a port that is not a number") from exc
        if not host or not 0 < port < 65536:
            raise ConfigError(f"{name}: {item!r} is not host:port")
        result.append((host, port))
    return result


def require(name: str, value: str | None, *, why: str) -> str:
    """Stop start-up when a production secret is missing."""
    if not value:
        raise ConfigError(f"{name} must be set ({why}); see the README's production section")
    return value
