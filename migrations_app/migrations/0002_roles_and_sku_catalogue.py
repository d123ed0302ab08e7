"""Create the role groups, the audit chain head and the retired-SKU catalogue."""

from django.db import migrations

CE_PLAN = "Dynamics 365 Enterprise Customer Engagement Plan"

# Retired SKU -> Dynamics 365 targets, in the order of the source document.
CATALOGUE = [
    ("Dynamics AX", "Dynamics AX Enterprise",
     ["Dynamics 365 for Unified Operations", "Dynamics 365 Plan"]),
    ("Dynamics AX", "Dynamics AX Task", ["Dynamics 365 for Activity"]),
    ("Dynamics AX", "Dynamics AX Task/self service", ["Dynamics 365 for Team Members"]),
    ("Dynamics AX", "Dynamics AX Device", ["Dynamics 365 for Operations Device"]),
    ("CRM Online", "Dynamics CRM Online Enterprise", [CE_PLAN]),
    ("CRM Online", "Dynamics CRM Online Professional",
     [CE_PLAN, "Dynamics 365 for Sales", "Dynamics 365 for Customer Service"]),
    ("CRM Online", "Dynamics CRM Online Basic",
     ["Dynamics 365 for Team Members", "Dynamics 365 for Sales",
      "Dynamics 365 for Customer Service", CE_PLAN]),
    ("CRM Online", "Dynamics CRM Online Essential", ["Dynamics 365 for Team Members"]),
    ("CRM Online", "Dynamics CRM Online Field Service add-on",
     [CE_PLAN, "Dynamics 365 for Field Service"]),
    ("CRM Online", "Dynamics CRM Online Project Service Automation add-on",
     [CE_PLAN, "Dynamics 365 for Project Service Automation"]),
]


def forwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ("viewer", "operator", "admin"):
        Group.objects.get_or_create(name=name)
    AuditChainHead = apps.get_model("migrations_app", "AuditChainHead")
    AuditChainHead.objects.get_or_create(pk=1)
    SkuMapping = apps.get_model("migrations_app", "SkuMapping")
    SkuMappingTarget = apps.get_model("migrations_app", "SkuMappingTarget")
    for position, (line, retired, targets) in enumerate(CATALOGUE):
        mapping, _ = SkuMapping.objects.get_or_create(
            retired_name=retired,
            defaults={"product_line": line, "position": position},
        )
        for target_position, target in enumerate(targets):
            SkuMappingTarget.objects.get_or_create(
                mapping=mapping,
                target_name=target,
                defaults={"position": target_position},
            )


def backwards(apps, schema_editor):
    apps.get_model("migrations_app", "SkuMapping").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("migrations_app", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
