"""Provisioning migrations have no source subscription: at most one open per customer and skuId."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('migrations_app', '0015_stored_secret_and_customer_gdap_missing'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='migration',
            name='source_subscription',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='migrations', to='migrations_app.subscription'),
        ),
        migrations.AddConstraint(
            model_name='migration',
            constraint=models.UniqueConstraint(condition=models.Q(('source_subscription__isnull', True), models.Q(('state__in', ['completed', 'needs_customer_action', 'cancelled']), _negated=True)), fields=('customer', 'source_sku_id'), name='one_open_provisioning_per_customer_sku'),
        ),
        migrations.AddConstraint(
            model_name='migration',
            constraint=models.CheckConstraint(condition=models.Q(('source_subscription__isnull', False), models.Q(('path', 'provision'), models.Q(('source_sku_id', ''), _negated=True)), _connector='OR'), name='only_provisioning_has_no_source_subscription'),
        ),
    ]
