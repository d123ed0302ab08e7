"""The encrypted refresh-token store, and what a customer's GDAP access lacks."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("migrations_app", "0014_merge_purchase_refunds_transition_targets"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="gdap_missing",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.CreateModel(
            name="StoredSecret",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("name", models.CharField(max_length=64, unique=True)),
                ("ciphertext", models.TextField()),
                ("seeded_from", models.CharField(blank=True, max_length=64)),
                (
                    "seeded_at",
                    models.DateTimeField(default=django.utils.timezone.now),
                ),
                (
                    "rotated_at",
                    models.DateTimeField(default=django.utils.timezone.now),
                ),
            ],
            options={"ordering": ["name"]},
        ),
    ]
