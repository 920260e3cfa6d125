"""Settings, read from environment variables; docs/operations.md lists every one.

Without DATABASE_URL and REDIS_URL Omnidesk runs on its embedded default: SQLite, the in-memory
channel layer and tasks executed in-process. With them it runs in the production shape:
PostgreSQL, channels-redis, and Celery workers and beat on Redis.
"""
from __future__ import annotations

import secrets
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

DATA_DIR = Path(env.str("OMNIDESK_DATA_DIR", default=str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _embedded_secret_key() -> str:
    """A random key kept in the data directory, so the embedded default needs no setup."""
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


DEBUG = env.bool("OMNIDESK_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or _embedded_secret_key()
ALLOWED_HOSTS = env.list("OMNIDESK_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("OMNIDESK_CSRF_TRUSTED_ORIGINS", default=[])
# The address providers and residents reach this installation on; used for webhook URLs.
PUBLIC_URL = env.str("OMNIDESK_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_filters",
    "rest_framework",
    "omnidesk.plugin_api",
    "omnidesk.tenants",
    "omnidesk.channel_accounts",
    "omnidesk.contacts",
    "omnidesk.tickets",
    "omnidesk.inbound",
    "omnidesk.outbound",
    "omnidesk.realtime",
    "omnidesk.dashboard",
    "omnidesk.responses",
    "omnidesk.notifications",
    "omnidesk.audit",
    "omnidesk.hours",
    "omnidesk.sunset",
    "omnidesk.administration",
    "omnidesk.reports",
    "omnidesk.ops",
    "omnidesk.api",
]



def _plugin_apps() -> list[str]:
    """Each channel plugin's package is a Django app too, for its templates, static files and models.

    A package that fails to import is left out here; the plugin registry reports why.
    """
    import importlib
    from importlib.metadata import entry_points

    apps: list[str] = []
    for entry_point in entry_points(group="omnidesk.channels"):
        package = entry_point.module.rpartition(".")[0] or entry_point.module
        try:
            importlib.import_module(package)
        except Exception:  # noqa: BLE001  (reported by the registry's system check)
            continue
        if package not in apps:
            apps.append(package)
    return apps


INSTALLED_APPS += _plugin_apps()

MIDDLEWARE = [
    "omnidesk.ops.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "omnidesk.urls"
WSGI_APPLICATION = "omnidesk.wsgi.application"
ASGI_APPLICATION = "omnidesk.asgi.application"

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
                "omnidesk.tenants.context_processors.current_municipality",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'omnidesk.sqlite3'}")}
USES_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
if USES_POSTGRES and env.bool("OMNIDESK_DB_POOL", default=False):
    # Under ASGI persistent connections leak; psycopg's pool does not.
    DATABASES["default"]["OPTIONS"] = {"pool": {"min_size": 2, "max_size": env.int("OMNIDESK_DB_POOL_SIZE", default=10)}}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("OMNIDESK_DB_CONN_MAX_AGE", default=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, broker, cache ------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
REDIS_PREFIX = env.str("OMNIDESK_REDIS_PREFIX", default="omnidesk")
if REDIS_URL:
    # The layer drops silently when full; dashboards recover from the database (docs/realtime.md), so these bound
    # memory and staleness, not correctness.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8's default 5 s socket timeout equals the layer's blocking wait and its pool
                # refuses past 100 connections; both break channels-redis 4.3 (channels_redis#422).
                "hosts": [{"address": REDIS_URL, "socket_timeout": None, "max_connections": 1000}],
                "prefix": f"{REDIS_PREFIX}:asgi",
                # Messages waiting per receiving process in Redis, and per channel inside it. A server process has
                # one member per municipality (realtime/hub.py) and a publishing process's relay sends one message
                # per round, so 1,000 is seconds of headroom at full load; more would only deliver a flood late.
                "capacity": env.int("OMNIDESK_CHANNEL_CAPACITY", default=1000),
                # A push older than this is worthless: the dashboard's watermark has asked for it within 3 s.
                "expiry": 10,
                # Members are forgotten after this; the hub re-joins every 30 s, agents' channels on each heartbeat.
                "group_expiry": 86400,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": f"{REDIS_PREFIX}:cache"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://localhost/")
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# Without a broker the embedded default runs each task in-process, right after the commit.
CELERY_TASK_ALWAYS_EAGER = env.bool("OMNIDESK_TASKS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A task is acknowledged after it ran, so a worker killed mid-task leaves it for another.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "global_keyprefix": f"{REDIS_PREFIX}:celery:"}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    # The safety net: webhooks schedule a drain themselves (inbound.journal), this finds what a lost task left.
    "drain-inbound-journal": {"task": "omnidesk.inbound.tasks.drain_journal", "schedule": 5.0},
    "poll-channel-accounts": {"task": "omnidesk.inbound.tasks.schedule_polls", "schedule": 30.0},
    "requeue-stalled-outbound": {"task": "omnidesk.outbound.tasks.requeue_stalled", "schedule": 60.0},
    "prune-realtime-events": {"task": "omnidesk.realtime.tasks.prune_events", "schedule": 3600.0},
    "apply-channel-schedules": {"task": "omnidesk.channel_accounts.tasks.apply_channel_schedules", "schedule": 60.0},
    "apply-retention": {"task": "omnidesk.tickets.tasks.apply_retention", "schedule": 3600.0},
    "requeue-stalled-sunset-replies": {"task": "omnidesk.sunset.tasks.requeue_stalled_replies", "schedule": 900.0},
}

# --- Mail the product itself sends (invitations) ------------------------------------------------
# OMNIDESK_EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.nl:587; the embedded default prints mail to the
# console (with the invitation link) so `make run` works without a mail server.
vars().update(env.email_url("OMNIDESK_EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("OMNIDESK_FROM_EMAIL", default="Omnidesk <noreply@localhost>")

# --- Auth, i18n, static, media ----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:inbox"
LOGOUT_REDIRECT_URL = "login"

# The inbox's covering index uses INCLUDE, a PostgreSQL feature; SQLite (the embedded default) builds it without.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", _("Dutch")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("OMNIDESK_TIME_ZONE", default="Europe/Amsterdam")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env.str("OMNIDESK_MEDIA_ROOT", default=str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("OMNIDESK_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("OMNIDESK_BEHIND_PROXY", default=False) else None

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["omnidesk.api.permissions.IsMunicipalityMember"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
}

# --- Omnidesk ---------------------------------------------------------------------------------
OMNIDESK = {
    # Who stores what webhooks accepted (inbound.journal): "worker" (Celery, in batches: production) or "inline"
    # (the webhook's own request, one at a time: the embedded default and a deploy without workers).
    "INGEST": env.str("OMNIDESK_INGEST", default="inline"),
    # Worker ingest under load: while webhooks arrive faster than INGEST_GATHER_RATE per second, or wait longer than
    # INGEST_GATHER_BEHIND_MS for their drain (0: neither), a drain that finds fewer than INGEST_GATHER_BATCH entries
    # waits INGEST_GATHER_MS for more (inbound/listener.py; INGEST_GATHER_MS 0: never).
    "INGEST_GATHER_RATE": env.int("OMNIDESK_INGEST_GATHER_RATE", default=200),
    "INGEST_GATHER_BEHIND_MS": env.int("OMNIDESK_INGEST_GATHER_BEHIND_MS", default=100),
    "INGEST_GATHER_BATCH": env.int("OMNIDESK_INGEST_GATHER_BATCH", default=200),
    "INGEST_GATHER_MS": env.int("OMNIDESK_INGEST_GATHER_MS", default=60),
    # Attachments (inbound, fetched from providers, or uploaded) above this size are refused.
    "MAX_ATTACHMENT_BYTES": env.int("OMNIDESK_MAX_ATTACHMENT_BYTES", default=25 * 1024 * 1024),
    # Webhook bodies above this size are refused with 413 before they are read.
    "WEBHOOK_MAX_BYTES": env.int("OMNIDESK_WEBHOOK_MAX_BYTES", default=1024 * 1024),
    # Fernet keys for channel secrets, newest first; the first encrypts, all decrypt.
    "ENCRYPTION_KEYS": env.list("OMNIDESK_ENCRYPTION_KEYS", default=[]),
    # Outbound delivery: attempts for transient errors and the backoff's base and cap, in seconds.
    "OUTBOUND_MAX_ATTEMPTS": env.int("OMNIDESK_OUTBOUND_MAX_ATTEMPTS", default=8),
    "OUTBOUND_BACKOFF_BASE": env.float("OMNIDESK_OUTBOUND_BACKOFF_BASE", default=2.0),
    "OUTBOUND_BACKOFF_CAP": env.float("OMNIDESK_OUTBOUND_BACKOFF_CAP", default=600.0),
    # After a send that may have reached the provider (a read timeout), wait this long for its status report.
    "OUTBOUND_AMBIGUOUS_WAIT": env.float("OMNIDESK_OUTBOUND_AMBIGUOUS_WAIT", default=120.0),
    # A drain claims up to this many due replies of one channel account at a time (at most one per conversation) and
    # records their outcomes in one transaction; a plugin's Capabilities.concurrent_sends of them go out side by side,
    # at most this many at once per account.
    "OUTBOUND_BATCH_SIZE": env.int("OMNIDESK_OUTBOUND_BATCH_SIZE", default=50),
    "OUTBOUND_MAX_CONCURRENT_SENDS": env.int("OMNIDESK_OUTBOUND_MAX_CONCURRENT_SENDS", default=8),
    # Drains of one account that may run at once (each in a worker thread or process of its own, each with its own
    # sends in flight): with several worker processes, more than one can then share a busy account's backlog.
    "OUTBOUND_DRAINS_PER_ACCOUNT": env.int("OMNIDESK_OUTBOUND_DRAINS_PER_ACCOUNT", default=1),
    # A message claimed for sending longer ago than this is considered lost by its worker.
    "OUTBOUND_STALL_SECONDS": env.int("OMNIDESK_OUTBOUND_STALL_SECONDS", default=300),
    # Circuit breaker per channel account (omnidesk/ops/breaker.py): this many transient failures in a row stop its
    # sends for the cool-down, doubled after each failed trial send up to the maximum (seconds).
    "OUTBOUND_BREAKER_FAILURES": env.int("OMNIDESK_OUTBOUND_BREAKER_FAILURES", default=5),
    "OUTBOUND_BREAKER_COOLDOWN": env.float("OMNIDESK_OUTBOUND_BREAKER_COOLDOWN", default=30.0),
    "OUTBOUND_BREAKER_COOLDOWN_MAX": env.float("OMNIDESK_OUTBOUND_BREAKER_COOLDOWN_MAX", default=600.0),
    # Realtime events are kept this long for dashboards that reconnect and catch up.
    "REALTIME_EVENT_RETENTION_HOURS": env.int("OMNIDESK_REALTIME_EVENT_RETENTION_HOURS", default=24),
    # Automatic acknowledgements of new tickets: at most one per resident and channel in this many seconds.
    "ACKNOWLEDGEMENT_INTERVAL": env.int("OMNIDESK_ACKNOWLEDGEMENT_INTERVAL", default=24 * 3600),
    # A poll that fails (mailbox unreachable, bad login) is retried with backoff up to this many seconds apart.
    "POLL_BACKOFF_CAP": env.int("OMNIDESK_POLL_BACKOFF_CAP", default=900),
    # A poll that says more is waiting is repeated at once, up to this many batches per turn.
    "POLL_MAX_BATCHES": env.int("OMNIDESK_POLL_MAX_BATCHES", default=20),
}

# --- Logging: JSON lines with the request id --------------------------------------------------
LOG_LEVEL = env.str("OMNIDESK_LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "omnidesk.ops.logging.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
    },
}
