"""Task names are defined once: every name sent, declared or scheduled is a
task the worker registers, and a misspelt one is refused where it is sent."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.conf import settings

import migrations_app.tasks  # noqa: F401  (registers every task)
from migrations_app import task_names
from migrations_app.workflow.enqueue import send_now, send_on_commit
from partnerhub.celery import app

ROOT = Path(__file__).resolve().parents[2]
SENDERS = {"send_on_commit", "send_now", "send_task", "TaskSend", "CustomerRefreshSend"}


def _registered() -> set[str]:
    return {name for name in app.tasks if name.startswith("migrations_app.")}


def _task_constants() -> dict[str, str]:
    """Return every module-level `*_TASK` constant in the app: where -> value."""
    import importlib

    found: dict[str, str] = {}
    for path in sorted((ROOT / "migrations_app").rglob("*.py")):
        if "migrations" in path.relative_to(ROOT / "migrations_app").parts[:1]:
            continue
        tree = ast.parse(path.read_text())
        names = [
            target.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name) and target.id.endswith("_TASK")
        ]
        if names:
            module = importlib.import_module(
                ".".join(path.relative_to(ROOT).with_suffix("").parts)
            )
            for name in names:
                found[f"{module.__name__}.{name}"] = getattr(module, name)
    return found


def test_every_defined_name_is_a_registered_task_and_every_task_has_a_name() -> None:
    assert set(task_names.ALL) == _registered()


def test_every_task_constant_a_sender_uses_is_a_registered_task() -> None:
    constants = _task_constants()
    assert len(constants) >= 7
    unknown = {
        where: name for where, name in constants.items() if name not in _registered()
    }
    assert unknown == {}


def test_every_scheduled_task_is_a_registered_task() -> None:
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled and scheduled <= _registered()


def test_no_sender_writes_a_task_name_as_a_string() -> None:
    literal: list[str] = []
    for path in sorted((ROOT / "migrations_app").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            called = (
                func.attr
                if isinstance(func, ast.Attribute)
                else getattr(func, "id", "")
            )
            first = node.args[0]
            if called in SENDERS and isinstance(first, ast.Constant):
                literal.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert literal == []


def test_a_misspelt_task_name_is_refused_where_it_is_sent() -> None:
    with pytest.raises(ValueError, match="not a task"):
        send_now("migrations_app.tasks.migration_advence", 1)
    with pytest.raises(ValueError, match="not a task"):
        send_on_commit("migrations_app.tasks.sync_partner_centre")
