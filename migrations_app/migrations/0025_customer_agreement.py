from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("migrations_app", "0024_verification_seal"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="agreement_recorded",
            field=models.BooleanField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="customer",
            name="agreement_checked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
