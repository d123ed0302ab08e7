"""A purchase's send time and attempt, so a lost answer is never resent too early;
and an audit outcome "unknown" for a write no read can settle (a lost cart).

A purchase already sent before this change has no recorded send time: it is
given the time of this migration, so the listing delay is waited for again
rather than assumed over. Order ids lower-cased before this change cannot be
given their case back here (it was never stored); the provisioning step finds
the order again by listing the customer's orders.
"""

from django.db import migrations, models
from django.utils import timezone


def _sent_now(apps, schema_editor):  # noqa: ANN001, ANN202
    Migration = apps.get_model("migrations_app", "Migration")
    Migration.objects.filter(purchase_request_id__isnull=False, order_id="").update(
        purchase_sent_at=timezone.now()
    )


class Migration(migrations.Migration):
    dependencies = [("migrations_app", "0026_state_choices_out_of_the_schema")]

    operations = [
        migrations.AddField(
            model_name="migration",
            name="purchase_sent_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="migration",
            name="purchase_attempt",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.RunPython(_sent_now, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditevent",
            name="outcome",
            field=models.CharField(
                choices=[
                    ("success", "Success"),
                    ("failure", "Failure"),
                    ("denied", "Denied"),
                    ("unknown", "Outcome unknown"),
                ],
                db_index=True,
                default="success",
                max_length=16,
            ),
        ),
    ]
