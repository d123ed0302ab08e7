"""The production settings stop start-up on a malformed or weak key, with a message."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]


def start(
    tmp_path: Path, *command: str, **overrides: str
) -> subprocess.CompletedProcess[str]:
    """Run `manage.py <command>` under the production settings with `overrides`."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "partnerhub.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "partnerhub.example.com",
        "PARTNERHUB_AUDIT_KEY": secrets.token_hex(32),
        "PARTNERHUB_SECRETS_KEY": Fernet.generate_key().decode(),
        "PARTNERHUB_VAR_DIR": str(tmp_path),
        **overrides,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_well_formed_keys_pass_check_deploy(tmp_path: Path) -> None:
    result = start(tmp_path, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "value",
    [
        "not-a-fernet-key",
        # Well-formed keys made once, cut short or followed by a bad one: literal,
        # so every xdist worker collects the same tests.
        "XiQy_X7UKNx0wU8RdLf8Zrd22FanHrRiDRVpbSgw",
        "XiQy_X7UKNx0wU8RdLf8Zrd22FanHrRiDRVpbSgwSRA=,oops",
        "é" * 44,
    ],
)
def test_a_malformed_secrets_key_stops_check_deploy_and_start_up(
    tmp_path: Path, value: str
) -> None:
    for command in (("check", "--deploy"), ("migrate", "--plan")):
        result = start(tmp_path, *command, PARTNERHUB_SECRETS_KEY=value)

        assert result.returncode != 0
        assert "PARTNERHUB_SECRETS_KEY is malformed" in result.stderr
        assert value not in result.stderr


@pytest.mark.parametrize(
    "value",
    [
        "a" * 32,
        "a" * 64,
        "abcd" * 8,
        "0123456789" * 4,
        "Password1" * 4,
        "9f3c1a7e5b2d8046",  # random-looking but too short
    ],
)
def test_a_weak_audit_key_is_refused_in_production(tmp_path: Path, value: str) -> None:
    result = start(tmp_path, "check", "--deploy", PARTNERHUB_AUDIT_KEY=value)

    assert result.returncode != 0
    assert "PARTNERHUB_AUDIT_KEY is too weak" in result.stderr


def test_a_random_32_character_audit_key_is_accepted(tmp_path: Path) -> None:
    result = start(tmp_path, "check", PARTNERHUB_AUDIT_KEY=secrets.token_hex(16))

    assert result.returncode == 0, result.stderr
