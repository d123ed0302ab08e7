from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("migrations_app", "0023_path_choices")]

    operations = [
        migrations.AddField(
            model_name="auditverification",
            name="seal",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
    ]
