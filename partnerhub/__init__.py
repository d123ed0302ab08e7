"""PartnerHub: move Microsoft CSP customers off retired SKUs."""

from partnerhub.celery import app as celery_app

__all__ = ["celery_app"]
