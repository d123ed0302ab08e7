"""A database made while the app was labelled `hub` keeps working as `migrations_app`."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _migrate(database: Path | str, checkpoint: Path | None = None) -> str:
    url = database if isinstance(database, str) else f"sqlite:///{database}"
    if checkpoint is None:
        assert isinstance(database, Path)
        checkpoint = database.parent / "checkpoint.json"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "partnerhub.settings",
        # migrate verifies the audit chain: that database's checkpoint, not var/'s.
        "PARTNERHUB_AUDIT_CHECKPOINT_FILE": str(checkpoint),
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _relabel_as_before(database: Path) -> None:
    """Turn a fresh database into one made under the former label."""
    with sqlite3.connect(database) as db:
        tables = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'migrations\\_app\\_%' ESCAPE '\\'"
            )
        ]
        for table in tables:
            db.execute(f'ALTER TABLE "{table}" RENAME TO "hub{table[14:]}"')
        db.execute("UPDATE django_migrations SET app='hub' WHERE app='migrations_app'")
        db.execute(
            "UPDATE django_content_type SET app_label='hub' WHERE app_label='migrations_app'"
        )
        db.execute(
            "INSERT INTO hub_customer (tenant_id, company_name, domain, "
            "relationship_to_partner, sync_error, gdap_missing, created_at, "
            "updated_at) VALUES ('6a1f4a3e00004000800000000000000' || '1', "
            "'Kept Ltd', 'kept.example', '', '', '', '2026-01-01', '2026-01-01')"
        )


def test_it_carries_a_database_made_under_the_former_label_over_with_its_rows(
    tmp_path: Path,
) -> None:
    database = tmp_path / "old.sqlite3"
    _migrate(database)
    _relabel_as_before(database)

    output = _migrate(database)

    assert "Carried" in output
    with sqlite3.connect(database) as db:
        names = [
            r[0] for r in db.execute("SELECT company_name FROM migrations_app_customer")
        ]
        assert names == ["Kept Ltd"]
        labels = {
            r[0] for r in db.execute("SELECT DISTINCT app FROM django_migrations")
        }
        assert "hub" not in labels and "migrations_app" in labels
        fk = db.execute("PRAGMA foreign_key_check").fetchall()
        assert fk == []
    # A second run has nothing left to carry over.
    assert "Carried" not in _migrate(database)


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


@pytest.mark.skipif(_postgres_url() is None, reason="needs DATABASE_URL on PostgreSQL")
def test_it_carries_a_postgresql_database_over_with_its_rows_triggers_and_indexes(
    tmp_path: Path,
) -> None:
    base = urlsplit(_postgres_url() or "")
    name = f"ph_label_{uuid.uuid4().hex[:10]}"
    admin_url = urlunsplit(base._replace(path="/postgres"))
    url = urlunsplit(base._replace(path=f"/{name}"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        _migrate(url, tmp_path / "checkpoint.json")
        with psycopg.connect(url, autocommit=True) as db:
            tables = [
                r[0]
                for r in db.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename LIKE 'migrations\\_app\\_%'"
                )
            ]
            for table in tables:
                db.execute(f'ALTER TABLE "{table}" RENAME TO "hub{table[14:]}"')
            db.execute(
                "UPDATE django_migrations SET app='hub' WHERE app='migrations_app'"
            )
            db.execute(
                "UPDATE django_content_type SET app_label='hub' "
                "WHERE app_label='migrations_app'"
            )
            db.execute(
                "INSERT INTO hub_customer (tenant_id, company_name, domain, "
                "relationship_to_partner, sync_error, gdap_missing, created_at, "
                "updated_at) VALUES ('6a1f4a3e-0000-4000-8000-000000000001', "
                "'Kept Ltd', 'kept.example', '', '', '', now(), now())"
            )

        assert "Carried" in _migrate(url, tmp_path / "checkpoint.json")

        with psycopg.connect(url, autocommit=True) as db:
            names = [
                r[0]
                for r in db.execute("SELECT company_name FROM migrations_app_customer")
            ]
            assert names == ["Kept Ltd"]
            left = db.execute(
                "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'hub\\_%'"
            ).fetchone()
            assert left == (0,)
            # The append-only triggers went with the audit table.
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                db.execute("TRUNCATE migrations_app_auditevent")
        assert "Carried" not in _migrate(url, tmp_path / "checkpoint.json")
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
