"""PartnerHub settings for development (the default), read from the environment.

Production overrides live in `partnerhub.settings.production`, tests in
`partnerhub.settings.test`.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from migrations_app import task_names
from partnerhub.env import (
    database_from_url,
    env_bool,
    env_fernet_keys,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("PARTNERHUB_VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env_str(
    "DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me-0123456789abcdefghijkl"
)
# Off unless asked for: DEBUG pages show code, settings and the request to anyone.
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # django.contrib.admin, served by the role-checked, audited site.
    "migrations_app.adminconfig.PartnerHubAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "csp",
    "axes",
    "migrations_app",
]

MIDDLEWARE = [
    # First, so everything after it (axes, the audit log) sees the client's address.
    "partnerhub.proxies.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication, so it knows who is signed in.
    "partnerhub.middleware.NoStoreForSignedInMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "partnerhub.urls"
WSGI_APPLICATION = "partnerhub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "migrations_app.context_processors.partnerhub",
            ],
        },
    }
]

DATABASES = {
    "default": database_from_url(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'partnerhub.sqlite3'}"),
        base_dir=BASE_DIR,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, loading the user's role in the same query.
    "migrations_app.roles.RoleModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "customer_list"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_AGE = env_int("PARTNERHUB_SESSION_SECONDS", 8 * 3600, minimum=300)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# django-axes: lock an account+IP after repeated failures.
# https://django-axes.readthedocs.io/en/latest/4_configuration.html
AXES_FAILURE_LIMIT = env_int("PARTNERHUB_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("PARTNERHUB_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
AXES_USERNAME_CALLABLE = "migrations_app.signals.axes_username"
AXES_CLIENT_IP_CALLABLE = "partnerhub.proxies.client_ip_for_axes"

# Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For is believed:
# for requests from them, the client is the right-most address in that header that
# is not itself one of them. Empty: the header is ignored and the peer is the client.
PARTNERHUB_TRUSTED_PROXIES = env_networks("PARTNERHUB_TRUSTED_PROXIES")

# Failed and locked-out sign-ins go into the audit log once per account and address
# per window, with how many there were (migrations_app/signals.py); past this many accounts
# from one address in a window, the rest share one event.
PARTNERHUB_SIGNIN_AUDIT_WINDOW_SECONDS = 60 * env_int(
    "PARTNERHUB_SIGNIN_AUDIT_WINDOW_MINUTES", 15, minimum=1
)
PARTNERHUB_SIGNIN_AUDIT_ACCOUNTS_PER_ADDRESS = env_int(
    "PARTNERHUB_SIGNIN_AUDIT_ACCOUNTS_PER_ADDRESS", 10, minimum=1
)
# One password tried over many usernames never trips the per-username lockout:
# past this many failed sign-ins from one address within the lockout time, that
# address may not sign in (views/accounts.py) until the time has passed.
PARTNERHUB_SIGNIN_FAILURES_PER_ADDRESS = env_int(
    "PARTNERHUB_SIGNIN_FAILURES_PER_ADDRESS", 30, minimum=1
)


def _dev_key(path: Path, make: Callable[[], str]) -> str:
    """Return the development key stored at `path`, generating it once with `make`.

    The first process to start writes it (readable by its owner only); one that
    loses the race reads the winner's.
    """
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    draft.write_text(make() + "\n")
    draft.chmod(0o600)
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text().strip()


# The audit chain's HMAC key. It must not live in the database: whoever can write
# the audit table must not be able to forge a link. Production requires
# PARTNERHUB_AUDIT_KEY (partnerhub.settings.production); development generates a
# key once into var/audit-key so web, worker and beat share it across restarts.
PARTNERHUB_AUDIT_KEY = env_str("PARTNERHUB_AUDIT_KEY") or _dev_key(
    VAR_DIR / "audit-key", lambda: secrets.token_hex(32)
)
# Where each verification of the chain records how many events it saw and the
# last MAC; the next verification refuses to find fewer (a wipe or truncation).
# Keep it outside the database's reach (not on the database server's disk).
PARTNERHUB_AUDIT_CHECKPOINT_FILE = Path(
    env_str("PARTNERHUB_AUDIT_CHECKPOINT_FILE", str(VAR_DIR / "audit-checkpoint.json"))
)
# `migrate` verifies the chain once, so a deployment's first checkpoint exists
# before anything else starts; beat verifies it again every so many minutes, which
# bounds how many of the newest events could go missing unnoticed.
PARTNERHUB_AUDIT_VERIFY_ON_MIGRATE = env_bool(
    "PARTNERHUB_AUDIT_VERIFY_ON_MIGRATE", True
)
PARTNERHUB_AUDIT_VERIFY_EVERY_MINUTES = env_int(
    "PARTNERHUB_AUDIT_VERIFY_EVERY_MINUTES", 60, minimum=1
)

# Content-Security-Policy without inline scripts or styles (django-csp 4).
# https://django-csp.readthedocs.io/en/latest/configuration.html
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# WhiteNoise indexes this folder at start-up; an empty one is fine before
# `collectstatic` has run (development serves from STATICFILES_DIRS).
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise serves static files whatever DEBUG says, so development (DEBUG off by
# default) shows the same pages as production. Here it finds them where they are;
# production serves what `collectstatic` wrote to STATIC_ROOT.
# https://whitenoise.readthedocs.io/en/stable/django.html#WHITENOISE_USE_FINDERS
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Redis: Celery broker, shared Partner Center rate-limit bucket, cache.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "partnerhub",
    }
}

# Celery: the database row is each job's record of truth; Celery only runs it.
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker outlives a Redis restart (partnerhub/celery.py): its consumer closes
# the lost connection safely and reconnects, retrying for ever (None) rather
# than exiting after 100 tries during a long outage.
CELERY_WORKER_CONSUMER = "partnerhub.celery:Consumer"
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Tasks running when the connection drops carry on; their migrations' state is in
# the database, and the lease and beat's re-queue pick up anything left.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Long waits are `next_attempt_at` rows re-queued by beat, never countdowns near this.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
PARTNERHUB_SYNC_EVERY_MINUTES = env_int("PARTNERHUB_SYNC_EVERY_MINUTES", 60, minimum=1)
# Customers a sync reads at the same time (threads of the worker running it, all
# under the shared rate-limit bucket): Partner Center's latency, not the CPU, is
# what a single reader waits on.
PARTNERHUB_SYNC_CONCURRENCY = env_int("PARTNERHUB_SYNC_CONCURRENCY", 8, minimum=1)
# Beat re-queues due or stalled migrations this often: one query, logged
# only when it re-queues one. A step waiting longer than a Celery countdown (a long
# Retry-After, backoff) resumes within this many seconds of its time.
PARTNERHUB_REQUEUE_EVERY_SECONDS = env_float("PARTNERHUB_REQUEUE_EVERY_SECONDS", 5.0)
# A worker's claim on a migration lasts this long and is renewed while it works; a
# killed worker's migration is picked up again once it runs out.
PARTNERHUB_MIGRATION_LEASE_SECONDS = env_float(
    "PARTNERHUB_MIGRATION_LEASE_SECONDS", 180.0
)
# The pause between two looks at a subscription that is still being provisioned.
PARTNERHUB_PROVISIONING_POLL_SECONDS = env_float(
    "PARTNERHUB_PROVISIONING_POLL_SECONDS", 5.0
)
# Partner Center lists a new order in GET …/orders up to 15 minutes after it was
# placed: a purchase whose answer was lost is not taken as absent before then.
PARTNERHUB_ORDER_LISTING_DELAY_SECONDS = env_float(
    "PARTNERHUB_ORDER_LISTING_DELAY_SECONDS", 900.0
)

# Partner Center: the sandbox by default, the live API when configured.
PARTNER_CENTER_MODE = env_str("PARTNER_CENTER_MODE", "sandbox").strip().lower()
if PARTNER_CENTER_MODE not in {"sandbox", "live"}:
    raise ImproperlyConfigured(
        f"PARTNER_CENTER_MODE={PARTNER_CENTER_MODE!r}: use 'sandbox' or 'live'."
    )
_sandbox_url = env_str("SANDBOX_URL", "http://127.0.0.1:8001").rstrip("/")
SANDBOX_URL = _sandbox_url
PARTNER_CENTER_TENANT_ID = env_str(
    "PARTNER_CENTER_TENANT_ID", "00000000-0000-0000-0000-00000000c5b0"
)
if PARTNER_CENTER_MODE == "sandbox":
    PARTNER_CENTER_API_URL = env_str("PARTNER_CENTER_API_URL", f"{_sandbox_url}/v1")
    PARTNER_CENTER_TOKEN_URL = env_str(
        "PARTNER_CENTER_TOKEN_URL",
        f"{_sandbox_url}/{PARTNER_CENTER_TENANT_ID}/oauth2/token",
    )
    PARTNER_CENTER_CLIENT_ID = env_str("PARTNER_CENTER_CLIENT_ID", "sandbox-app")
    PARTNER_CENTER_CLIENT_SECRET = env_str(
        "PARTNER_CENTER_CLIENT_SECRET", "sandbox-secret"
    )
else:
    PARTNER_CENTER_API_URL = env_str(
        "PARTNER_CENTER_API_URL", "https://api.partnercenter.microsoft.com/v1"
    )
    PARTNER_CENTER_TOKEN_URL = ""
    PARTNER_CENTER_CLIENT_ID = env_str("PARTNER_CENTER_CLIENT_ID")
    PARTNER_CENTER_CLIENT_SECRET = env_str("PARTNER_CENTER_CLIENT_SECRET")
PARTNER_CENTER_REFRESH_TOKEN = env_str("PARTNER_CENTER_REFRESH_TOKEN")
# First contact with a live tenant: the client refuses every write before sending
# it (audited as refused); sync, plans, previews and the desk still work.
PARTNER_CENTER_READ_ONLY = env_bool("PARTNER_CENTER_READ_ONLY", False)
# Entra ID authority host for live tokens (tenant appended by the client).
PARTNER_CENTER_AUTHORITY_HOST = env_str(
    "PARTNER_CENTER_AUTHORITY_HOST", "https://login.microsoftonline.com"
)
PARTNER_CENTER_APP_SCOPE = env_str(
    "PARTNER_CENTER_APP_SCOPE", "https://api.partnercenter.microsoft.com/.default"
)
PARTNER_CENTER_RATE_LIMIT_PER_MINUTE = env_int(
    "PARTNER_CENTER_RATE_LIMIT_PER_MINUTE", 500, minimum=1
)
PARTNER_CENTER_TIMEOUT_SECONDS = env_float("PARTNER_CENTER_TIMEOUT_SECONDS", 30.0)
PARTNER_CENTER_COUNTRY = env_str("PARTNER_CENTER_COUNTRY", "US")
PARTNER_CENTER_LOCALE = env_str("PARTNER_CENTER_LOCALE", "en-US")
# MPN ids under which this partner itself sells (the sandbox's by default; none
# in live mode). A subscription's partnerId is its indirect reseller of record,
# never a sign that another partner owns it: only a refused change (403/20002)
# says that. A partnerId outside these ids is carried over to the replacement as
# its partnerIdOnRecord.
PARTNER_CENTER_OWN_PARTNER_IDS = env_list(
    "PARTNER_CENTER_OWN_PARTNER_IDS",
    ["4847383"] if PARTNER_CENTER_MODE == "sandbox" else [],
)
# An indirect provider's default reseller of record: set as partnerIdOnRecord on
# orders and carts whose source subscription names no indirect reseller.
PARTNER_CENTER_INDIRECT_RESELLER_ID = env_str(
    "PARTNER_CENTER_INDIRECT_RESELLER_ID"
).strip()


# Fernet key(s) that encrypt secrets PartnerHub keeps in the database (the rotated
# app+user refresh token). Comma-separated: the first encrypts, every one decrypts
# (key rotation). Production requires it; development generates var/secrets-key.
# https://cryptography.io/en/latest/fernet/
PARTNERHUB_SECRETS_KEY = env_fernet_keys("PARTNERHUB_SECRETS_KEY") or _dev_key(
    VAR_DIR / "secrets-key",
    lambda: base64.urlsafe_b64encode(os.urandom(32)).decode(),
)
PARTNERHUB_DEMO_ACCOUNTS = PARTNER_CENTER_MODE == "sandbox" and env_bool(
    "PARTNERHUB_DEMO_ACCOUNTS", True
)

# Notifications (migrations_app/services/notifications.py): when a migration completes, fails
# or needs customer action, its operator and PARTNERHUB_NOTIFY_EMAILS get an email,
# and the optional incoming webhook (Teams or Slack) a message; beat looks for such
# endings every PARTNERHUB_NOTIFY_EVERY_SECONDS and sends a weekly digest of what
# renews or expires in the next 30 days. Workers send them, never a web request.
# https://docs.djangoproject.com/en/5.2/topics/email/
EMAIL_BACKEND = env_str(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if PARTNER_CENTER_MODE == "sandbox"
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("DJANGO_EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("DJANGO_EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("DJANGO_EMAIL_USE_SSL", False)
# A mail server that does not answer must not hold a worker for long.
EMAIL_TIMEOUT = env_float("DJANGO_EMAIL_TIMEOUT_SECONDS", 10.0)
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "partnerhub@localhost")
PARTNERHUB_NOTIFY_EMAILS = env_list("PARTNERHUB_NOTIFY_EMAILS")
PARTNERHUB_NOTIFY_WEBHOOK_URL = env_str("PARTNERHUB_NOTIFY_WEBHOOK_URL").strip()
if PARTNERHUB_NOTIFY_WEBHOOK_URL and not PARTNERHUB_NOTIFY_WEBHOOK_URL.startswith(
    ("https://", "http://")
):
    raise ImproperlyConfigured(
        "PARTNERHUB_NOTIFY_WEBHOOK_URL must be an http(s) URL (a Teams or Slack "
        "incoming webhook)."
    )
PARTNERHUB_NOTIFY_WEBHOOK_TIMEOUT_SECONDS = env_float(
    "PARTNERHUB_NOTIFY_WEBHOOK_TIMEOUT_SECONDS", 10.0
)
PARTNERHUB_NOTIFY_EVERY_SECONDS = env_float("PARTNERHUB_NOTIFY_EVERY_SECONDS", 30.0)
# Endings older than this when notifications are first switched on are not sent.
PARTNERHUB_NOTIFY_LOOKBACK_HOURS = env_int(
    "PARTNERHUB_NOTIFY_LOOKBACK_HOURS", 24, minimum=1
)
# Links in notifications start with this (e.g. https://partnerhub.example.com).
PARTNERHUB_BASE_URL = env_str("PARTNERHUB_BASE_URL", "http://127.0.0.1:8000").rstrip(
    "/"
)

# Records are redacted as they are created, whatever handler receives them.
LOGGING_CONFIG = "partnerhub.logging.configure_logging"
# Error reports (DEBUG pages, mailed reports) mask secrets in traceback variables too.
DEFAULT_EXCEPTION_REPORTER_FILTER = (
    "partnerhub.logging.RedactingExceptionReporterFilter"
)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "partnerhub.logging.RedactSecretsFilter"},
        "quiet_routine_tasks": {"()": "migrations_app.quiet_logs.QuietRoutineTasks"},
        "quiet_permission_denied": {"()": "partnerhub.logging.QuietPermissionDenied"},
        "quiet_suspicious": {"()": "partnerhub.logging.QuietSuspiciousOperation"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            # A refused request (a bad `?_to_field=` and the like) is one line.
            "filters": ["redact", "quiet_suspicious"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("PARTNERHUB_LOG_LEVEL", "INFO")},
    "loggers": {
        "urllib3": {"level": "WARNING"},
        # Django's own console handler would print every django.* line a second
        # time (root prints it already); a 403 is one line, without a traceback.
        "django": {"handlers": [], "level": "INFO"},
        "django.request": {"filters": ["quiet_permission_denied"]},
        "msal": {"level": "WARNING"},
        # The migration re-queue runs every few seconds: it logs only when it
        # re-queued something, not Celery's sent/received/succeeded lines.
        "celery.beat": {"filters": ["quiet_routine_tasks"]},
        "celery.worker.strategy": {"filters": ["quiet_routine_tasks"]},
        "celery.app.trace": {"filters": ["quiet_routine_tasks"]},
    },
}

# Periodic work: sync, re-queue due or stalled migrations, verify the audit chain.
CELERY_BEAT_SCHEDULE = {
    "sync-partner-center": {
        "task": task_names.SYNC_PARTNER_CENTER,
        "schedule": PARTNERHUB_SYNC_EVERY_MINUTES * 60.0,
    },
    "requeue-migrations": {
        "task": task_names.REQUEUE_DUE_MIGRATIONS,
        "schedule": PARTNERHUB_REQUEUE_EVERY_SECONDS,
    },
    "verify-audit-chain": {
        "task": task_names.VERIFY_AUDIT_CHAIN,
        "schedule": PARTNERHUB_AUDIT_VERIFY_EVERY_MINUTES * 60.0,
    },
    "close-stale-pending-writes": {
        "task": task_names.CLOSE_STALE_PENDING_WRITES,
        "schedule": 3600.0,
    },
    "notify-migration-endings": {
        "task": task_names.NOTIFY_MIGRATION_ENDINGS,
        "schedule": PARTNERHUB_NOTIFY_EVERY_SECONDS,
    },
    # Scheduled migrations wait in the database; this starts the due ones.
    "start-due-schedules": {
        "task": task_names.START_DUE_SCHEDULES,
        "schedule": 60.0,
    },
    "weekly-renewal-digest": {
        "task": task_names.SEND_WEEKLY_DIGEST,
        "schedule": crontab(minute=0, hour=7, day_of_week="mon"),
    },
}
