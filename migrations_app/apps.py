from django.apps import AppConfig


class MigrationsAppConfig(AppConfig):
    name = "migrations_app"
    verbose_name = "PartnerHub"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The system checks and every signal receiver register on import; the
        # registry registers the step states the models label.
        from migrations_app import checks, signals  # noqa: F401
        from migrations_app.models.audit import audit_redactor_install
        from partnerhub.logging import redact_value

        # The models sit below the project package: the project hands them its
        # redaction instead of the models importing it.
        audit_redactor_install(redact_value)
        from migrations_app.workflow import registry  # noqa: F401
