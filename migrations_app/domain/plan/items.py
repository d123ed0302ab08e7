"""The plan's rows: each retired-SKU subscription and how it would move, or why not."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from migrations_app.domain.catalogue import CatalogueItem
from migrations_app.domain.channels import (
    OtherChannelLicences,
    other_channel_instruction,
)
from migrations_app.domain.plan.choices import TargetChoice, term_text
from migrations_app.models import (
    Customer,
    CustomerUser,
    Migration,
    MigrationPath,
    RetireMode,
    SkuMapping,
    Subscription,
    date_text,
)
from migrations_app.models.catalog import catalogue_key
from migrations_app.models.wording import has_usage_location, usage_location_problem
from partner_center.errors import CUSTOMER_AGREEMENT_STEPS

ALREADY_SUSPENDED = "Already suspended — left as it is"


@dataclass
class PlanItem:
    """One retired-SKU subscription and how it would move."""

    subscription: Subscription
    mapping: SkuMapping
    source_offer: CatalogueItem | None
    source_sku_id: str
    choices: list[TargetChoice]
    users: list[CustomerUser]
    # Licences of the source SKU the customer bought through another channel.
    other_channel: list[OtherChannelLicences] = field(default_factory=list)
    # Cancelled or failed migrations of this subscription that bought something.
    bought_before: list[Migration] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"s{self.subscription.pk}"

    def reusable(self, offer_id: str) -> Migration | None:
        """Return the earlier migration whose purchase of `offer_id` can be reused."""
        for earlier in self.bought_before:
            if offer_id and earlier.target_offer_id == offer_id:
                return earlier
        return None

    @property
    def reuse_notes(self) -> list[str]:
        """Return, per reusable target, what Start will reuse instead of buying."""
        notes = []
        for choice in self.choices:
            earlier = self.reusable(choice.offer_id)
            if earlier is not None:
                notes.append(reuse_text(earlier))
        return notes

    @property
    def default_target(self) -> TargetChoice | None:
        for choice in self.choices:
            if not choice.problem:
                return choice
        return self.choices[0] if self.choices else None

    @property
    def default_quantity(self) -> int:
        return max(self.subscription.quantity, len(self.users), 1)

    @property
    def minimum_quantity(self) -> int:
        return max(len(self.users), 1)

    @property
    def users_without_location(self) -> list[CustomerUser]:
        return [u for u in self.users if not has_usage_location(u.usage_location)]

    @property
    def end_date(self) -> datetime | None:
        return self.subscription.commitment_end_date

    @property
    def already_suspended(self) -> bool:
        return self.subscription.is_suspended

    @property
    def retire_choices(self) -> list[tuple[str, str]]:
        """Return how the old subscription may end, each with what it costs.

        Only what Partner Center allows for it: a new-commerce subscription is
        never suspended (it would keep billing); it can be cancelled for a
        prorated refund only inside its cancellation window. The first choice is
        the default: the cheapest safe one.
        """
        sub = self.subscription
        if self.already_suspended:
            # Nothing to retire: the migration leaves it as it is.
            return [(RetireMode.EXPIRE, ALREADY_SUSPENDED)]
        end = self.end_date
        ends = f"on {date_text(end)}" if end and end.year < 9999 else "at its end date"
        if sub.is_nce:
            expire = f"Turn auto-renew off: it stays billed until it expires {ends}"
            window = sub.cancellation_allowed_until
            if window is not None and window > timezone.now():
                cancel = (
                    f"Cancel it for a prorated refund (allowed until "
                    f"{date_text(window)}; the new licences are in place first)"
                )
                return [(RetireMode.CANCEL, cancel), (RetireMode.EXPIRE, expire)]
            return [(RetireMode.EXPIRE, expire)]
        return [
            (RetireMode.SUSPEND, "Suspend now"),
            (RetireMode.EXPIRE, f"Let it expire {ends}"),
        ]

    @property
    def retire_hint(self) -> str:
        """Return, in plain words, what each way of ending the old one costs."""
        sub = self.subscription
        end = self.end_date
        until = date_text(end) if end and end.year < 9999 else "its end date"
        if sub.is_nce:
            return (
                "A new-commerce subscription is never suspended: suspended, it would "
                "still be billed. Cancelling it inside its cancellation window refunds "
                "the unused part; turning auto-renew off keeps it, billed, until "
                f"{until}, then it ends."
            )
        return (
            "Suspending stops it now; the rest of its term is not refunded. Letting "
            f"it expire keeps it until {until}, then it ends."
        )

    @property
    def default_retire_mode(self) -> str:
        return self.retire_choices[0][0]

    @property
    def default_term(self) -> tuple[str, str]:
        """Return (term, billing cycle) to buy: the source's, where it has them."""
        sub = self.subscription
        term = sub.term_duration or (
            "P1Y" if sub.billing_cycle.lower() == "annual" else "P1M"
        )
        cycle = (sub.billing_cycle or "monthly").lower()
        return term, cycle

    def eligible_item(self, choice: TargetChoice | None, path: str) -> str:
        """Return the catalogue item Partner Center named for `path` to `choice`.

        From the eligibilities the worker's sync stored: "" unless the source is
        an active new-commerce subscription and `choice` is one SKU Partner
        Center allows on that path (a transition now with licence transfer; a
        change at renewal, which an immediate target also allows).
        """
        sub = self.subscription
        if choice is None or len(choice.items) != 1 or choice.offer is None:
            return ""
        if not (sub.is_nce and sub.is_active):
            return ""
        stored = sub.transition_targets or {}
        kinds = (
            ["immediate"]
            if path == MigrationPath.TRANSITION
            else ["scheduled", "immediate"]
        )
        if path == MigrationPath.SCHEDULED and sub.ends_on is None:
            return ""
        for kind in kinds:
            for item in stored.get(kind) or []:
                if catalogue_key(str(item)) == choice.offer.key:
                    return str(item)
        return ""

    def paths_for(self, choice: TargetChoice | None) -> list[tuple[str, str]]:
        """Return how this subscription can move to `choice`, safest first.

        Microsoft's own paths carry the users along and buy nothing: a
        transition now, or a change at renewal; buy → move → retire is always
        possible. Each comes with what it means, in plain words.
        """
        sub = self.subscription
        name = choice.name if choice is not None else "the new SKU"
        found: list[tuple[str, str]] = []
        if (
            self.eligible_item(choice, MigrationPath.TRANSITION)
            and not self.transition_shortfall
        ):
            found.append(
                (
                    MigrationPath.TRANSITION,
                    f"Transition now: Partner Center converts the {sub.quantity} "
                    f"seats to {name} and moves the users' licences itself. "
                    "PartnerHub then moves anyone it leaves behind and reads every "
                    "user back. Nothing is bought and nothing is left to retire: "
                    f"the subscription becomes {name} (or ends beside a new one).",
                )
            )
        if (
            self.eligible_item(choice, MigrationPath.SCHEDULED)
            and not self.transition_shortfall
        ):
            end = sub.ends_on
            when = f"on {date_text(end)}" if end else "at its renewal"
            found.append(
                (
                    MigrationPath.SCHEDULED,
                    f"Change at renewal {when}: it renews as {name}, so no overlap "
                    "is billed and nothing changes until then. PartnerHub then "
                    "moves anyone left behind and reads every user back.",
                )
            )
        found.append(
            (
                MigrationPath.BUY,
                f"Buy {name} now, move every user's licence, then end the old "
                "subscription as chosen below (both are billed until then).",
            )
        )
        return found

    @property
    def path_choices(self) -> list[tuple[str, str]]:
        """Return every path some target allows, the default target's first."""
        found = dict(self.paths_for(self.default_target))
        for choice in self.choices:
            for path, text in self.paths_for(choice):
                found.setdefault(path, text)
        order: list[str] = [
            MigrationPath.TRANSITION,
            MigrationPath.SCHEDULED,
            MigrationPath.BUY,
        ]
        return sorted(found.items(), key=lambda pair: order.index(pair[0]))

    @property
    def default_path(self) -> str:
        """Return the safest path of the default target."""
        return self.paths_for(self.default_target)[0][0]

    def path_problem(self, choice: TargetChoice | None, path: str) -> str:
        """Return why `choice` cannot move by `path`, in plain words, or ""."""
        if path in (p for p, _ in self.paths_for(choice)):
            return ""
        name = choice.name if choice is not None else "This target"
        if path in (
            MigrationPath.TRANSITION,
            MigrationPath.SCHEDULED,
        ) and self.eligible_item(choice, path):
            return self.transition_shortfall
        if path == MigrationPath.TRANSITION:
            return (
                f"Partner Center offers no transition to {name} for this "
                "subscription: choose buy."
            )
        if path == MigrationPath.SCHEDULED:
            return (
                f"Partner Center offers no change to {name} at this subscription's "
                "renewal: choose buy."
            )
        return "Choose how the subscription moves."

    @property
    def transition_shortfall(self) -> str:
        """Return why Microsoft's own paths cannot carry every holder, or "".

        A transition (or a change at renewal) converts only this subscription's
        seats; users holding the licence through another channel need one of
        them too, or they are left without the new licence.
        """
        seats, holders = self.subscription.quantity, len(self.users)
        if seats >= holders:
            return ""
        elsewhere = sum(o.units for o in self.other_channel)
        through = (
            f", {min(elsewhere, holders)} of them through another channel"
            if elsewhere
            else ""
        )
        return (
            f"A transition (or a change at renewal) is not offered: {holders} users "
            f"hold this licence{through}, but Partner Center converts only this "
            f"subscription's {seats} seats, so {holders - seats} users would be "
            "left without the new licence. Choose buy: it buys a seat for every "
            "user."
        )

    def choice(self, value: str) -> TargetChoice | None:
        """Return the target choice posted as `value`, or None."""
        for choice in self.choices:
            if value and value in (choice.value, choice.offer_id):
                return choice
        return None

    @property
    def warnings(self) -> list[str]:
        """Return what the operator should know before starting (plain words)."""
        notes: list[str] = []
        sub = self.subscription
        choice = self.default_target
        if choice is not None and choice.is_modern:
            preferred = self.default_term
            term = choice.term_for(preferred)
            if term != preferred:
                notes.append(
                    f"{choice.name} is not sold on the old subscription's term "
                    f"({term_text(preferred)}): it is bought for {term_text(term)}."
                )
        if sub.customer.gdap_missing:
            notes.append(gdap_problem(sub.customer))
        if sub.customer.agreement_recorded is False:
            notes.append(agreement_problem(sub.customer))
        if sub.reseller_of_record:
            notes.append(
                f"Sold through indirect reseller {sub.reseller_of_record}: the new "
                "subscription is bought with the same reseller of record."
            )
        if self.other_channel:
            notes.append(self.customer_instruction)
        if not self.source_sku_id:
            notes.append(
                "PartnerHub cannot tell which licence this subscription grants "
                "(its offer is not in the synced catalogue), so no user can be moved."
            )
        elif sub.quantity < len(self.users):
            notes.append(
                f"Not enough seats: {len(self.users)} users hold this licence but the "
                f"subscription has {sub.quantity}. The new subscription needs at "
                f"least {len(self.users)}."
            )
        own_path = self.eligible_item(
            choice, MigrationPath.TRANSITION
        ) or self.eligible_item(choice, MigrationPath.SCHEDULED)
        if own_path and self.transition_shortfall:
            notes.append(self.transition_shortfall)
        missing = self.users_without_location
        if missing:
            notes.append(usage_location_problem(missing, bought=False))
        return notes

    @property
    def customer_instruction(self) -> str:
        """Return what the customer must do about this SKU's other-channel licences."""
        if not self.other_channel:
            return ""
        return other_channel_instruction(
            self.subscription.customer.company_name, self.other_channel
        )


def agreement_problem(customer: Customer) -> str:
    """Return the plan's words for a customer with no Microsoft Customer Agreement.

    Partner Center refuses a checkout or order for such a customer (403/13605),
    so the warning comes before Start rather than after a failed purchase.
    """
    return (
        f"Partner Center has no Microsoft Customer Agreement recorded for "
        f"{customer.company_name}, so it will refuse the purchase (code 13605) and "
        "the migration will stop as needing the customer's action. Before Start: "
        f"{CUSTOMER_AGREEMENT_STEPS} The next sync reads it again."
    )


def gdap_problem(customer: Customer) -> str:
    """Return the plan's words for a customer whose GDAP access lacks a role."""
    return (
        f"Partner Center refused to list {customer.company_name}'s users or "
        "licence counts: the "
        f"partner's granular admin (GDAP) access lacks {customer.gdap_missing}. "
        "Licences cannot be read or moved, so this migration cannot start until "
        "the customer approves a GDAP relationship granting License Administrator "
        "or User Administrator and the next sync reads the users."
    )


def reuse_text(earlier: Migration) -> str:
    """Return the plan's words for a purchase reused from an earlier migration."""
    if not earlier.bought:
        return (
            f"Takes over the order for {earlier.quantity} seats of "
            f"{earlier.target_offer_name} that migration #{earlier.pk} sent but "
            "never saw confirmed: it is looked for by its reference first, so "
            "nothing is bought twice."
        )
    return (
        f"Reuses the {earlier.target_offer_name} subscription bought by migration "
        f"#{earlier.pk} ({earlier.quantity} seats): nothing new is bought for it."
    )


@dataclass
class SkippedSubscription:
    subscription: Subscription
    reason: str
    migrating: bool = False
    # The failed migration to open and retry, if that is why it is left out.
    failed: Migration | None = None

    @property
    def key(self) -> str:
        return f"s{self.subscription.pk}"


@dataclass
class Plan:
    customer: Customer
    items: list[PlanItem]
    skipped: list[SkippedSubscription]
    # Licences the customer holds beyond this partner's subscriptions.
    other_channels: list[OtherChannelLicences] = field(default_factory=list)

    @property
    def customer_instruction(self) -> str:
        """Return what the customer must do about licences bought elsewhere."""
        if not self.other_channels:
            return ""
        return other_channel_instruction(
            self.customer.company_name, self.other_channels
        )
