"""Fill the customer facts of 0018 for the customers already stored.

It runs after every schema change written beside 0018, because it calls the app's
current code (the one definition of "retired"), which expects the whole schema.
"""

from django.db import migrations


def fill_customer_facts(apps, schema_editor):
    """Compute the facts of the customers already stored (none on a new database)."""
    if not apps.get_model("migrations_app", "Customer").objects.exists():
        return
    # The one definition of the facts and of "retired", as the app has them now.
    from migrations_app.models.customer_facts import customer_facts_refresh
    from migrations_app.domain.catalogue import catalogue_index

    customer_facts_refresh(retired=catalogue_index().retired_q())


class Migration(migrations.Migration):
    dependencies = [("migrations_app", "0020_merge")]

    operations = [
        migrations.RunPython(fill_customer_facts, migrations.RunPython.noop),
    ]
