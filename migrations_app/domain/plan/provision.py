"""The provisioning plan: buy in CSP the SKUs a customer holds through other channels.

Seed 2: a customer that bought licences elsewhere (Open, EA, directly, another
partner) joins through an invitation; the reseller buys the same product in CSP.
The Entra skuId is the same, so users keep their licences and nothing is moved;
the customer then cancels the originals or lets them expire. Nothing here calls
Partner Center: the plan reads synced rows, in a fixed number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from migrations_app.domain.catalogue import CatalogueItem
from migrations_app.domain.channels import (
    other_channel_licences,
    subscription_sku_ids,
)
from migrations_app.domain.plan.choices import COMMON_TERMS, TERM_WORDS
from migrations_app.models import (
    CLOSED_STATES,
    Customer,
    Migration,
    MigrationPath,
    MigrationState,
    Offer,
    SubscribedSku,
    Subscription,
)
from migrations_app.models.catalog import ProductSku

# Billing cycles a legacy order takes.
LEGACY_CYCLES = (("monthly", "Billed monthly"), ("annual", "Billed annually"))
CYCLE_WORDS = {"monthly": "monthly", "annual": "annually", "triennial": "every 3 years"}

SEATS_EXPLAINED = (
    "Seats held elsewhere are the tenant's active units of the SKU (Partner Center's "
    "activeUnits, Microsoft Graph's prepaidUnits.enabled) minus the seats of your own "
    "active subscriptions granting it. The plan proposes that many, so the customer "
    "keeps the seat count it bought. It never goes below the units assigned to users "
    "(consumedUnits) beyond your own seats: once the originals end, each of those "
    "users still needs a seat."
)
SAME_SKU = (
    "The CSP offer grants the same Entra skuId as the licences the customer holds: "
    "users keep working with the licence they have, and nothing is moved."
)


def provisioning_instruction(company: str) -> str:
    """Return what the customer must do once the CSP seats exist (seed 2)."""
    return (
        f"{company}'s original subscriptions, bought through another channel, are "
        "the customer's to cancel there or to let expire; PartnerHub cannot change "
        "them. Cancelled subscriptions are not refunded, so it is best to let them "
        "run to (or cancel them near) their natural end date."
    )


def term_text(term: str, cycle: str) -> str:
    """Return a term and billing cycle in words ("one year, billed monthly")."""
    words = TERM_WORDS.get(term, term)
    return f"{words}, billed {CYCLE_WORDS.get(cycle, cycle)}" if words else cycle


@dataclass
class ProvisionLine:
    """One SKU the tenant holds through another channel, and what CSP sells for it."""

    sku_id: str
    name: str
    part_number: str
    # Active units beyond this partner's active subscriptions granting the SKU.
    held_elsewhere: int
    active_units: int
    consumed_units: int
    # Units assigned to users beyond this partner's own seats: the floor.
    minimum: int
    offer: CatalogueItem | None = None
    # Why there is no offer to propose, in plain words ("" when there is one).
    no_offer_reason: str = ""
    # (value, words) the operator may choose: "P1Y:monthly" for new commerce,
    # "monthly" for a legacy order.
    terms: list[tuple[str, str]] = field(default_factory=list)
    # An open provisioning of this SKU (running or failed): Start is refused.
    open_migration: Migration | None = None
    # The last completed provisioning of this SKU: already bought in CSP.
    done_migration: Migration | None = None
    # An ended provisioning that bought, or may have bought, seats.
    unused_purchase: Migration | None = None

    @property
    def key(self) -> str:
        """Return the form prefix of this line (the skuId, which is unique)."""
        return f"sku-{self.sku_id}"

    @property
    def default_term(self) -> str:
        """Return the term proposed: one year billed monthly where sold."""
        values = [value for value, _ in self.terms]
        for term, cycle in COMMON_TERMS:
            if f"{term}:{cycle}" in values:
                return f"{term}:{cycle}"
        if "monthly" in values:
            return "monthly"
        return values[0] if values else ""

    @property
    def default_seats(self) -> int:
        return max(self.held_elsewhere, self.minimum, 1)

    @property
    def blocker(self) -> str:
        """Return why this line cannot be started now, or ""."""
        if self.offer is None:
            return self.no_offer_reason
        if self.open_migration is not None:
            state = (
                "failed; retry it from its page"
                if self.open_migration.state == MigrationState.FAILED
                else "already running"
            )
            return f"Provisioning #{self.open_migration.pk} of {self.name} is {state}."
        return ""

    @property
    def proposed_by_default(self) -> bool:
        """Return True if the line is ticked when the page opens."""
        return not self.blocker and self.done_migration is None

    @property
    def commerce(self) -> str:
        return self.offer.commerce if self.offer is not None else ""


@dataclass
class ProvisionPlan:
    """Every SKU a customer holds through other channels, with the CSP offer for it."""

    customer: Customer
    lines: list[ProvisionLine]
    instruction: str

    @property
    def startable(self) -> list[ProvisionLine]:
        return [line for line in self.lines if not line.blocker]


def _terms_of(offer: CatalogueItem) -> list[tuple[str, str]]:
    if not offer.is_modern:
        return list(LEGACY_CYCLES)
    sold = offer.terms or COMMON_TERMS
    return [(f"{t}:{c}", term_text(t, c).capitalize()) for t, c in sold]


def _offer_for(
    sku_id: str, skus: list[ProductSku], offers: list[Offer], country: str
) -> tuple[CatalogueItem | None, str]:
    """Return the CSP offer granting `sku_id` (new commerce first), or why none."""
    modern = sorted(
        (s for s in skus if s.entra_sku_id.lower() == sku_id),
        key=lambda s: (s.country != country, s.is_end_of_sale, s.pk),
    )
    for sku in modern:
        item = CatalogueItem.of_sku(sku)
        if item.is_available_for_purchase and item.catalog_item_id:
            return item, ""
    legacy = sorted(
        (o for o in offers if o.product_id.lower() == sku_id),
        key=lambda o: (o.country != country, o.pk),
    )
    for offer in legacy:
        if offer.is_available_for_purchase:
            return CatalogueItem.of_offer(offer), ""
    if modern:
        return None, (
            f"No CSP offer for this SKU: the catalogue's {modern[0].title} is end of "
            "sale, so Partner Center no longer sells it. Choose a successor with the "
            "customer and buy it as a migration instead (users' licences then move)."
        )
    if legacy:
        return None, (
            f"No CSP offer for this SKU: the legacy offer {legacy[0].name} can no "
            "longer be bought, and no new-commerce SKU grants the same licence."
        )
    return None, (
        "No CSP offer for this SKU: no offer in the synced catalogue grants this "
        "licence. It may be sold only through the channel it was bought from, or "
        "the catalogue sync has not read its product."
    )


def _unused_purchase(migrations: list[Migration]) -> Migration | None:
    """Return the newest provisioning of a SKU if it was cancelled after buying.

    Only the newest: an older one's purchase was taken over by a later
    provisioning (which copies it), or left behind by a later one that bought.
    """
    newest = migrations[0] if migrations else None
    if newest is None or newest.state != MigrationState.CANCELLED:
        return None
    if newest.bought or newest.purchase_request_id is not None:
        return newest
    return None


def provisioning_plan(*, customer: Customer) -> ProvisionPlan:
    """Return the provisioning plan of a customer (a fixed number of queries)."""
    subs = list(Subscription.objects.filter(customer=customer))
    rows = list(SubscribedSku.objects.filter(customer=customer))
    elsewhere = other_channel_licences(subs, rows)
    by_sku = {row.sku_id.lower(): row for row in rows}
    wanted = sorted({lic.sku_id.lower() for lic in elsewhere})
    skus = list(ProductSku.objects.filter(entra_sku_id__in=wanted)) if wanted else []
    offers = list(Offer.objects.filter(product_id__in=wanted)) if wanted else []
    earlier = (
        list(
            Migration.objects.filter(
                customer=customer,
                path=MigrationPath.PROVISION,
                source_sku_id__in=wanted,
            ).order_by("-created_at", "-id")
        )
        if wanted
        else []
    )
    # Seats of this partner's active subscriptions, per skuId granted.
    active = [s for s in subs if s.status.strip().lower() == Subscription.ACTIVE]
    granted = subscription_sku_ids(active)
    ours: dict[str, int] = {}
    for sub in active:
        sku = granted.get(sub.pk, "")
        ours[sku] = ours.get(sku, 0) + max(0, sub.quantity)
    country = settings.PARTNER_CENTER_COUNTRY
    lines = []
    for lic in sorted(elsewhere, key=lambda x: (x.name.lower(), x.sku_id)):
        sku_id = lic.sku_id.lower()
        row = by_sku[sku_id]
        offer, reason = _offer_for(sku_id, skus, offers, country)
        mine = [m for m in earlier if m.source_sku_id.lower() == sku_id]
        line = ProvisionLine(
            sku_id=sku_id,
            name=lic.name,
            part_number=row.sku_part_number,
            held_elsewhere=lic.units,
            active_units=row.active_units,
            consumed_units=row.consumed_units,
            minimum=max(1, row.consumed_units - ours.get(sku_id, 0)),
            offer=offer,
            no_offer_reason=reason,
            terms=_terms_of(offer) if offer is not None else [],
            open_migration=next(
                (m for m in mine if m.state not in CLOSED_STATES), None
            ),
            done_migration=next(
                (m for m in mine if m.state == MigrationState.COMPLETED), None
            ),
            unused_purchase=_unused_purchase(mine),
        )
        lines.append(line)
    return ProvisionPlan(
        customer=customer,
        lines=lines,
        instruction=provisioning_instruction(customer.company_name),
    )
