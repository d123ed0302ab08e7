"""The plan page's form: the operator's choices for one subscription of the plan."""

from __future__ import annotations

from typing import Any

from django import forms

from migrations_app.domain.plan import PlanItem
from migrations_app.models import MigrationPath
from migrations_app.models.wording import usage_location_problem
from migrations_app.services.migrations import StartItem
from migrations_app.views.fields import CountField

MAX_QUANTITY = 100_000


class PlanItemForm(forms.Form):
    """The operator's choices for one retired-SKU subscription of the plan."""

    include = forms.BooleanField(required=False)
    target = forms.ChoiceField(
        error_messages={"invalid_choice": "Choose one of the mapping's targets."}
    )
    quantity = CountField(
        min_value=1,
        max_value=MAX_QUANTITY,
        error_messages={"invalid": "Enter a whole number of seats."},
    )
    retire_mode = forms.ChoiceField(
        error_messages={"invalid_choice": "Choose how the old subscription ends."}
    )
    # How it moves (the plan's paths, safest first); left out means buy.
    path = forms.ChoiceField(
        required=False,
        error_messages={"invalid_choice": "Choose how the subscription moves."},
    )

    def __init__(self, *args: Any, item: PlanItem, **kwargs: Any) -> None:
        default = item.default_target
        kwargs.setdefault(
            "initial",
            {
                "include": True,
                "target": default.value if default else "",
                "quantity": item.default_quantity,
                "retire_mode": item.default_retire_mode,
                "path": item.default_path,
            },
        )
        kwargs["prefix"] = item.key
        super().__init__(*args, **kwargs)
        self.item = item
        target = self.fields["target"]
        retire = self.fields["retire_mode"]
        assert isinstance(target, forms.ChoiceField)
        assert isinstance(retire, forms.ChoiceField)
        target.choices = [
            (c.value, c.name + (f" ({c.problem})" if c.problem else ""))
            for c in item.choices
        ]
        retire.choices = item.retire_choices
        way = self.fields["path"]
        assert isinstance(way, forms.ChoiceField)
        way.choices = item.path_choices

    @property
    def included(self) -> bool:
        """Return whether the operator kept this subscription in the migration."""
        if not self.is_bound:
            return True
        return bool(self.data.get(self.add_prefix("include")))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("include"):
            return data
        item = self.item
        choice = item.choice(data.get("target") or "")
        if choice is not None and choice.problem:
            self.add_error("target", f"{choice.name} is {choice.problem}.")
        problem = item.path_problem(choice, data.get("path") or MigrationPath.BUY)
        if problem:
            self.add_error("path", problem)
        quantity = data.get("quantity")
        if quantity is not None:
            if quantity < item.minimum_quantity:
                self.add_error(
                    "quantity",
                    f"At least {item.minimum_quantity}: that many users hold this "
                    "licence and each needs a seat.",
                )
            offer = choice.offer if choice else None
            if offer is not None and not (
                offer.minimum_quantity <= quantity <= offer.maximum_quantity
            ):
                self.add_error(
                    "quantity",
                    f"{offer.name} is sold in quantities from "
                    f"{offer.minimum_quantity} to {offer.maximum_quantity}.",
                )
        missing = item.users_without_location
        if missing:
            # The plan page shows the same words above the form.
            raise forms.ValidationError(usage_location_problem(missing, bought=False))
        if not item.source_sku_id:
            raise forms.ValidationError(
                "PartnerHub cannot tell which licence this subscription grants; sync "
                "the offer catalogue before migrating it."
            )
        return data

    def start_item(self) -> StartItem | None:
        """Return the validated choice, or None if the subscription is left out."""
        data = self.cleaned_data
        if not data.get("include"):
            return None
        choice = self.item.choice(data["target"])
        assert choice is not None
        return StartItem(
            plan=self.item,
            target=choice,
            quantity=data["quantity"],
            retire_mode=data["retire_mode"],
            path=data.get("path") or MigrationPath.BUY,
        )
