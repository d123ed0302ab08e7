"""Production settings: everything from the environment, secure by default."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from partnerhub.env import (
    env_bool,
    env_fernet_keys,
    env_int,
    env_str,
    weak_key_problem,
)
from partnerhub.settings import *  # noqa: F403
from partnerhub.settings import SECRET_KEY

DEBUG = False
if env_str("DJANGO_SECRET_KEY") == "" or SECRET_KEY.startswith("dev-only"):
    raise ImproperlyConfigured("Set DJANGO_SECRET_KEY to a long random value.")

# The audit chain's key must come from the environment (or a secret store feeding
# it), never from a file the development settings generate.
_AUDIT_KEY_HELP = (
    "Set PARTNERHUB_AUDIT_KEY to a random secret of at least 32 characters "
    "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`), kept "
    "outside the database; it keys the audit chain."
)
if not env_str("PARTNERHUB_AUDIT_KEY"):
    raise ImproperlyConfigured(_AUDIT_KEY_HELP)
if _weak := weak_key_problem(env_str("PARTNERHUB_AUDIT_KEY")):
    # A guessable key lets whoever writes the database forge links after all.
    raise ImproperlyConfigured(
        f"PARTNERHUB_AUDIT_KEY is too weak: {_weak}. " + _AUDIT_KEY_HELP
    )

# The key that encrypts the stored refresh token must come from the environment:
# a generated development key would sit on the same disk as the database.
# Malformed keys stop start-up here, not at the first token refresh.
if not env_fernet_keys("PARTNERHUB_SECRETS_KEY"):
    raise ImproperlyConfigured(
        "Set PARTNERHUB_SECRETS_KEY to a Fernet key (e.g. `python -c 'from "
        "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`), "
        "kept outside the database; it encrypts the stored Partner Center refresh "
        "token."
    )

SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
# Load balancers and container probes check health over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
# Static files come from STATIC_ROOT, filled by `collectstatic` in the image.
WHITENOISE_USE_FINDERS = False
WHITENOISE_AUTOREFRESH = False
