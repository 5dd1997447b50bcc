"""The one settings module, driven by environment variables (see .env.example)."""

from __future__ import annotations

import ipaddress
import os
import re
import tempfile
from datetime import timedelta
from pathlib import Path

from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import Settings, parse_database_url, parse_fernet_keys, parse_redis_url

BASE_DIR = Path(__file__).resolve().parent.parent
# NPUFLEET_ENV_FILE names another file to read; set it empty to read none.
_env_file = os.environ.get("NPUFLEET_ENV_FILE", str(BASE_DIR / ".env"))
env = Settings(Path(_env_file) if _env_file else None)

# Development-only keys: usable only while DEBUG is on, refused otherwise.
_DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"  # noqa: S105
_DEV_CREDENTIALS_KEY = "ZGV2LW9ubHktY3JlZGVudGlhbHMta2V5LTMyYnl0ZXM="

# Off unless asked for: a forgotten variable must not leave a production site in debug mode.
# `make demo` writes DEBUG=1 into its .env; the test suite sets it in pyproject.toml.
DEBUG = env.bool("DEBUG", False)
if not DEBUG and not env.raw("SECRET_KEY"):
    raise ImproperlyConfigured(
        "SECRET_KEY is required when DEBUG is off (the default). For a local try-out set DEBUG=1 "
        "(`make demo` writes a .env that does); in production set SECRET_KEY and "
        "FLEET_CREDENTIALS_KEY (see .env.example)."
    )
SECRET_KEY = env.str("SECRET_KEY", _DEV_SECRET_KEY)
FLEET_CREDENTIALS_KEYS: list[str] = env.parsed(
    "FLEET_CREDENTIALS_KEY",
    _DEV_CREDENTIALS_KEY if DEBUG else "",
    parse_fernet_keys,
    "one or more comma-separated Fernet keys "
    "(make one with: python -c 'from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())')",
)
if not DEBUG and (SECRET_KEY == _DEV_SECRET_KEY or _DEV_CREDENTIALS_KEY in FLEET_CREDENTIALS_KEYS):
    raise ImproperlyConfigured(
        "DEBUG is off but SECRET_KEY or FLEET_CREDENTIALS_KEY is the development key: "
        "set real keys in the environment (see .env.example)."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "csp",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "channels",
    "fleet",
    "fleet.booking",
    "jobs.catalog",
    "jobs",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "fleet.booking.middleware.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.page_errors.RemoteErrorMiddleware",
    # Last, as django-axes requires: turns a refused sign-in into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.parsed(
        "DATABASE_URL",
        f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        parse_database_url,
        "a postgres://user@host:port/name or sqlite:///path URL",
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and immediate transactions let web, worker and beat share the demo's SQLite file.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file, not memory, so browser tests can serve the test database from a second process.
    # One per test run, so parallel runs don't share it.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"npufleet-test-{os.getpid()}.sqlite3")
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", 60, minimum=0))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

REDIS_URL = env.parsed(
    "REDIS_URL", "redis://127.0.0.1:6379/0", parse_redis_url, "a redis://host:port/db URL"
)

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": env.str("CHANNELS_PREFIX", "npufleet")},
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sign-in lockout (django-axes) on the login page, the admin login and the API token endpoint:
# after AXES_FAILURE_LIMIT wrong passwords for one username from one address, that pair is
# refused for AXES_COOLOFF_MINUTES (each further try restarts the wait). An admin lifts it
# sooner with `manage.py axes_reset_username <name>` or in the admin.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_MINUTES = env.int("AXES_COOLOFF_MINUTES", 15, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_CALLABLE = "config.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
# No start-up banner on every manage.py command (CLI errors stay one line); lockouts still log.
AXES_VERBOSE = False
# The client's address, for lockouts and throttles: REMOTE_ADDR, or with PROXY_COUNT reverse
# proxies in front (each appending to X-Forwarded-For) the address the outermost one saw.
PROXY_COUNT = env.int("PROXY_COUNT", 0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "config.lockout.client_ip"


def _proxy_header(value: str) -> tuple[str, str] | None:
    """'X-Forwarded-Proto' -> ('HTTP_X_FORWARDED_PROTO', 'https'); '-' -> None."""
    if value.strip() == "-":
        return None
    if not re.fullmatch(r"[A-Za-z0-9-]+", value):
        raise ValueError(value)
    return ("HTTP_" + value.upper().replace("-", "_"), "https")


# HTTPS: on by default when DEBUG is off. Behind a TLS-terminating proxy, the proxy must set
# (overwrite) the header named by SECURE_PROXY_SSL_HEADER; `-` turns that trust off.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers and container health checks probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_PROXY_SSL_HEADER = env.parsed(
    "SECURE_PROXY_SSL_HEADER",
    "-" if DEBUG else "X-Forwarded-Proto",
    _proxy_header,
    "a header name like X-Forwarded-Proto, or - for none",
)
SILENCED_SYSTEM_CHECKS = [
    # HSTS preload is a commitment for a whole registrable domain (the browsers' built-in list),
    # which a dashboard on a sub-domain cannot make for its owner: opt in with
    # SECURE_HSTS_PRELOAD=1 where the domain's owner wants it.
    "security.W021",
]

# Content-Security-Policy: scripts and styles only from our own static files; no inline code.
# A page that must let a library add <style> elements (the log terminal) reads
# request.csp_nonce, which adds that nonce to style-src for that response only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _rate(value: str) -> str:
    """'120/minute' as DRF reads it; anything else is refused at start."""
    count, _, period = value.partition("/")
    if int(count) < 1 or not period or period[0] not in "smhd":
        raise ValueError(value)
    return f"{int(count)}/{period}"


# API tokens (django-rest-knox): only a hash is stored; each expires after API_TOKEN_TTL_DAYS.
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env.int("API_TOKEN_TTL_DAYS", 30, minimum=1)),
    "TOKEN_LIMIT_PER_USER": env.int("API_TOKEN_LIMIT_PER_USER", 20, minimum=1),
    "AUTH_HEADER_PREFIX": "Token",
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # `Authorization: Token <key>`; keys are stored hashed, expire and can be revoked.
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Requests per client: anonymous ones by address, signed-in ones by user.
    "DEFAULT_THROTTLE_CLASSES": [
        "config.throttles.AnonThrottle",
        "config.throttles.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.parsed(
            "API_THROTTLE_ANON", "120/minute", _rate, "a rate like 120/minute (s, m, h or d)"
        ),
        "user": env.parsed(
            "API_THROTTLE_USER", "3000/minute", _rate, "a rate like 3000/minute (s, m, h or d)"
        ),
    },
    "NUM_PROXIES": PROXY_COUNT,
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": env.int("API_PAGE_SIZE", 50, minimum=1),
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "fleet.api.schema.FleetAutoSchema",
    "EXCEPTION_HANDLER": "config.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "NPU Fleet API",
    "DESCRIPTION": "Nodes, NPU cards, recipes, bookings and jobs of an Ascend DevServer fleet.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CheckStatusEnum": "fleet.choices.CheckStatus",
        "DeploymentStatusEnum": "jobs.choices.DeploymentStatus",
        "HealthEnum": "fleet.choices.Health",
        "JobStatusEnum": "jobs.choices.JobStatus",
        "RecipeKindEnum": "jobs.catalog.choices.RecipeKind",
        "RemoteErrorKindEnum": "fleet.remote.ErrorKind",
    },
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A key prefix keeps several dashboards (or test runs) on one Redis apart.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "global_keyprefix": env.str("CELERY_KEY_PREFIX", ""),
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=1),
}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE

# Fleet behaviour.
FLEET_SSH_CONNECT_TIMEOUT = env.float("FLEET_SSH_CONNECT_TIMEOUT", 15.0, minimum=0.1)
FLEET_SSH_COMMAND_TIMEOUT = env.float("FLEET_SSH_COMMAND_TIMEOUT", 30.0, minimum=0.1)
FLEET_PROBE_INTERVAL = env.int("FLEET_PROBE_INTERVAL", 15, minimum=1)
FLEET_PROBE_THREADS = env.int("FLEET_PROBE_THREADS", 32, minimum=1)
FLEET_PROBE_JITTER = env.float("FLEET_PROBE_JITTER", 2.0, minimum=0.0)
FLEET_SAMPLE_RETENTION_DAYS = env.int("FLEET_SAMPLE_RETENTION_DAYS", 7, minimum=1)
FLEET_MIN_DRIVER_VERSION = env.str("FLEET_MIN_DRIVER_VERSION", "23.0.6")
FLEET_MIN_FREE_DISK_GB = env.int("FLEET_MIN_FREE_DISK_GB", 100, minimum=0)
FLEET_UNREACHABLE_AFTER = env.int("FLEET_UNREACHABLE_AFTER", 3, minimum=1)
FLEET_BOOKING_NO_SHOW_MINUTES = env.int("FLEET_BOOKING_NO_SHOW_MINUTES", 30, minimum=1)


def _positive_minutes(value: str) -> list[int]:
    """'30,5' -> [30, 5]; anything but positive whole minutes is refused."""
    minutes = sorted({int(part) for part in value.split(",")}, reverse=True)
    if minutes[-1] < 1:
        raise ValueError(value)
    return minutes


FLEET_BOOKING_WARNING_MINUTES: list[int] = env.parsed(
    "FLEET_BOOKING_WARNING_MINUTES",
    "30,5",
    _positive_minutes,
    "comma-separated positive minutes before a booking's end, e.g. 30,5",
)
FLEET_BOOKING_STOP_GRACE_MINUTES = env.int("FLEET_BOOKING_STOP_GRACE_MINUTES", 5, minimum=0)
FLEET_BOOKING_WEBHOOK_TIMEOUT = env.float("FLEET_BOOKING_WEBHOOK_TIMEOUT", 10.0, minimum=0.1)


def _networks(value: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """'10.0.0.0/8, fd00::/8' -> networks; ',' (the default) -> none."""
    return [ipaddress.ip_network(part.strip()) for part in value.split(",") if part.strip()]


# Private networks team webhooks may reach on purpose (by default only public addresses).
FLEET_BOOKING_WEBHOOK_ALLOWED_NETWORKS = env.parsed(
    "FLEET_BOOKING_WEBHOOK_ALLOWED_NETWORKS",
    ",",
    _networks,
    "comma-separated networks with host bits zero, e.g. 10.20.0.0/16,fd00:1::/64, or empty",
)
FLEET_BOOKING_MAX_DAYS_AHEAD = env.int("FLEET_BOOKING_MAX_DAYS_AHEAD", 90, minimum=1)

# Job engine.
JOBS_HEARTBEAT_SECONDS = env.float("JOBS_HEARTBEAT_SECONDS", 5.0, minimum=0.1)
JOBS_HEARTBEAT_STALE_SECONDS = env.int("JOBS_HEARTBEAT_STALE_SECONDS", 60, minimum=5)
JOBS_READY_TIMEOUT = env.float("JOBS_READY_TIMEOUT", 900.0, minimum=1.0)
JOBS_SMOKE_TIMEOUT = env.float("JOBS_SMOKE_TIMEOUT", 120.0, minimum=1.0)
JOBS_STOP_TIMEOUT = env.int("JOBS_STOP_TIMEOUT", 20, minimum=0)
JOBS_BUILD_TIMEOUT = env.float("JOBS_BUILD_TIMEOUT", 3 * 3600.0, minimum=1.0)
JOBS_LOG_QUEUE = env.str("JOBS_LOG_QUEUE", "logs")
JOBS_HOST_PORTS = env.parsed(
    "JOBS_HOST_PORTS",
    "30000-30999",
    lambda v: tuple(sorted(int(p) for p in v.split("-", 1))),
    "a port range like 30000-30999",
)
# Image prefixes every team may run, besides those site admins allow in the UI (the container
# policy); e.g. the simulated fleet's stand-in images "npufleet/".
JOBS_ALLOWED_IMAGE_PREFIXES = env.list("JOBS_ALLOWED_IMAGE_PREFIXES", [])
# The vLLM serving image "Serve a model" uses when the request names none (blank: the image of
# the team's newest recipe for the model, or of the same vLLM version).
JOBS_SERVE_IMAGE = env.str("JOBS_SERVE_IMAGE", "")
CELERY_TASK_ROUTES = {"jobs.tasks.follow_deployment": {"queue": JOBS_LOG_QUEUE}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # A refused request (403 and other 4xx) is one line naming the reason, not a traceback.
    "filters": {"client_error_one_line": {"()": "config.log_filters.ClientErrorOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", "INFO")},
    "loggers": {
        "paramiko": {"level": "WARNING"},
        "django.request": {"filters": ["client_error_one_line"]},
    },
}
