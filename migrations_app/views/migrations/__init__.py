"""Migration pages: the plan (and Start), watching, operating, and the list.

No view here calls Partner Center: Start, Retry, Resume and Cancel change rows and
enqueue the worker's task after the transaction commits.
"""

from django.urls import URLPattern

from migrations_app.views.migrations import (
    listing,
    operating,
    plan,
    provision,
    watching,
)
from migrations_app.views.migrations.listing import (
    STATE_FILTERS,
    migration_export,
    migration_list_page,
)
from migrations_app.views.migrations.operating import (
    migration_cancel_view,
    migration_refund_view,
    migration_resume_view,
    migration_retry_view,
)
from migrations_app.views.migrations.plan import migration_plan_page, plan_blocker
from migrations_app.views.migrations.plan_form import PlanItemForm
from migrations_app.views.migrations.provision import (
    ProvisionLineForm,
    provisioning_plan_page,
)
from migrations_app.views.migrations.watching import (
    migration_detail,
    migration_progress,
)

urlpatterns: list[URLPattern] = [
    *plan.urlpatterns,
    *provision.urlpatterns,
    *listing.urlpatterns,
    *watching.urlpatterns,
    *operating.urlpatterns,
]

__all__ = [
    "STATE_FILTERS",
    "PlanItemForm",
    "ProvisionLineForm",
    "migration_cancel_view",
    "migration_detail",
    "migration_export",
    "migration_list_page",
    "migration_plan_page",
    "migration_progress",
    "migration_refund_view",
    "migration_resume_view",
    "migration_retry_view",
    "plan_blocker",
    "provisioning_plan_page",
    "urlpatterns",
]
