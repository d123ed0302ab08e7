"""Create the sandbox demo accounts admin, operator and viewer."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand

DEMO_PASSWORD = "partnerhub"


class Command(BaseCommand):
    help = "Create the demo accounts (sandbox mode only)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.PARTNERHUB_DEMO_ACCOUNTS:
            self.stdout.write("Not in sandbox mode: no demo accounts created.")
            return
        for name in ("admin", "operator", "viewer"):
            user, created = User.objects.get_or_create(username=name)
            if created:
                user.set_password(DEMO_PASSWORD)
                user.is_staff = name == "admin"
                user.save()
            user.groups.set([Group.objects.get(name=name)])
            verb = "created" if created else "kept"
            self.stdout.write(f"Demo account {name} {verb}.")
