"""A target the mapping allows, and the terms it is bought on."""

from __future__ import annotations

from dataclasses import dataclass, field

from migrations_app.domain.catalogue import CatalogueItem

# Terms to fall back on, in order, when a target does not sell the old one's.
COMMON_TERMS = (("P1Y", "monthly"), ("P1Y", "annual"), ("P1M", "monthly"))
TERM_WORDS = {"P1M": "one month", "P1Y": "one year", "P3Y": "three years"}


@dataclass
class TargetChoice:
    """One alternative the mapping allows: the SKUs every user of it gets.

    Most alternatives are one SKU; a one-to-many mapping (the Teams unbundling)
    gives several, all bought together and all assigned to each user.
    """

    names: list[str]
    items: list[CatalogueItem | None]
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return " + ".join(self.names)

    @property
    def offer(self) -> CatalogueItem | None:
        """Return the first SKU's catalogue item (None while any is unbound)."""
        if not self.items or any(item is None for item in self.items):
            return None
        return self.items[0]

    @property
    def offer_id(self) -> str:
        offer = self.offer
        return offer.offer_id if offer is not None else ""

    @property
    def value(self) -> str:
        """Return the form value: the first catalogue id, or the name while unbound."""
        return self.offer_id or f"name:{self.name}"

    @property
    def is_modern(self) -> bool:
        return any(item is not None and item.is_modern for item in self.items)

    def term_for(self, preferred: tuple[str, str]) -> tuple[str, str]:
        """Return the (term, billing cycle) to buy every SKU of this choice on.

        The preferred one (the old subscription's) when every SKU sells it, else
        the first common one of a year billed monthly, a year billed annually, a
        month billed monthly. A SKU whose terms the catalogue does not list
        accepts any.
        """
        sold = [
            set(item.terms) for item in self.items if item is not None and item.terms
        ]
        for term in (preferred, *COMMON_TERMS):
            if all(term in terms for terms in sold):
                return term
        return (
            sorted(set.intersection(*sold))[0]
            if sold and set.intersection(*sold)
            else preferred
        )

    @property
    def problem(self) -> str:
        for name, item, problem in zip(
            self.names, self.items, self.problems, strict=False
        ):
            if item is None:
                return (
                    "not in the synced offer catalogue"
                    if len(self.names) == 1
                    else (f"{name}: not in the synced catalogue")
                )
            if problem:
                return f"{name}: {problem}" if len(self.names) > 1 else problem
        return ""


def term_text(term: tuple[str, str]) -> str:
    """Return a (term, billing cycle) pair in words: "one year, billed monthly"."""
    duration, cycle = term
    return f"{TERM_WORDS.get(duration, duration)}, billed {cycle or 'monthly'}"
