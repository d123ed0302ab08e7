from django.apps import AppConfig


class MigrationsAppConfig(AppConfig):
    name = "migrations_app"
    verbose_name = "PartnerHub"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from migrations_app import signals  # noqa: F401
