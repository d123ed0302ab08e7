"""docker-compose.yml starts: its environment satisfies the production settings.

The file is rendered as Docker Compose would (the env file, from its committed
example with generated secrets; the service's own `environment`, merged through
the `x-app` anchor) and `manage.py check --deploy` runs with exactly that
environment, so the file cannot drift from partnerhub/settings/production.py
again. Docker here cannot pull base images, so the image itself is not built;
everything short of it is checked.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from tests.compose_yaml import load

ROOT = Path(__file__).resolve().parents[1]
APP_SERVICES = ("migrate", "web", "worker", "beat")
_INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?::?(?P<op>[-?])(?P<arg>[^}]*))?\}")


def compose() -> dict[str, Any]:
    document = load(ROOT / "docker-compose.yml")
    assert isinstance(document, dict)
    return document


def env_file(path: Path) -> dict[str, str]:
    """Return an env file's VARIABLE=value lines (comments and blanks skipped)."""
    values = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f"{path.name}: {line!r} is not VARIABLE=value"
        values[name.strip()] = value
    return values


def _generated(name: str) -> str:
    """Return what an operator following the example's comments would put."""
    if name == "PARTNERHUB_SECRETS_KEY":
        return Fernet.generate_key().decode()
    return secrets.token_urlsafe(48)


def _interpolate(name: str, value: str) -> str:
    def replace(match: re.Match[str]) -> str:
        if match["op"] == "-":
            return match["arg"]
        raise AssertionError(
            f"{name} reads ${{{match['name']}}} from the shell; required settings "
            "belong in the env file."
        )

    return _INTERPOLATION.sub(replace, value)


def service_environment(name: str) -> dict[str, str]:
    """Return the environment Docker Compose gives service `name`."""
    service = compose()["services"][name]
    environment: dict[str, str] = {}
    for path in service.get("env_file", []):
        example = ROOT / f"{path}.example"
        assert example.exists(), f"{path} has no committed example {example.name}"
        for variable, value in env_file(example).items():
            environment[variable] = value or _generated(variable)
    own = service.get("environment", {})
    if isinstance(own, list):
        own = dict(item.split("=", 1) for item in own)
    for variable, value in own.items():
        environment[variable] = _interpolate(variable, str(value))
    return environment


def test_every_app_process_passes_the_production_checks_with_the_compose_environment(
    tmp_path: Path,
) -> None:
    rendered = {name: service_environment(name) for name in APP_SERVICES}
    for name, environment in rendered.items():
        assert environment["DJANGO_SETTINGS_MODULE"] == "partnerhub.settings.production"
        # /app/var is the image's; here the same settings get a directory of the test's.
        environment = {
            **environment,
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PARTNERHUB_VAR_DIR": str(tmp_path / name),
        }
        result = subprocess.run(
            [
                sys.executable,
                "manage.py",
                "check",
                "--deploy",
                "--fail-level",
                "WARNING",
            ],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )

        assert result.returncode == 0, f"{name}: {result.stderr[-2000:]}"
        assert "System check identified no issues" in result.stdout, result.stdout


def test_every_app_process_keeps_its_var_dir_on_one_named_volume() -> None:
    document = compose()
    mounts = set()
    for name in APP_SERVICES:
        var_dir = service_environment(name)["PARTNERHUB_VAR_DIR"]
        volumes = [str(v) for v in document["services"][name].get("volumes", [])]
        found = [v.split(":")[0] for v in volumes if v.split(":")[1:2] == [var_dir]]
        assert len(found) == 1, f"{name} mounts nothing at {var_dir}: {volumes}"
        mounts.add(found[0])
    (volume,) = mounts
    assert volume in (document.get("volumes") or {})
    beat = " ".join(document["services"]["beat"]["command"])
    assert service_environment("beat")["PARTNERHUB_VAR_DIR"] in beat


def test_the_filled_in_env_file_is_git_ignored_and_the_example_holds_no_secret() -> (
    None
):
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "deploy/partnerhub.env"], cwd=ROOT, check=False
    )
    example = env_file(ROOT / "deploy" / "partnerhub.env.example")

    assert ignored.returncode == 0
    for name in ("DJANGO_SECRET_KEY", "PARTNERHUB_AUDIT_KEY", "PARTNERHUB_SECRETS_KEY"):
        assert example[name] == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: b\n", {"a": "b"}),
        ('x: &x\n  k: v\ny:\n  <<: *x\n  l: [1, "2 3"]\n', None),
        ('s:\n  - "CMD" # c\n  - {c: d}\n', {"s": ["CMD", {"c": "d"}]}),
    ],
)
def test_the_compose_reader_understands_the_subset_the_file_uses(
    tmp_path: Path, text: str, expected: Any
) -> None:
    path = tmp_path / "c.yml"
    path.write_text(text)

    parsed = load(path)

    if expected is None:
        assert parsed["y"] == {"k": "v", "l": ["1", "2 3"]}
    else:
        assert parsed == expected


def test_the_image_carries_no_local_state_keys_or_env_file() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert {"var/", "deploy/partnerhub.env", ".venv", ".git"} <= ignored
    # collectstatic's development settings would write keys into /app/var.
    collect = next(
        line
        for line in dockerfile.splitlines()
        if "DJANGO_SETTINGS" in line and "RUN" in line
    )
    assert "PARTNERHUB_VAR_DIR=/tmp/" in collect
