"""Make the audit table append-only inside PostgreSQL too, and index outcome filters.

The ORM already refuses to update or delete audit events; these triggers refuse
UPDATE, DELETE and TRUNCATE issued as raw SQL. TRUNCATE is let through only when the
session sets `partnerhub.allow_audit_truncate = on`, which the test settings do so
that Django's test runner can flush the database between transactional tests. Only a
table owner or superuser can disable the triggers; the hash chain and
`manage.py audit_verify` catch what is changed that way.
"""

from django.db import migrations, models

FUNCTION = "partnerhub_audit_append_only"
ROW_TRIGGER = "auditevent_refuse_update_delete"
TRUNCATE_TRIGGER = "auditevent_refuse_truncate"


def _table(apps):
    return apps.get_model("migrations_app", "AuditEvent")._meta.db_table


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(_table(apps))
    schema_editor.execute(
        f"""
        CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'TRUNCATE'
               AND current_setting('partnerhub.allow_audit_truncate', true) = 'on' THEN
                RETURN NULL;
            END IF;
            RAISE EXCEPTION 'audit events are append-only: % refused on %',
                TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$;
        """,
        None,  # no parameters: the % signs belong to RAISE, not to the driver
    )
    schema_editor.execute(
        f"CREATE TRIGGER {ROW_TRIGGER} BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
    )
    schema_editor.execute(
        f"CREATE TRIGGER {TRUNCATE_TRIGGER} BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
    )


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(_table(apps))
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRUNCATE_TRIGGER} ON {table}")
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {ROW_TRIGGER} ON {table}")
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")


class Migration(migrations.Migration):
    dependencies = [
        ("migrations_app", "0002_roles_and_sku_catalogue"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["outcome", "-id"], name="auditevent_outcome_id"),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
