"""Read settings from the environment, failing loudly on malformed values."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    """Return the variable's value, or `default` when unset."""
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    """Return the variable as a boolean; raise ImproperlyConfigured if malformed."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean (use 1/0, true/false)."
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    """Return the variable as an int; raise ImproperlyConfigured if malformed."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}.")
    return value


def env_float(name: str, default: float) -> float:
    """Return the variable as a float; raise ImproperlyConfigured if malformed."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """Return a comma-separated variable as a list of non-empty stripped items."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_networks(name: str) -> list[str]:
    """Return a comma-separated list of IP addresses or CIDR networks, normalised.

    Raise ImproperlyConfigured naming the variable for an entry that is neither.
    """
    networks = []
    for item in env_list(name):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is not an IP address or network "
                "(e.g. 10.0.0.0/8 or 203.0.113.10)."
            ) from None
    return networks


def sqlite_database(path: Path) -> dict[str, Any]:
    """Return a SQLite DATABASES entry tuned for concurrent worker writes.

    WAL lets readers proceed while a writer commits, IMMEDIATE transactions take
    the write lock up front (no deadlock-prone lock upgrades), and the timeout
    makes a busy writer wait instead of failing at once.
    https://docs.djangoproject.com/en/5.2/ref/databases/#sqlite-transaction-behavior
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                "PRAGMA busy_timeout=30000;"
                "PRAGMA foreign_keys=ON;"
            ),
        },
    }


def database_from_url(url: str, *, base_dir: Path) -> dict[str, Any]:
    """Return a DATABASES entry for a postgres:// or sqlite:/// URL.

    Raise ImproperlyConfigured for any other scheme.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        raw_path = unquote(parts.path)
        if parts.netloc:
            raw_path = parts.netloc + raw_path
        if raw_path.startswith("//") or (
            raw_path.startswith("/") and not url.startswith("sqlite:////")
        ):
            raw_path = raw_path[1:]
        path = Path(raw_path)
        if not path.is_absolute():
            path = base_dir / path
        return sqlite_database(path)
    if scheme in {"postgres", "postgresql", "pgsql"}:
        options: dict[str, Any] = {}
        for key, values in parse_qs(parts.query).items():
            options[key] = values[-1]
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")) or "partnerhub",
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    raise ImproperlyConfigured(
        f"DATABASE_URL scheme {scheme!r} is not supported; use postgres:// or sqlite:///."
    )


def fernet_keys_problem(value: str) -> str:
    """Return why a comma-separated list of Fernet keys is malformed, or "".

    Each key must be 32 bytes in URL-safe base64 (44 characters), as
    `Fernet.generate_key()` makes them.
    """
    import base64
    import binascii

    keys = [key.strip() for key in value.split(",")]
    if not any(keys):
        return "it is empty"
    for position, key in enumerate(keys, start=1):
        try:
            raw = base64.urlsafe_b64decode(key.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raw = b""
        if len(raw) != 32:
            return (
                f"key {position} is not a Fernet key (32 bytes in URL-safe base64, "
                "44 characters)"
            )
    return ""


def env_fernet_keys(name: str) -> str:
    """Return the variable's Fernet key list, "" when unset.

    Raise ImproperlyConfigured naming the variable if it is set but malformed.
    """
    value = env_str(name).strip()
    if value and (problem := fernet_keys_problem(value)):
        raise ImproperlyConfigured(
            f"{name} is malformed: {problem}. Generate one with `python -c 'from "
            "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`."
        )
    return value


# A random key of 32 characters from a 16-letter alphabet carries about 120 bits.
_MIN_KEY_BITS = 100
_MIN_KEY_LENGTH = 32
_MIN_DISTINCT = 10


def weak_key_problem(key: str) -> str:
    """Return why `key` is too weak to be a secret key, or "".

    Too short, too few distinct characters, a repetition of a shorter text
    ("abcd" eight times), or too little information by character frequency (Shannon).
    """
    import math
    from collections import Counter

    if len(key) < _MIN_KEY_LENGTH:
        return f"it has {len(key)} characters; at least {_MIN_KEY_LENGTH} are needed"
    if len(set(key)) < _MIN_DISTINCT:
        return f"it uses only {len(set(key))} different characters"
    if key in (key + key)[1:-1]:
        return "it repeats a shorter text"
    counts = Counter(key)
    bits = -sum(n * math.log2(n / len(key)) for n in counts.values())
    if bits < _MIN_KEY_BITS:
        return f"it carries about {bits:.0f} bits; at least {_MIN_KEY_BITS} are needed"
    return ""
