from django.apps import AppConfig


class MigrationsAppConfig(AppConfig):
    name = "migrations_app"
    verbose_name = "PartnerHub"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from migrations_app import checks, signals  # noqa: F401  (registers the system checks)
        from migrations_app.workflow import (
            customer_facts,  # noqa: F401  (keeps the list's facts)
            registry,  # noqa: F401  (registers the step states)
        )
