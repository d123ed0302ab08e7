"""The generic upsert: make stored rows match wanted values, writing only changes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import models

from migrations_app.models import clip, clip_int
from migrations_app.services.sync.errors import SyncDataError

M = TypeVar("M", bound=models.Model)

BATCH_SIZE = 500


def column_text(value: Any, model: type[models.Model], name: str) -> str:
    """Return `value` as text clipped to the column's max_length ("" for None)."""
    return clip(model, name, value)


def column_int(value: Any, default: int = 0, minimum: int | None = None) -> int:
    """Return a whole number that fits an integer column; raise SyncDataError."""
    if value is None:
        return default
    try:
        number = clip_int(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise SyncDataError(f"expected a number, got {value!r}") from exc
    if minimum is not None:
        number = max(minimum, number)
    return number


def sync_upsert(
    *,
    model: type[M],
    existing: dict[Any, M],
    wanted: dict[Any, dict[str, Any]],
    fields: Sequence[str],
    touch: dict[str, Any] | None = None,
    protected: Callable[[list[int]], set[int]] | None = None,
) -> int:
    """Make the rows in `existing` match `wanted`; return how many rows were written.

    `wanted` maps each key to the full column values of its row. Rows whose values
    already match are left alone; `touch` columns are set only on rows that are
    created or changed. Existing rows missing from `wanted` are deleted (and their
    cascades counted), except the primary keys `protected` returns.
    """
    touch = touch or {}
    to_create: list[M] = []
    # Rows grouped by the columns that differ, so each UPDATE sets only those
    # (a concurrent writer's change to another column is never overwritten).
    to_update: dict[tuple[str, ...], list[M]] = {}
    for key, values in wanted.items():
        row = existing.get(key)
        if row is None:
            to_create.append(model(**values, **touch))
            continue
        diff = tuple(name for name in fields if getattr(row, name) != values[name])
        if not diff:
            continue
        for name in diff:
            setattr(row, name, values[name])
        for name, value in touch.items():
            setattr(row, name, value)
        to_update.setdefault(diff, []).append(row)
    stale = [row.pk for key, row in existing.items() if key not in wanted]
    if stale and protected is not None:
        keep = protected(stale)
        stale = [pk for pk in stale if pk not in keep]
    written = 0
    if to_create:
        model._default_manager.bulk_create(to_create, batch_size=BATCH_SIZE)
        written += len(to_create)
    for diff, rows in to_update.items():
        model._default_manager.bulk_update(rows, [*diff, *touch], batch_size=BATCH_SIZE)
        written += len(rows)
    for start in range(0, len(stale), BATCH_SIZE):
        deleted, _ = model._default_manager.filter(
            pk__in=stale[start : start + BATCH_SIZE]
        ).delete()
        written += deleted
    return written
