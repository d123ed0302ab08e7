"""How a subscription's state reads on the pages: the label, its tone, and the
dates and terms it names.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar

from django.utils import timezone

from migrations_app.models.pc_values import (
    FAR_FUTURE_YEAR,
    SUSPENSION_DEPROVISION_DAYS,
    date_text,
    term_text,
)


class SubscriptionWording:
    """The wording of a subscription's state as resellers know it from the Partner
    Center portal: its end, term, scheduled change, deprovisioning and label.

    Mixed into `Subscription`, whose columns it reads.
    """

    if TYPE_CHECKING:
        ACTIVE: ClassVar[str]
        SUSPENDED: ClassVar[str]
        DELETED: ClassVar[str]
        status: str
        auto_renew_enabled: bool
        commitment_end_date: datetime | None
        term_duration: str
        product_id: str
        sku_id: str
        scheduled_product_id: str
        scheduled_sku_id: str
        scheduled_sku_name: str
        cancellation_allowed_until: datetime | None
        suspended_by_partnerhub_at: datetime | None

        @property
        def is_active(self) -> bool: ...

        @property
        def is_suspended(self) -> bool: ...

        @property
        def is_nce(self) -> bool: ...

    @property
    def ends_on(self) -> datetime | None:
        """Return the commitment end date; None when missing or far future."""
        end = self.commitment_end_date
        if end is None or end.year >= FAR_FUTURE_YEAR:
            return None
        return end

    @property
    def term(self) -> str:
        """Return the term in the portal's words ("1 year", "monthly"), or ""."""
        return term_text(self.term_duration)

    @property
    def scheduled_change_name(self) -> str:
        """Return the SKU it changes to at renewal, if a change of SKU is scheduled."""
        if not (self.scheduled_product_id and self.scheduled_sku_id):
            return ""
        same = (self.scheduled_product_id, self.scheduled_sku_id) == (
            self.product_id,
            self.sku_id,
        )
        if same:
            return ""
        return (
            self.scheduled_sku_name
            or f"{self.scheduled_product_id}:{self.scheduled_sku_id}"
        )

    @property
    def deprovisioned_after(self) -> datetime | None:
        """Return when a legacy subscription PartnerHub suspended is deprovisioned.

        None for new commerce: suspending it keeps billing and deprovisions nothing.
        """
        if self.suspended_by_partnerhub_at is None or self.is_nce:
            return None
        return self.suspended_by_partnerhub_at + timedelta(
            days=SUSPENSION_DEPROVISION_DAYS
        )

    @property
    def cancellable_until(self) -> datetime | None:
        """Return the end of an NCE subscription's open cancellation window, or None."""
        until = self.cancellation_allowed_until
        if until is None or not self.is_nce:
            return None
        if not (self.is_active or self.is_suspended) or until <= timezone.now():
            return None
        return until

    @property
    def cancellable_label(self) -> str:
        """Return "Cancellable until <date>" inside the window, else ""."""
        until = self.cancellable_until
        return f"Cancellable until {date_text(until)}" if until else ""

    @property
    def label(self) -> str:
        """Return the status as resellers know it from the Partner Center portal."""
        status = (self.status or "").strip()
        end = self.ends_on
        if status.lower() == self.ACTIVE:
            change = self.scheduled_change_name
            if change and self.auto_renew_enabled and end is not None:
                return f"Changes to {change} on {date_text(end)}"
            if self.auto_renew_enabled:
                text = f"Auto renews on {date_text(end)}" if end else "Auto renews"
                return f"{text} · {self.term}" if self.term else text
            if end is not None:
                return f"Expires on {date_text(end)}"
            return "Active · no end date"
        if status.lower() == self.SUSPENDED:
            after = self.deprovisioned_after
            if after is not None:
                return f"Suspended · deprovisioned after {date_text(after)}"
            return "Suspended"
        if status.lower() == self.DELETED:
            return "Cancelled"
        return status or "unknown"

    @property
    def label_tone(self) -> str:
        """Return a CSS tone for the label: ok, warn, muted or bad."""
        status = (self.status or "").lower()
        if status == self.ACTIVE:
            return "ok" if self.auto_renew_enabled or not self.ends_on else "warn"
        if status in (self.SUSPENDED, self.DELETED):
            return "muted"
        return "bad"
