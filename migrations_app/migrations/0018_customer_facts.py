"""Facts of each customer kept on its row for the customer list, and a version per
migration for the progress polls."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("migrations_app", "0015_stored_secret_and_customer_gdap_missing"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="expiring_end",
            field=models.DateTimeField(blank=True, db_index=True, null=True),
        ),
        migrations.AddField(
            model_name="customer",
            name="retired_count",
            field=models.PositiveIntegerField(db_default=0, db_index=True, default=0),
        ),
        migrations.AddField(
            model_name="customer",
            name="soonest_end",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="customer",
            name="user_count",
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name="migration",
            name="version",
            field=models.PositiveBigIntegerField(db_default=0, default=0),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                fields=["company_name", "id"], name="customer_name_order"
            ),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                fields=["soonest_end", "company_name", "id"],
                name="customer_expiry_order",
            ),
        ),
    ]
