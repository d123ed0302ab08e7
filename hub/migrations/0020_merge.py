"""Join the migrations that were written side by side after 0015."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("hub", "0016_bulk_runs_and_schedules"),
        ("hub", "0017_provisioning"),
        ("hub", "0018_customer_facts"),
    ]

    operations: list[migrations.operations.base.Operation] = []
