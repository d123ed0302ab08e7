"""Join the migrations that were written side by side after 0015."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("migrations_app", "0016_bulk_runs_and_schedules"),
        ("migrations_app", "0017_provisioning"),
        ("migrations_app", "0018_customer_facts"),
        ("migrations_app", "0019_sync_and_engine_throughput"),
    ]

    operations: list[migrations.operations.base.Operation] = []
