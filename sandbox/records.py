"""Identities and small helpers shared by the sandbox's records: partner ids, ISO
time text and etags."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sandbox import catalog

#: Our partner's MPN id in the sandbox.
PARTNER_ID = "4847383"
#: MPN id carried by subscriptions sold by another partner or channel.
OTHER_PARTNER_ID = "9988776"
#: Indirect resellers selling through us: MPN id -> name. A subscription whose
#: ``partnerId`` is one of them is still ours (it names the reseller of record).
INDIRECT_RESELLERS: dict[str, str] = {
    "6655443": "Lakeshore IT Resellers",
    "7766554": "Southridge Cloud Partners",
}
#: Our partner's own tenant id (appears in the reseller relationship request url).
PARTNER_TENANT_ID = str(uuid.uuid5(catalog.CATALOG_NAMESPACE, "partner-tenant"))


def iso(moment: datetime) -> str:
    """Return a UTC datetime as Partner Center's ``YYYY-MM-DDTHH:MM:SSZ`` text."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds")[:19] + "Z"


def utcnow() -> datetime:
    """Return the current (real) time as an aware UTC datetime."""
    return datetime.now(UTC)


def make_etag(record_id: str, version: int) -> str:
    """Return an opaque etag for a resource id and version."""
    raw = f'{{"id":{json.dumps(record_id)},"version":{int(version)}}}'
    return base64.b64encode(raw.encode()).decode()


def bump_etag(sub: dict[str, Any]) -> None:
    """Give a subscription record a new version and etag."""
    sub["version"] = int(sub.get("version", 0)) + 1
    sub["etag"] = make_etag(sub["id"], sub["version"])


def owned(sub: dict[str, Any]) -> bool:
    """Return whether we sold a subscription (directly or via an indirect reseller)."""
    partner = sub.get("partnerId")
    return partner in (PARTNER_ID, "", None) or partner in INDIRECT_RESELLERS
