"""Secrets PartnerHub must keep between runs, encrypted at rest.

The one secret today is the app+user refresh token: Entra ID rotates it on every
use and only the newest keeps working, so every worker reads and saves it here.
The value is encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under
`PARTNERHUB_SECRETS_KEY`, a key the database never holds; a row alone gives
nothing away.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models
from django.utils import timezone

logger = logging.getLogger(__name__)

REFRESH_TOKEN = "partner_center.refresh_token"


def secrets_cipher() -> MultiFernet:
    """Return the cipher of `PARTNERHUB_SECRETS_KEY` (first key encrypts).

    Raise ValueError if a key is not a Fernet key.
    """
    keys = [k.strip() for k in str(settings.PARTNERHUB_SECRETS_KEY).split(",")]
    return MultiFernet([Fernet(k.encode()) for k in keys if k])


def secret_fingerprint(value: str) -> str:
    """Return a keyed fingerprint of `value`: equal values match, nothing leaks."""
    key = str(settings.PARTNERHUB_SECRETS_KEY).encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


class StoredSecret(models.Model):
    """One encrypted secret, by name.

    `seeded_from` is the fingerprint of the value configured in the environment
    that started this chain, so a new value configured there (after an admin
    consents again) replaces the stored one once, and only once.
    """

    name = models.CharField(max_length=64, unique=True)
    ciphertext = models.TextField()
    seeded_from = models.CharField(max_length=64, blank=True)
    seeded_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<StoredSecret {self.name}>"


class DatabaseRefreshTokenStore:
    """The client's `RefreshTokenStore`, backed by one encrypted `StoredSecret`.

    The token configured in `PARTNER_CENTER_REFRESH_TOKEN` seeds the row the first
    time (and again only when that setting changes); after that every rotated
    token Entra ID returns is saved and the newest is loaded before each
    redemption, by every worker. One instance per process: the shared client is
    cached by a config that holds it.
    """

    name = REFRESH_TOKEN

    def load(self) -> str | None:
        """Return the current refresh token (seeding it from settings), or None."""
        configured = settings.PARTNER_CENTER_REFRESH_TOKEN or ""
        row = StoredSecret.objects.filter(name=self.name).first()
        if configured:
            fingerprint = secret_fingerprint(configured)
            if row is None or row.seeded_from != fingerprint:
                self._write(configured, seeded_from=fingerprint)
                return configured
        if row is None:
            return None
        try:
            return secrets_cipher().decrypt(row.ciphertext.encode()).decode()
        except (InvalidToken, ValueError):
            logger.warning(
                "The stored refresh token cannot be decrypted with "
                "PARTNERHUB_SECRETS_KEY; ignoring it"
            )
            return configured or None

    def save(self, token: str) -> None:
        """Store `token` (encrypted) as the current refresh token."""
        self._write(token, seeded_from=None)

    def _write(self, token: str, *, seeded_from: str | None) -> None:
        now = timezone.now()
        values: dict[str, object] = {
            "ciphertext": secrets_cipher().encrypt(token.encode()).decode(),
            "rotated_at": now,
        }
        if seeded_from is not None:
            values |= {"seeded_from": seeded_from, "seeded_at": now}
        StoredSecret.objects.update_or_create(name=self.name, defaults=values)

    def __repr__(self) -> str:
        return "<DatabaseRefreshTokenStore>"


def refresh_token_times() -> tuple[datetime | None, datetime | None]:
    """Return when the stored refresh token chain was seeded and last rotated."""
    row = (
        StoredSecret.objects.filter(name=REFRESH_TOKEN)
        .values_list("seeded_at", "rotated_at")
        .first()
    )
    return (row[0], row[1]) if row else (None, None)


REFRESH_TOKEN_STORE = DatabaseRefreshTokenStore()
