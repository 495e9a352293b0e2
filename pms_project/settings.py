"""PMS settings: one file, read from the environment (see README's variable table).

Unset variables give the embedded default (SQLite under var/, local-memory cache, eager tasks);
production differs only by environment values. Bad values stop start-up with a message naming
the variable.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

from pms_project.caches import redis_caches
from pms_project.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_str,
    env_time,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PMS_VAR_DIR", str(BASE_DIR / "var")))

# --- Core -----------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "simple_history",
    "django_celery_beat",
    "axes",
    "csp",
    "django_prometheus",
    "apps.core",
    "apps.ops",
    "apps.demo",
    "apps.marketdata",
    "apps.positions",
    "apps.journal",
    "apps.proposals",
    "apps.trading",
    "apps.compliance",
    "apps.risk",
    "apps.attribution",
    "apps.firm",
    "apps.briefings",
    "apps.tokens",
]

MIDDLEWARE = [
    "apps.core.middleware.RequestIdMiddleware",
    "apps.core.middleware.ServerTimingMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "apps.core.middleware.ProbeMiddleware",  # /health, /ready: before sessions and host checks
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.core.inputs.BadInputMiddleware",  # NUL bytes: 400; an oversized body: 413
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.core.user_facts.UserFactsMiddleware",  # roles, fund grants: kept in the session
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "pms_project.urls"
WSGI_APPLICATION = "pms_project.wsgi.application"

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
                "apps.core.context_processors.navigation",
                "apps.ops.context_processors.pipeline_banner",
            ],
            "builtins": ["apps.core.templatetags.pms_format"],
        },
    },
]

# --- Database -------------------------------------------------------------------------------

DATABASE_URL = env_url("DATABASE_URL", schemes=("postgres", "postgresql", "sqlite"))
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "pms.sqlite3"),
            "OPTIONS": {"timeout": 20},
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Two processes write on the embedded default (the server and a manage.py command, each
    # with a pipeline lease heartbeat thread): a transaction takes the write lock when it
    # begins and waits up to `timeout` for it, instead of failing at once with "database is
    # locked" when a read transaction tries to upgrade while another process writes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("timeout", 20)
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
else:
    # A PostgreSQL that hangs (rather than refuses) must not hold every request: the connection
    # attempt gives up and the request answers the 503 "Database unavailable" page.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5, minimum=1)
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------

REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss", "unix"))
# Parallel test workers (pytest-xdist) share one Redis: each gets its own key prefix.
CACHE_KEY_PREFIX = env_str("CACHE_KEY_PREFIX", "pms") + (
    f"-{os.environ['PYTEST_XDIST_WORKER']}" if "PYTEST_XDIST_WORKER" in os.environ else ""
)
REDIS_SOCKET_TIMEOUT = env_float("REDIS_SOCKET_TIMEOUT", 0.25)
# The per-process layer in front of Redis (apps.core.local_cache): recent read models and page
# bodies under their versioned keys, bounded in entries and bytes; 0 entries turns it off.
LOCAL_CACHE_ENTRIES = env_int("LOCAL_CACHE_ENTRIES", 256, minimum=0)
LOCAL_CACHE_BYTES = env_int("LOCAL_CACHE_BYTES", 64 * 1024 * 1024, minimum=0)
if REDIS_URL:
    CACHES = redis_caches(REDIS_URL, prefix=CACHE_KEY_PREFIX, timeout=REDIS_SOCKET_TIMEOUT)
    READ_MODEL_CACHE = "readmodels"
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "pms",
        }
    }
    READ_MODEL_CACHE = "default"
# Sessions live in the database only. A cached copy in Redis outlives its row whenever Redis
# misses a delete (a logout while Redis hangs and the breaker is open, a restore from a backup
# taken before the login) and would be honoured again; verifying the row on every request
# costs the same query as reading it, so the cache would save nothing: Django's `db` engine
# as it ships (docs/ARCHITECTURE.md, "Sessions").
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Celery ---------------------------------------------------------------------------------

CELERY_BROKER_URL = env_url("CELERY_BROKER_URL", schemes=("redis", "rediss", "amqp", "memory"))
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "America/Sao_Paulo"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Every task may run as long as the longest EOD catch-up (a hard limit kills a hung one; the
# soft one lets the step fail cleanly first). With acks_late, Redis re-delivers a task whose
# worker has not acknowledged it within `visibility_timeout`: it must exceed the hard limit,
# or a long EOD would be handed to a second worker while the first still runs it.
CELERY_TASK_TIME_LIMIT = env_int("PIPELINE_TASK_TIME_LIMIT", 2 * 3600, minimum=60)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - min(300, CELERY_TASK_TIME_LIMIT // 10)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 3600}
# A running pipeline renews its lease every third of this; a process that stops (SIGKILL, a
# lost host) leaves a lease that expires, and the next trigger or the sweep takes over.
PIPELINE_LEASE_SECONDS = env_int("PIPELINE_LEASE_SECONDS", 120, minimum=5)
PIPELINE_SWEEP_MINUTES = env_int("PIPELINE_SWEEP_MINUTES", 5, minimum=1)
# A write queues the refresh of its read models after commit (apps.core.cache.publish_refresh):
# the publish gives up after this many seconds (a dead broker never holds a request), and the
# sweep runs, this often, the refreshes whose task never ran (their outbox row is still there).
REFRESH_PUBLISH_TIMEOUT = env_float("REFRESH_PUBLISH_TIMEOUT", 0.25)
REFRESH_SWEEP_SECONDS = env_int("REFRESH_SWEEP_SECONDS", 60, minimum=10)
# "Run EOD now" for today is refused before this local time (B3 publishes the settlements
# after the close) and while no settlement of the day is loaded.
EOD_NOT_BEFORE = env_time("EOD_NOT_BEFORE", "18:00")
# Monitoring (apps/ops/metrics.py): a pipeline is overdue when the last ANBIMA business day's
# run has not succeeded by these local times (the EOD runs at 18:00, the pre-open at 06:00).
EOD_DEADLINE = env_time("EOD_DEADLINE", "20:00")
PREOPEN_DEADLINE = env_time("PREOPEN_DEADLINE", "07:30")
# How often a worker recomputes the journal's hash chain for the metrics (beat).
JOURNAL_VERIFY_MINUTES = env_int("JOURNAL_VERIFY_MINUTES", 60, minimum=1)
# The one schedule, in code; DatabaseScheduler syncs it to the database (visible in admin).
# Both run Monday–Friday; the tasks themselves skip ANBIMA holidays.
CELERY_BEAT_SCHEDULE = {
    "eod-18h": {
        "task": "pipelines.run_eod",
        "schedule": crontab(hour=18, minute=0, day_of_week="mon-fri"),
    },
    "preopen-06h": {
        "task": "pipelines.run_preopen",
        "schedule": crontab(hour=6, minute=0, day_of_week="mon-fri"),
    },
    "pipelines-sweep": {
        "task": "pipelines.sweep",
        "schedule": timedelta(minutes=PIPELINE_SWEEP_MINUTES),
    },
    "read-model-refresh-sweep": {
        "task": "cache.sweep_refreshes",
        "schedule": timedelta(seconds=REFRESH_SWEEP_SECONDS),
    },
    "remark-sweep": {
        "task": "marks.sweep_remarks",
        "schedule": timedelta(seconds=REFRESH_SWEEP_SECONDS),
    },
    "journal-verify": {
        "task": "monitoring.verify_journal",
        "schedule": timedelta(minutes=JOURNAL_VERIFY_MINUTES),
    },
}
PIPELINE_RETRY_DELAYS = [2.0, 10.0, 30.0]

# --- Auth -----------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
ADMIN_URL = env_str("ADMIN_URL", "admin/").strip("/") + "/"

# --- Security -------------------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out users before checking
    "django.contrib.auth.backends.ModelBackend",
]
# Login lockout: 5 failures lock the username + IP for 15 minutes, stored in the database
# (works with Redis down).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Reverse proxies in front of gunicorn: 0 when it is reached directly (X-Forwarded-For is then
# ignored), 1 behind compose's Caddy. apps/core/client_ip.py reads the client from it.
PROXY_COUNT = env_int("PROXY_COUNT", 0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "apps.core.client_ip.client_ip"

# Content Security Policy: everything from our own origin (htmx and Chart.js are vendored);
# inline <script> only with the per-request nonce; inline styles allowed (Chart.js sets them).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
METRICS_TOKEN = env_str("METRICS_TOKEN")
# /metrics computes its database-derived values (pipelines, limits, market data, backups,
# workers) at most this often per process; 0: at every scrape.
METRICS_CACHE_SECONDS = env_int("METRICS_CACHE_SECONDS", 30, minimum=0)
# API tokens (apps.tokens) are valid this many days from issue unless issued for another term.
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 90, minimum=1)
# Where scripts/backup.sh writes (verify_system checks the newest backup's age there).
BACKUP_DIR = Path(env_str("PMS_BACKUP_DIR", str(BASE_DIR / "backups")))

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Request bodies (apps/core/inputs.py): a form or JSON body is read into memory up to 10 MB; an
# uploaded file goes to a temporary file beyond 2.5 MB; a request declaring more than
# UPLOAD_MAX_BYTES (+1 MB of form envelope) is refused (413) before it is read, and the upload
# forms refuse a larger file. The B3 importer caps what a zip unpacks to on its own.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2621440
UPLOAD_MAX_BYTES = 20 * 1024 * 1024

# --- I18N -----------------------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "America/Sao_Paulo")
USE_I18N = True
USE_TZ = True

# --- Static ---------------------------------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Hashed, compressed file names need `collectstatic`; off in DEBUG and tests (STATIC_MANIFEST).
STATIC_MANIFEST = env_bool("STATIC_MANIFEST", default=not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
# Files a browser asks for at the site's root (/favicon.ico), served by whitenoise as they are;
# the pages link the hashed copy collectstatic makes of the same file.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"

# --- API ------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: DRF takes the WWW-Authenticate challenge from the first class, so a bad
        # token gets 401 (not 403).
        "apps.tokens.authentication.ApiTokenAuthentication",  # hashed, expiring, revocable
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "apps.core.inputs.CappedPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.inputs.SafeJSONParser",  # depth limit and NUL check on every JSON body
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "COERCE_DECIMAL_TO_STRING": True,
    "EXCEPTION_HANDLER": "apps.core.errors.api_exception_handler",  # adds the request id
}
# Bad input is a 400, never a 500 (apps/core/inputs.py): `?limit=` is capped, deeper JSON refused.
API_MAX_PAGE_SIZE = 1000
API_MAX_JSON_DEPTH = 32
# Every free-text field (notes, reasons, rationales; the journal keeps them forever).
TEXT_MAX_LENGTH = 10_000
SPECTACULAR_SETTINGS = {
    "TITLE": "PMS API",
    "DESCRIPTION": "Portfolio management system for a Brazilian global-macro fund.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- E-mail ---------------------------------------------------------------------------------

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if not env_str("EMAIL_HOST")
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "pms@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ADMINS = [("Ops", address) for address in env_list("ADMIN_EMAILS")]

# --- Integrations ---------------------------------------------------------------------------

ANTHROPIC_API_KEY = env_str("ANTHROPIC_API_KEY")
ANTHROPIC_MODEL = env_str("ANTHROPIC_MODEL", "claude-sonnet-4-5")
ANTHROPIC_TIMEOUT_SECONDS = env_float("ANTHROPIC_TIMEOUT_SECONDS", 30.0)
ANTHROPIC_MAX_RETRIES = env_int("ANTHROPIC_MAX_RETRIES", 2, minimum=0)
MORNING_PACK_LANGUAGE = env_choice("MORNING_PACK_LANGUAGE", "pt-BR", choices=("pt-BR", "en"))
MORNING_PACK_EMAIL = env_bool("MORNING_PACK_EMAIL", default=False)
PROPOSALS_FOUR_EYES = env_bool("PROPOSALS_FOUR_EYES", default=True)
BCB_SGS_URL = env_str("BCB_SGS_URL", "https://api.bcb.gov.br/dados/serie/bcdata.sgs.{series}/dados")
BCB_TIMEOUT_SECONDS = env_float("BCB_TIMEOUT_SECONDS", 10.0)

# --- Performance statistics -----------------------------------------------------------------

# Annualised return, % of CDI, volatility, Sharpe and Sortino over fewer daily returns read
# "n/a" with the reason (page, API, CSV): a 4-day MTD Sharpe is noise, not a figure.
STATS_MIN_RETURNS = env_int("STATS_MIN_RETURNS", 21, minimum=2)

# --- Logging --------------------------------------------------------------------------------

LOG_LEVEL = env_choice(
    "LOG_LEVEL", "INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "apps.core.request_id.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
