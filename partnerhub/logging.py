"""Logging filters that keep secrets out of every log line."""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(bearer\s+)?[^\s'\",}]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*"),
    re.compile(
        r"(?i)((?:client_secret|access_token|refresh_token|password|secret)"
        r"['\"]?\s*[:=]\s*['\"]?)[^\s'\"&,}]+"
    ),
]


def redact(text: str) -> str:
    """Return `text` with bearer tokens, secrets and passwords masked."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "[redacted]", text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Mask secrets in a record's rendered message before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True
