"""The bulk preview: totals over the whole selection in SQL, and one page of
customers with their plans."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)

from migrations_app.domain.bulk import BulkCustomerPlan, bulk_customer_plan
from migrations_app.domain.catalogue import CatalogueIndex, catalogue_index
from migrations_app.domain.plan import MIGRATABLE_STATUSES, migration_plans
from migrations_app.models import (
    Customer,
    Migration,
    MigrationState,
    Subscription,
    UserLicense,
)
from migrations_app.models.catalog import is_modern_key
from migrations_app.models.wording import without_usage_location

PREVIEW_PAGE_SIZE = 25


@dataclass(frozen=True)
class BulkTotals:
    """The whole selection, counted in SQL."""

    customers: int
    subscriptions: int
    seats: int
    users: int
    cannot_start: int

    @property
    def can_start(self) -> int:
        """Return how many of the chosen customers have something to start."""
        return max(self.customers - self.cannot_start, 0)


def _free_retired(index: CatalogueIndex) -> QuerySet[Subscription]:
    """Retired-SKU subscriptions a migration could start from (none open on them)."""
    status = Q()
    for value in MIGRATABLE_STATUSES:
        status |= Q(status__iexact=value)
    return (
        Subscription.objects.filter(index.retired_q())
        .filter(status)
        .exclude(
            Exists(
                Migration.objects.filter(source_subscription=OuterRef("pk")).exclude(
                    state=MigrationState.CANCELLED
                )
            )
        )
    )


def _licence_sku(index: CatalogueIndex) -> Case:
    """Return, as SQL, the Entra skuId a retired subscription's licences carry."""
    whens = []
    for key in index.retired_offer_ids():
        item = index.item(key)
        if item is None or not item.entra_sku_id:
            continue
        if is_modern_key(key):
            product, sku = key.split(":", 1)
            match = Q(product_id=product, sku_id=sku)
        else:
            match = Q(offer_id=key)
        whens.append(When(match, then=Value(item.entra_sku_id)))
    return Case(*whens, default=Value(""), output_field=CharField())


def _startable(index: CatalogueIndex) -> QuerySet[Subscription]:
    """Free retired subscriptions whose licence is known and whose users all have
    a usage location: the ones a bulk run can start."""
    return (
        _free_retired(index)
        .annotate(licence_sku=_licence_sku(index))
        .exclude(licence_sku="")
        .exclude(
            Exists(
                UserLicense.objects.filter(
                    without_usage_location("user__"),
                    sku_id=OuterRef("licence_sku"),
                    user__customer=OuterRef("customer"),
                )
            )
        )
    )


def bulk_preview_totals(
    *, customers: QuerySet[Customer], index: CatalogueIndex
) -> BulkTotals:
    """Return the selection's customers, subscriptions to move, their seats, the
    users holding their licences, and the customers that cannot start at all
    (no GDAP access, or no subscription to move whose licence is known and
    whose users all have a usage location).

    Three queries, however many customers are selected.
    """
    chosen = customers.order_by().values("pk")
    free = _free_retired(index)
    counts = Customer.objects.filter(pk__in=chosen).aggregate(
        customers=Count("pk"),
        cannot=Count(
            "pk",
            filter=~Q(gdap_missing="")
            | ~Q(Exists(_startable(index).filter(customer=OuterRef("pk")))),
        ),
    )
    subs = free.filter(customer__in=chosen).aggregate(
        subscriptions=Count("pk"), seats=Sum("quantity")
    )
    skus = sorted(index.retired_sku_ids())
    users = (
        UserLicense.objects.filter(sku_id__in=skus, user__customer__in=chosen)
        .values("user_id")
        .distinct()
        .count()
        if skus
        else 0
    )
    return BulkTotals(
        customers=int(counts["customers"] or 0),
        subscriptions=int(subs["subscriptions"] or 0),
        seats=int(subs["seats"] or 0),
        users=users,
        cannot_start=int(counts["cannot"] or 0),
    )


@dataclass
class BulkPreview:
    totals: BulkTotals
    page: Page
    rows: list[BulkCustomerPlan]


def bulk_preview(
    *,
    customers: QuerySet[Customer],
    page_number: int,
    when: str,
    retire: str,
    path: str,
) -> BulkPreview:
    """Return the preview of a bulk run over `customers`: totals, and one page of
    customers with what the run would start for each (or why not).

    The query count does not depend on how many customers are selected.
    """
    index = catalogue_index()
    totals = bulk_preview_totals(customers=customers, index=index)
    ordered = Customer.objects.filter(
        pk__in=customers.order_by().values("pk")
    ).order_by("company_name", "pk")
    paginator = Paginator(ordered, PREVIEW_PAGE_SIZE)
    # The paginator counts with one query of its own; the totals know it already.
    paginator.count = totals.customers
    page = paginator.get_page(page_number)
    shown = list(page.object_list)
    plans = migration_plans(customers=shown, index=index)
    rows = [
        bulk_customer_plan(plans[c.pk], when=when, retire=retire, path=path)
        for c in shown
    ]
    return BulkPreview(totals=totals, page=page, rows=rows)
