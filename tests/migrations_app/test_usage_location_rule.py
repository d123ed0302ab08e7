"""One usage-location rule, one wording: the plan page, its form, bulk runs and
the customer page agree on who has none and say it the same way."""

from __future__ import annotations

from typing import Any

from migrations_app.domain.plan import migration_plan
from migrations_app.models import CustomerUser
from migrations_app.models.wording import (
    has_usage_location,
    usage_location_problem,
    without_usage_location,
)
from migrations_app.selectors.customers import customer_detail
from tests.migrations_app.migration_support import WIDE_WORLD, customer


def test_blanks_are_no_usage_location_in_python_and_in_the_query(db: Any) -> None:
    assert not has_usage_location("")
    assert not has_usage_location("   ")
    assert not has_usage_location(None)
    assert has_usage_location("NZ")
    from tests.factories import CustomerUserFactory

    blank = CustomerUserFactory(usage_location="  ")
    empty = CustomerUserFactory(usage_location="")
    located = CustomerUserFactory(usage_location="US")
    found = set(CustomerUser.objects.filter(without_usage_location()))
    assert found == {blank, empty}
    assert located not in found


def test_the_plan_form_refuses_in_the_plan_pages_words(
    synced: Any, sandbox: Any
) -> None:
    # Imported here: the views import the URL table, whose converters the
    # app registers when it loads.
    from migrations_app.views.migrations.plan import plan_blocker
    from migrations_app.views.migrations.plan_form import PlanItemForm

    items = [
        i
        for i in migration_plan(customer=customer(WIDE_WORLD)).items
        if i.users_without_location
    ]
    assert items
    for item in items:
        target = item.default_target
        form = PlanItemForm(
            {
                f"{item.key}-include": "on",
                f"{item.key}-target": target.value if target else "",
                f"{item.key}-quantity": str(item.default_quantity),
                f"{item.key}-retire_mode": "suspend",
            },
            item=item,
        )
        assert not form.is_valid()
        expected = usage_location_problem(item.users_without_location, bought=False)
        assert form.non_field_errors() == [expected]
        assert plan_blocker(item) == expected


def test_a_blank_usage_location_counts_as_none_on_the_plan_and_customer_page(
    synced: Any, sandbox: Any
) -> None:
    wide = customer(WIDE_WORLD)
    before = len(
        {
            u.pk
            for i in migration_plan(customer=wide).items
            for u in i.users_without_location
        }
    )
    holder = (
        wide.users.filter(licenses__isnull=False)
        .exclude(without_usage_location())
        .first()
    )
    assert holder is not None
    CustomerUser.objects.filter(pk=holder.pk).update(usage_location="  ")

    after = {
        u.pk
        for i in migration_plan(customer=wide).items
        for u in i.users_without_location
    }
    assert holder.pk in after and len(after) == before + 1
    detail: Any = customer_detail(tenant_id=wide.tenant_id)
    assert (
        detail.users_without_location
        == wide.users.filter(without_usage_location()).count()
    )
