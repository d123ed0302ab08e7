"""The Celery application: workers run every Partner Center call."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerhub.settings")

app = Celery("partnerhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
