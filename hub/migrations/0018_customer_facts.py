"""Facts of each customer kept on its row for the customer list, and a version per
migration for the progress polls."""

from django.db import migrations, models


def fill_customer_facts(apps, schema_editor):
    """Compute the facts of the customers already stored (none on a new database)."""
    if not apps.get_model("hub", "Customer").objects.exists():
        return
    # The one definition of the facts and of "retired", as the app has them now.
    from hub.models.customer_facts import customer_facts_refresh
    from hub.workflow.catalogue import catalogue_index

    customer_facts_refresh(retired=catalogue_index().retired_q())


class Migration(migrations.Migration):
    dependencies = [
        ("hub", "0015_stored_secret_and_customer_gdap_missing"),
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
        migrations.RunPython(fill_customer_facts, migrations.RunPython.noop),
    ]
