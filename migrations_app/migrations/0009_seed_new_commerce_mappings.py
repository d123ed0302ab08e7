"""Seed today's SKU changes beside the seeds' Dynamics table, and fill new columns.

- Every existing mapping target becomes its own alternative (what it meant so far).
- Subscriptions synced before the catalogue ids were stored get them from their
  `product:sku:availability` offer id, so the modern mappings match at once.
- The Teams unbundling and the Dynamics 365 per-app split, keyed on the modern
  catalogue's `productId:skuId` (the ids the sandbox's catalogue serves): every
  user of the retired SKU gets every target of the alternative.
"""

from django.db import migrations

TEAMS_ENTERPRISE = ("Microsoft Teams Enterprise", "CFQ7TTC0MBMC:0001")

# (product line, retired SKU name, retired productId:skuId, [alternatives]); each
# alternative lists (target name, target productId:skuId) that every user gets.
MODERN_CATALOGUE = [
    (
        "Microsoft 365 (Teams unbundling)",
        "Microsoft 365 E3",
        "CFQ7TTC0LFLX:0001",
        [[("Microsoft 365 E3 (no Teams)", "CFQ7TTC0MBMD:0001"), TEAMS_ENTERPRISE]],
    ),
    (
        "Microsoft 365 (Teams unbundling)",
        "Microsoft 365 E5",
        "CFQ7TTC0KZCR:0001",
        [[("Microsoft 365 E5 (no Teams)", "CFQ7TTC0MBMF:0001"), TEAMS_ENTERPRISE]],
    ),
    (
        "Dynamics 365 (per-app)",
        "Dynamics 365 Customer Engagement Plan",
        "CFQ7TTC0LH0R:0001",
        [
            [
                ("Dynamics 365 Sales Enterprise", "CFQ7TTC0LH2H:0001"),
                (
                    "Dynamics 365 Customer Service Enterprise Attach to Qualifying "
                    "Dynamics 365 Base Offer",
                    "CFQ7TTC0LHWB:0004",
                ),
            ]
        ],
    ),
    (
        "Dynamics 365 (per-app)",
        "Dynamics 365 Unified Operations Plan",
        "CFQ7TTC0LH0Q:0001",
        [
            [
                ("Dynamics 365 Finance", "CFQ7TTC0LH2X:0001"),
                (
                    "Dynamics 365 Supply Chain Management Attach to Qualifying "
                    "Dynamics 365 Base Offer",
                    "CFQ7TTC0LHWH:0003",
                ),
            ]
        ],
    ),
]
FIRST_POSITION = 10


def forwards(apps, schema_editor):
    SkuMapping = apps.get_model("migrations_app", "SkuMapping")
    SkuMappingTarget = apps.get_model("migrations_app", "SkuMappingTarget")
    Subscription = apps.get_model("migrations_app", "Subscription")
    modern = [row[1] for row in MODERN_CATALOGUE]
    targets = list(SkuMappingTarget.objects.exclude(mapping__retired_name__in=modern))
    for target in targets:
        target.alternative = target.position
    SkuMappingTarget.objects.bulk_update(targets, ["alternative"])
    rows = []
    for sub in Subscription.objects.filter(offer_id__contains=":", product_id=""):
        parts = sub.offer_id.strip().upper().split(":")
        if len(parts) == 3 and all(parts):
            sub.product_id, sub.sku_id, sub.availability_id = parts
            rows.append(sub)
    Subscription.objects.bulk_update(
        rows, ["product_id", "sku_id", "availability_id"], batch_size=500
    )
    for offset, (line, retired, key, alternatives) in enumerate(MODERN_CATALOGUE):
        mapping, created = SkuMapping.objects.get_or_create(
            retired_name=retired,
            defaults={
                "product_line": line,
                "position": FIRST_POSITION + offset,
                "retired_offer_id": key,
            },
        )
        if not created:
            continue
        position = 0
        for alternative, group in enumerate(alternatives):
            for name, target_key in group:
                SkuMappingTarget.objects.create(
                    mapping=mapping,
                    position=position,
                    alternative=alternative,
                    target_name=name,
                    target_offer_id=target_key,
                )
                position += 1


def backwards(apps, schema_editor):
    SkuMapping = apps.get_model("migrations_app", "SkuMapping")
    names = [row[1] for row in MODERN_CATALOGUE]
    SkuMapping.objects.filter(retired_name__in=names).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("migrations_app", "0008_new_commerce_subscription_fields_and_modern_catalogue"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
