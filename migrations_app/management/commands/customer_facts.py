"""`customer_facts`: recompute the customer list's facts on every customer."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from migrations_app.domain.customer_facts import customer_facts_update


class Command(BaseCommand):
    help = (
        "Recompute the facts the customer list filters, sorts and counts on "
        "(retired subscriptions, soonest end, expiring, users) for every customer."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        touched = customer_facts_update()
        noun = "customer" if touched == 1 else "customers"
        self.stdout.write(f"Recomputed the facts of {touched} {noun}.")
