"""Request types the views share.

`HtmxRequest` is the request of views that read `request.htmx`, set by
django-htmx's middleware (its documented typing recipe).
"""

# Reference: https://github.com/adamchainz/django-htmx (docs, "Type hints")

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxRequest(HttpRequest):
    htmx: HtmxDetails
