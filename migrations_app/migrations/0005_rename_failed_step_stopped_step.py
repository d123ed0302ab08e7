from django.db import migrations


class Migration(migrations.Migration):
    """The step a failed or cancelled migration stopped at."""

    dependencies = [("migrations_app", "0004_reseller_invitations")]

    operations = [
        migrations.RenameField(
            model_name="migration", old_name="failed_step", new_name="stopped_step"
        ),
    ]
