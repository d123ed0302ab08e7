"""Retired new-commerce subscriptions keep the transition targets Partner Center offers."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("migrations_app", "0011_notifications"),
    ]

    operations = [
        migrations.AddField(
            model_name="subscription",
            name="transition_targets",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
