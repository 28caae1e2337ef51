"""Timbre's one settings module, driven by the environment (see README, "Production").

Development defaults need no service: SQLite under var/, Celery tasks run in-process,
manual payments, keys generated under var/keys/. With DEBUG off every production secret
must be given, or start-up stops naming the one that is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url

from timbre.env import (
    ConfigError,
    env_bool,
    env_host_ports,
    env_int,
    env_list,
    env_str,
    require,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("TIMBRE_VAR_DIR") or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", default=False)
TESTING = env_bool("TIMBRE_TESTING", default=False)

_dev_secret = "django-insecure-development-only-key-never-used-in-production"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY") or ""
if not SECRET_KEY:
    if DEBUG or TESTING:
        SECRET_KEY = _dev_secret
    else:
        require("SECRET_KEY", None, why="Django signs sessions and CSRF tokens with it")

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if DEBUG or TESTING else []
)
if not ALLOWED_HOSTS and not DEBUG:
    raise ConfigError("ALLOWED_HOSTS must be set when DEBUG is off (comma-separated host names)")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# The registry's public origin: it names the issuer of licenses and the log.
TIMBRE_ORIGIN = env_str("TIMBRE_ORIGIN") or "http://127.0.0.1:8000"
# The transparency log's checkpoint origin (default: <host of TIMBRE_ORIGIN>/log) and
# its own signing key, a PEM file: generated in development, required in production.
TIMBRE_LOG_ORIGIN = env_str("TIMBRE_LOG_ORIGIN") or ""
TIMBRE_LOG_KEY_FILE = Path(env_str("TIMBRE_LOG_KEY_FILE") or VAR_DIR / "keys" / "log-ed25519.pem")
# The active license-signing key (Ed25519 PEM); see `manage.py license_key`.
TIMBRE_LICENSE_KEY_FILE = Path(
    env_str("TIMBRE_LICENSE_KEY_FILE") or VAR_DIR / "keys" / "license-ed25519.pem"
)
# The C2PA identity that stamps content credentials on works' audio: the signer's key,
# its certificate chain (signer, intermediate) and the root verifiers trust. Generated
# in development; `manage.py c2pa_identity create` makes them for production.
TIMBRE_C2PA_KEY_FILE = Path(env_str("TIMBRE_C2PA_KEY_FILE") or VAR_DIR / "keys" / "c2pa-signer.pem")
TIMBRE_C2PA_CHAIN_FILE = Path(
    env_str("TIMBRE_C2PA_CHAIN_FILE") or VAR_DIR / "keys" / "c2pa-chain.pem"
)
TIMBRE_C2PA_ROOT_FILE = Path(env_str("TIMBRE_C2PA_ROOT_FILE") or VAR_DIR / "keys" / "c2pa-root.pem")
# An RFC 3161 timestamp authority for content credentials (e.g. a public TSA). Without
# one, a stamp is checked against its signing certificate's validity today, so it stops
# being trusted when that certificate expires (renew it with `c2pa_identity renew`).
TIMBRE_C2PA_TSA_URL = env_str("TIMBRE_C2PA_TSA_URL") or None
# The largest audio file stamped or read for credentials, in bytes.
TIMBRE_MAX_STAMP_BYTES = env_int("TIMBRE_MAX_STAMP_BYTES", 100 * 1024 * 1024, minimum=1024)
if not DEBUG and not TESTING:
    for _name, _why, _how in (
        ("TIMBRE_LOG_KEY_FILE", "it signs log checkpoints", "log_keygen --out FILE"),
        ("TIMBRE_LICENSE_KEY_FILE", "it signs licenses", "license_key create --key-file FILE"),
        ("TIMBRE_C2PA_KEY_FILE", "it signs content credentials", "c2pa_identity create"),
        ("TIMBRE_C2PA_CHAIN_FILE", "it names the C2PA signer", "c2pa_identity create"),
        ("TIMBRE_C2PA_ROOT_FILE", "verifiers trust it", "c2pa_identity create"),
    ):
        _path = require(_name, env_str(_name), why=_why)
        if not Path(_path).is_file():
            raise ConfigError(
                f"{_name}={_path} does not exist; create it once with "
                f"`manage.py {_how}` and keep it secret"
            )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_countries",
    "django_htmx",
    # Floors, lowest first: an app imports only apps listed above it (the layers
    # contract in pyproject.toml enforces it). "timbre" is the roof: the demo data.
    "core",
    "transparency",
    "registry",
    "licensing",
    "royalties",
    "payments",
    "credentials",
    "timbre",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

if not DEBUG and not TESTING:
    # Production serves collected static files itself; runserver and tests use finders.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "timbre.urls"
WSGI_APPLICATION = "timbre.wsgi.application"
ASGI_APPLICATION = "timbre.asgi.application"

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
                "registry.context_processors.roles",
            ],
        },
    },
]

_database_url = env_str("DATABASE_URL")
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Server-side binding lets psycopg prepare statements a connection runs often (the
        # ledger's and the log's hot queries): PostgreSQL then plans them once, not per call.
        _options = DATABASES["default"].setdefault("OPTIONS", {})
        _options["server_side_binding"] = env_bool("DATABASE_SERVER_SIDE_BINDING", default=True)
        _options["prepare_threshold"] = env_int("DATABASE_PREPARE_THRESHOLD", 5, minimum=0)
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded default needs nothing else
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "timbre.sqlite3"),
            # SQLite serialises writers; wait for the lock instead of failing at once.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "registry.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Hashing passwords slowly is the point in production and a waste in tests.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "catalog"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT") or VAR_DIR / "staticfiles")
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or VAR_DIR / "media")
# Identity documents and challenge recordings: outside MEDIA_ROOT, so no URL reaches them;
# only views that check who asks (the performer, operators) serve them.
TIMBRE_PRIVATE_ROOT = Path(env_str("TIMBRE_PRIVATE_ROOT") or VAR_DIR / "private")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Uploads: Django keeps bodies above this in temporary files, never whole in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
TIMBRE_MAX_SAMPLE_BYTES = env_int("TIMBRE_MAX_SAMPLE_BYTES", 20 * 1024 * 1024, minimum=1)
TIMBRE_MAX_EVIDENCE_BYTES = env_int("TIMBRE_MAX_EVIDENCE_BYTES", 10 * 1024 * 1024, minimum=1)
TIMBRE_MAX_VERIFY_AUDIO_BYTES = env_int(
    "TIMBRE_MAX_VERIFY_AUDIO_BYTES", 200 * 1024 * 1024, minimum=1
)
TIMBRE_MAX_ARTEFACT_BYTES = env_int("TIMBRE_MAX_ARTEFACT_BYTES", 2 * 1024**3, minimum=1)

# Brand domain verification looks up a TXT record with these DNS resolvers, as
# "host:port" (port 53 if left out), comma-separated; unset, the system's resolvers
# (/etc/resolv.conf). A lookup gives up after TIMBRE_DNS_TIMEOUT seconds.
TIMBRE_DNS_NAMESERVERS = env_host_ports("TIMBRE_DNS_NAMESERVERS", default_port=53)
TIMBRE_DNS_TIMEOUT: float = env_int("TIMBRE_DNS_TIMEOUT", 5, minimum=1)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG and not TESTING
CSRF_COOKIE_SECURE = not DEBUG and not TESTING
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG and not TESTING:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)

# Email (Django 6.1 mailers): the console in development, SMTP in production.
_smtp = not DEBUG and not TESTING
MAILERS = {
    "default": {
        "BACKEND": env_str("EMAIL_BACKEND")
        or (
            "django.core.mail.backends.smtp.EmailBackend"
            if _smtp
            else "django.core.mail.backends.console.EmailBackend"
        ),
        "OPTIONS": (
            {
                "host": env_str("EMAIL_HOST") or "localhost",
                "port": env_int("EMAIL_PORT", 25, minimum=1),
                "username": env_str("EMAIL_HOST_USER") or "",
                "password": env_str("EMAIL_HOST_PASSWORD") or "",
                "use_tls": env_bool("EMAIL_USE_TLS", default=False),
            }
            if _smtp
            else {}
        ),
    }
}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "Timbre <no-reply@timbre.example>"

# Values of several kinds: DRF reads each setting by name.
REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "registry.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "core.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.problems.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "public": env_str("TIMBRE_PUBLIC_RATE") or "600/min",
        "anon": env_str("TIMBRE_ANON_RATE") or "1200/min",
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Timbre API",
    "DESCRIPTION": (
        "Open registry for licensed synthetic voices: voices with consent, licenses, "
        "works, royalties and a public transparency log."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "VoiceStatusEnum": "registry.models.VoiceModel.Status",
        "WorkOutcomeStatusEnum": ["recorded", "rejected"],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.add_problem_responses",
    ],
}

_cache_url = env_str("REDIS_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}
        if _cache_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Celery: in-process (eager) unless a broker is configured.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "memory://localhost/"
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL.startswith("memory://")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360, minimum=1)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "license-requests-expire": {
        "task": "licensing.tasks.license_requests_expire",
        "schedule": 3600,
    },
    "period-close": {
        "task": "royalties.tasks.period_close_previous",
        "schedule": 6 * 3600,
    },
    "month-end-billing": {
        "task": "payments.tasks.month_end",
        "schedule": 6 * 3600,
    },
    "invoices-enforce": {
        "task": "payments.tasks.invoices_enforce",
        "schedule": 3600,
    },
    "stripe-events-retry": {
        "task": "payments.tasks.events_retry",
        "schedule": 600,
    },
    "consents-expire": {
        "task": "registry.tasks.consents_expire",
        "schedule": 900,
    },
    "consents-remind": {
        "task": "registry.tasks.consents_remind",
        "schedule": 6 * 3600,
    },
    "post-mortem-terms-end": {
        "task": "royalties.tasks.post_mortem_terms_end",
        "schedule": 6 * 3600,
    },
    "log-checkpoint": {
        "task": "transparency.tasks.checkpoint_publish",
        "schedule": env_int("TIMBRE_CHECKPOINT_SECONDS", 60, minimum=1),
    },
}

# Consent's term: a performer chooses it, in whole years, up to the most the law of the
# registry's jurisdiction allows for a grant of digital-replica rights; reminders go out
# this many days before it ends.
TIMBRE_CONSENT_DEFAULT_YEARS = env_int("TIMBRE_CONSENT_DEFAULT_YEARS", 3, minimum=1)
TIMBRE_CONSENT_MAX_YEARS = env_int("TIMBRE_CONSENT_MAX_YEARS", 5, minimum=1)
TIMBRE_CONSENT_REMINDER_DAYS = (60, 30, 7)
# Delegations of a living adult performer's powers last at most this long.
TIMBRE_DELEGATION_MAX_DAYS = env_int("TIMBRE_DELEGATION_MAX_DAYS", 2 * 366, minimum=1)
# Post-mortem terms: for how many years after a performer's death the estate's right in
# the voice runs, by the jurisdiction whose law applies (ISO 3166-1 alpha-2, or ISO 3166-2
# for a state). The figures are the statutes': California Civil Code 3344.1 (70 years),
# New York Civil Rights Law 50-f (40), Texas Property Code 26.012 (50), Florida Statutes
# 540.08 (40), Indiana Code 32-36-1-8 (100), Tennessee Code 47-25-1104 (10, then for as
# long as it is used: TIMBRE_POST_MORTEM_CONTINUED_BY_USE), and Germany's case law on the
# commercial parts of the personality right (BGH "Kinski-Klaus", 10). Where no statute
# gives a term (the UK, France) the registry's own default applies. A death keeps the
# term it was recorded with.
TIMBRE_POST_MORTEM_YEARS: dict[str, int] = {
    "US-CA": 70,
    "US-NY": 40,
    "US-TX": 50,
    "US-FL": 40,
    "US-IN": 100,
    "US-TN": 10,
    "DE": 10,
}
# For any other valid jurisdiction: the shortest statutory term above.
TIMBRE_POST_MORTEM_DEFAULT_YEARS = env_int("TIMBRE_POST_MORTEM_DEFAULT_YEARS", 10, minimum=0)
# Where use continues the right past its term, and how many years without use end it:
# Tennessee's right, after its first 10 years, lasts until two years pass without use.
TIMBRE_POST_MORTEM_CONTINUED_BY_USE: dict[str, int] = {"US-TN": 2}

# The platform's fee on royalties, in basis points.
TIMBRE_PLATFORM_FEE_BPS = env_int("TIMBRE_PLATFORM_FEE_BPS", 1000, minimum=0)
# What of a minor performer's own earnings is set aside in a blocked trust account, in
# basis points (California's Coogan law: 15%).
TIMBRE_COOGAN_SET_ASIDE_BPS = env_int("TIMBRE_COOGAN_SET_ASIDE_BPS", 1500, minimum=0)
if TIMBRE_COOGAN_SET_ASIDE_BPS > 10000:
    raise ConfigError(f"TIMBRE_COOGAN_SET_ASIDE_BPS={TIMBRE_COOGAN_SET_ASIDE_BPS} is above 10000")

# Payments: manual settlement unless Stripe is configured.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY") or ""
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET") or ""
PAYMENTS_BACKEND = "stripe" if STRIPE_SECRET_KEY else "manual"
# Where the stripe library sends its requests: Stripe's own servers unless set (tests
# and stripe-mock point it at a local server).
STRIPE_API_BASE = env_str("STRIPE_API_BASE") or ""
# A payee is paid once their payable balance reaches this many minor units.
TIMBRE_PAYOUT_THRESHOLD = env_int("TIMBRE_PAYOUT_THRESHOLD", 1000, minimum=1)
# Usage invoices are due this many days after they are issued; a brand's licenses are
# suspended when one is still unpaid this many days after it was due.
TIMBRE_INVOICE_DAYS_DUE = env_int("TIMBRE_INVOICE_DAYS_DUE", 14, minimum=1)
TIMBRE_INVOICE_GRACE_DAYS = env_int("TIMBRE_INVOICE_GRACE_DAYS", 7, minimum=0)
if PAYMENTS_BACKEND == "stripe" and not DEBUG:
    require("STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET, why="webhooks are verified with it")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL") or "INFO"},
    "loggers": {
        # Request logs never include headers, so Authorization never reaches them.
        "django.request": {"level": "WARNING"},
    },
}
