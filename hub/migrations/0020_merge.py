"""Join the migrations that were written side by side after 0015."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("hub", "0016_bulk_runs_and_schedules"),
        ("hub", "0017_provisioning"),
        ("hub", "0018_customer_facts"),
        ("hub", "0019_sync_and_engine_throughput"),
    ]

    operations: list[migrations.operations.base.Operation] = []
