from django.apps import AppConfig


class HubConfig(AppConfig):
    name = "hub"
    verbose_name = "PartnerHub"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from hub import checks, signals  # noqa: F401  (registers the system checks)
        from hub.workflow import (
            customer_facts,  # noqa: F401  (keeps the list's facts)
            registry,  # noqa: F401  (registers the step states)
        )
