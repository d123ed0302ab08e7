"""The actions PartnerHub records, in words, and the caller's address events carry."""

from __future__ import annotations

from typing import Any

# The actions PartnerHub records, with the words the audit page uses for them.
# `audit_record` accepts any action name; these are the ones the product writes.
KNOWN_ACTIONS: dict[str, str] = {
    "login": "Signed in",
    "logout": "Signed out",
    "login_failed": "Failed sign-in",
    "lockout": "Account locked",
    "sync.requested": "Sync requested",
    "sync.completed": "Sync run",
    "sync.failed": "Sync failed",
    "migration.started": "Migration started",
    "migration.retried": "Migration retried",
    "migration.resumed": "Migration resumed",
    "migration.cancelled": "Migration cancelled",
    "migration.step_completed": "Migration step done",
    "migration.purchase_adopted": "Purchase adopted",
    "migration.completed": "Migration completed",
    "migration.failed": "Migration failed",
    "migration.needs_customer_action": "Needs customer action",
    "bulk.started": "Bulk run started",
    "schedule.created": "Migration scheduled",
    "schedule.changed": "Scheduled migration moved",
    "schedule.cancelled": "Scheduled migration cancelled",
    "schedule.started": "Scheduled migration started",
    "schedule.not_started": "Scheduled migration not started",
    "sku_mapping.updated": "SKU mapping changed",
    "invitation.link_requested": "Invitation link requested",
    "invitation.link_fetched": "Invitation link fetched",
    "invitation.link_failed": "Invitation link not fetched",
    "invitation.recorded": "Invitation recorded",
    "invitation.withdrawn": "Invitation withdrawn",
    "invitation.accepted": "Invitation accepted",
    "settings.changed": "Settings changed",
    "partner_center.write": "Partner Center write",
    "admin.added": "Added in admin",
    "admin.changed": "Changed in admin",
    "admin.deleted": "Deleted in admin",
    "audit.exported": "Audit log exported",
    "audit.verified": "Audit chain verified",
    "audit.rekeyed": "Audit chain re-keyed",
    "audit.verify_requested": "Audit verification requested",
    "user.added": "User added",
    "user.role_changed": "Role changed",
    "user.deactivated": "User deactivated",
    "user.reactivated": "User reactivated",
}


def client_ip(request: Any) -> str | None:
    """Return the caller's address as Django saw it (no proxy header guessing)."""
    return request.META.get("REMOTE_ADDR") or None
