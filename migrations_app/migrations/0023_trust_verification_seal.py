from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("migrations_app", "0022_index_names_under_migrations_app")]

    operations = [
        migrations.AddField(
            model_name="auditverification",
            name="seal",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
    ]
