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
``access_token=`` / ``refresh_token=`` / ``password=`` pairs, the password of any
``scheme://user:password@host`` URL, and the literal values of the configured
secrets wherever they appear: the secret key (and its fallbacks), every setting
named ``*_SECRET``, ``*_TOKEN``, ``*_PASSWORD`` or ``*_KEY``, database passwords,
and the passwords in the Redis, broker and cache URLs.
"""

from __future__ import annotations

import logging
import logging.config
import re
from collections.abc import Callable, Iterable
from pprint import pformat
from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.views.debug import SafeExceptionReporterFilter

MASK = "[redacted]"

# Settings whose values must never appear in a log line, an audit event or a page.
SECRET_SETTINGS = (
    "PARTNER_CENTER_CLIENT_SECRET",
    "PARTNER_CENTER_REFRESH_TOKEN",
    "SECRET_KEY",
)
# Any other setting named like one of these holds a secret too.
_SECRET_SETTING_NAME = re.compile(r"(?:^|_)(?:SECRET|TOKEN|PASSWORD|KEY)$")
# Settings holding URLs that may carry a password.
URL_SETTINGS = ("REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")
# Values shorter than this are not masked literally: masking "a" would garble text.
_MIN_SECRET_LENGTH = 6

_PATTERNS = [
    # The password in scheme://user:password@host (DATABASE_URL, REDIS_URL, ...).
    re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://[^\s:/@'\"]*:)[^\s@/'\"]+(?=@)"),
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(bearer\s+)?[^\s'\",}]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*"),
    re.compile(
        r"(?i)((?:client_secret|access_token|refresh_token|id_token|password|secret)"
        r"['\"]?\s*[:=]\s*['\"]?)[^\s'\"&,}]+"
    ),
]


def _url_password(url: Any) -> str:
    if not isinstance(url, str) or "@" not in url:
        return ""
    try:
        return unquote(urlsplit(url).password or "")
    except ValueError:
        return ""


_secret_names: frozenset[str] | None = None


def _secret_setting_names(settings: Any) -> frozenset[str]:
    """Return the names of the settings that hold secrets (looked up once)."""
    global _secret_names
    if _secret_names is None:
        _secret_names = frozenset(SECRET_SETTINGS) | {
            name for name in dir(settings) if _SECRET_SETTING_NAME.search(name)
        }
    return _secret_names


def _setting_secrets(settings: Any) -> Iterable[Any]:
    for name in _secret_setting_names(settings):
        yield getattr(settings, name, "")
    yield from getattr(settings, "SECRET_KEY_FALLBACKS", [])
    for name in URL_SETTINGS:
        yield _url_password(getattr(settings, name, ""))
    for cache in getattr(settings, "CACHES", {}).values():
        locations = cache.get("LOCATION", "")
        for location in [locations] if isinstance(locations, str) else locations:
            yield _url_password(location)
    for database in settings.DATABASES.values():
        yield database.get("PASSWORD", "")


def configured_secrets() -> list[str]:
    """Return the literal secret values from Django settings, longest first.

    Return an empty list when Django settings are not configured (the Django-free
    packages log without them).
    """
    try:
        from django.conf import settings

        if not settings.configured:
            return []
        values = list(_setting_secrets(settings))
    except Exception:
        return []
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


class QuietSuspiciousOperation(logging.Filter):
    """Keep a request Django refused as suspicious (400) to its one log line.

    Django logs each one to `django.security.*` with its traceback: about 60
    lines for every bad admin `?_to_field=`, which anyone signed in can send.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], SuspiciousOperation):
            record.exc_info = None
            record.exc_text = None
        return True


class RedactingExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's error-report filter, also masking secrets wherever they appear.

    Django hides settings and request META entries whose names look secret; this
    also masks any configured secret, bearer token or URL password inside every
    other setting and META value (``runserver`` passes the whole environment,
    ``DATABASE_URL`` included, as META), and hides POST fields and frame variables
    named like a secret or token or whose printed value contains one.
    """

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleaned = super().cleanse_setting(key, value)
        if isinstance(cleaned, str):
            text = str(cleaned)  # a lazy string, too
            masked = redact(text)
            if masked != text:
                return masked
        return cleaned

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
