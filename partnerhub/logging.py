"""Keep Partner Center secrets, tokens and passwords out of every log line.

Two layers:

- ``configure_logging`` (``LOGGING_CONFIG``) applies ``settings.LOGGING`` and installs
  a log-record factory that redacts each record as it is created, so every handler
  sees the cleaned text: ours, Celery's (the worker replaces the root handlers),
  pytest's, or an error tracker's.
- ``RedactSecretsFilter`` does the same on a handler, for configurations that do not
  use ``configure_logging``.
- ``RedactingExceptionReporterFilter`` keeps them out of Django's error reports.

Redaction masks bearer tokens, ``Authorization`` headers, ``client_secret=`` /
``access_token=`` / ``refresh_token=`` / ``password=`` pairs, and the literal values
of the configured secrets wherever they appear.
"""

from __future__ import annotations

import logging
import logging.config
import re
from collections.abc import Callable
from pprint import pformat
from typing import Any

from django.core.exceptions import PermissionDenied
from django.views.debug import SafeExceptionReporterFilter

MASK = "[redacted]"

# Settings whose values must never appear in a log line, an audit event or a page.
SECRET_SETTINGS = (
    "PARTNER_CENTER_CLIENT_SECRET",
    "PARTNER_CENTER_REFRESH_TOKEN",
    "SECRET_KEY",
)
# Values shorter than this are not masked literally: masking "a" would garble text.
_MIN_SECRET_LENGTH = 6

_PATTERNS = [
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(bearer\s+)?[^\s'\",}]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*"),
    re.compile(
        r"(?i)((?:client_secret|access_token|refresh_token|id_token|password|secret)"
        r"['\"]?\s*[:=]\s*['\"]?)[^\s'\"&,}]+"
    ),
]


def configured_secrets() -> list[str]:
    """Return the literal secret values from Django settings, longest first.

    Return an empty list when Django settings are not configured (the Django-free
    packages log without them).
    """
    try:
        from django.conf import settings

        if not settings.configured:
            return []
        values = [getattr(settings, name, "") for name in SECRET_SETTINGS]
        password = settings.DATABASES.get("default", {}).get("PASSWORD", "")
    except Exception:
        return []
    values.append(password)
    found = {
        value
        for value in values
        if isinstance(value, str) and len(value) >= _MIN_SECRET_LENGTH
    }
    return sorted(found, key=len, reverse=True)


def redact(text: str) -> str:
    """Return `text` with bearer tokens, secrets and passwords masked."""
    for secret in configured_secrets():
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


def redact_value(value: Any) -> Any:
    """Return a copy of a JSON-like value with every string redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_value(k): redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    return value


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact a record's message, traceback and stack text in place; return it."""
    try:
        message = record.getMessage()
    except Exception:
        return record
    cleaned = redact(message)
    if cleaned != message:
        record.msg = cleaned
        record.args = None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactSecretsFilter(logging.Filter):
    """Mask secrets in a record's rendered message before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_installed_factory: Callable[..., logging.LogRecord] | None = None


def install_record_redaction() -> None:
    """Make every LogRecord created from now on redact itself (idempotent)."""
    global _installed_factory
    current = logging.getLogRecordFactory()
    if current is _installed_factory:
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(current(*args, **kwargs))

    _installed_factory = factory
    logging.setLogRecordFactory(factory)


def configure_logging(logging_settings: dict[str, Any] | None) -> None:
    """Apply ``settings.LOGGING`` and install record redaction (``LOGGING_CONFIG``)."""
    install_record_redaction()
    if logging_settings:
        logging.config.dictConfig(logging_settings)


class QuietPermissionDenied(logging.Filter):
    """Keep a refused request (403) to its one warning line, without a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], PermissionDenied):
            record.exc_info = None
            record.exc_text = None
        return True


class RedactingExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's error-report filter, also masking secrets in traceback variables.

    Django hides settings and request headers whose names look secret; this also
    hides POST fields and frame variables named like a secret or token, and any
    whose printed value contains a configured secret or a bearer token.
    """

    secret_names = re.compile(
        r"(?i)secret|token|passw|authorization|credential|api_?key"
    )

    def get_post_parameters(self, request: Any) -> Any:
        parameters: Any = super().get_post_parameters(request)
        if not parameters:
            return parameters
        cleaned = parameters.copy()
        for name in list(cleaned):
            values = cleaned.getlist(name) if hasattr(cleaned, "getlist") else []
            if self.secret_names.search(name):
                cleaned[name] = self.cleansed_substitute
            elif any(redact(str(v)) != str(v) for v in values):
                cleaned.setlist(name, [redact(str(v)) for v in values])
        return cleaned

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        cleaned = []
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            if self.secret_names.search(name):
                value = self.cleansed_substitute
            else:
                try:
                    text = pformat(value)
                except Exception:
                    text = ""
                if text and redact(text) != text:
                    value = redact(text)
            cleaned.append((name, value))
        return cleaned
