"""Join the purchase refunds and the transition targets, added side by side."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("migrations_app", "0012_purchase_refunds"),
        ("migrations_app", "0013_subscription_transition_targets"),
    ]

    operations: list[migrations.operations.base.Operation] = []
