"""Django settings. Every deploy-specific value comes from the environment; see `.env.example`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext

# Lets `admin.ModelAdmin[Model]` and other generic classes be subscripted at run time.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent
VAR_DIR = Path(os.environ.get("ZHIWANG_VAR_DIR", PROJECT_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("ZHIWANG_DEBUG", False)
# The key of the embedded default and the demo when none is set; never a production key.
INSECURE_DEVELOPMENT_KEY = "zhiwang-insecure-development-key-change-me"
SECRET_KEY = os.environ.get("ZHIWANG_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("ZHIWANG_REQUIRE_SECRET_KEY", False):
        raise RuntimeError("ZHIWANG_SECRET_KEY must be set in production")
    # The embedded default and the demo run without configuration; production sets its own key.
    SECRET_KEY = INSECURE_DEVELOPMENT_KEY

ALLOWED_HOSTS = env_list("ZHIWANG_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("ZHIWANG_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "zhiwang.common",
    "zhiwang.audit",
    "zhiwang.accounts",
    "zhiwang.grids",
    "zhiwang.workcalendar",
    "zhiwang.taxonomy",
    "zhiwang.notifications",
    "zhiwang.cases",
    "zhiwang.registry",
    "zhiwang.open311",
    "zhiwang.hotline",
    "zhiwang.webhooks",
    "zhiwang.operations",
    "zhiwang.dashboard",
    "zhiwang.portal",
    "zhiwang.field",
    "zhiwang.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "zhiwang.accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "zhiwang.urls"
WSGI_APPLICATION = "zhiwang.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "zhiwang.dashboard.context_processors.dashboard",
            ],
        },
    },
]

# Database: one variable. A SQLite file under var/ (WAL mode) is the embedded default.
DEFAULT_SQLITE_PATH = VAR_DIR / "zhiwang.sqlite3"
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{DEFAULT_SQLITE_PATH}")
_database: dict[str, Any] = dict(dj_database_url.parse(DATABASE_URL, conn_max_age=60))
if _database["ENGINE"] == "django.db.backends.sqlite3":
    _database["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    _database["CONN_MAX_AGE"] = 0
    # A file, not memory: concurrency tests need real locking between connections. One per process,
    # so that test runs side by side do not share it.
    _database["TEST"] = {
        "NAME": os.environ.get("ZHIWANG_SQLITE_TEST_NAME") or str(VAR_DIR / f"test-{os.getpid()}.sqlite3")
    }
else:
    _database["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "grids:map"
LOGOUT_REDIRECT_URL = "accounts:login"

# Lockout after repeated failed logins.
ZHIWANG_LOGIN_MAX_FAILURES = int(os.environ.get("ZHIWANG_LOGIN_MAX_FAILURES", "5"))
ZHIWANG_LOGIN_LOCKOUT_MINUTES = int(os.environ.get("ZHIWANG_LOGIN_LOCKOUT_MINUTES", "15"))
# Cache (rate limits, simplified map geometry): per-process memory by default (the embedded default
# runs one process); production with several workers points ZHIWANG_CACHE_URL at Redis.
CACHE_URL = os.environ.get("ZHIWANG_CACHE_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
elif CACHE_URL:
    raise RuntimeError("ZHIWANG_CACHE_URL must be a redis:// address (or empty for per-process memory).")

# Resident portal: reports and tracking lookups allowed per client address and window; the least time a
# person takes to fill the report form; the request header carrying the client's address behind a proxy
# (e.g. HTTP_X_REAL_IP; empty: the connection's address).
ZHIWANG_PORTAL_REPORTS_PER_WINDOW = int(os.environ.get("ZHIWANG_PORTAL_REPORTS_PER_WINDOW", "5"))
ZHIWANG_PORTAL_LOOKUPS_PER_WINDOW = int(os.environ.get("ZHIWANG_PORTAL_LOOKUPS_PER_WINDOW", "20"))
ZHIWANG_PORTAL_WINDOW_SECONDS = int(os.environ.get("ZHIWANG_PORTAL_WINDOW_SECONDS", "600"))
ZHIWANG_PORTAL_MIN_FILL_SECONDS = int(os.environ.get("ZHIWANG_PORTAL_MIN_FILL_SECONDS", "3"))
ZHIWANG_PORTAL_CLIENT_IP_HEADER = os.environ.get("ZHIWANG_PORTAL_CLIENT_IP_HEADER", "")

# Open311 GeoReport v2 (/open311/v2/): the jurisdiction id clients send, the contact shown in
# discovery, posts allowed per client application per minute (unless the application sets its own),
# and how long an identical post from the same application returns the first request.
ZHIWANG_OPEN311_JURISDICTION_ID = os.environ.get("ZHIWANG_OPEN311_JURISDICTION_ID", "zhiwang")
ZHIWANG_OPEN311_CONTACT = os.environ.get("ZHIWANG_OPEN311_CONTACT", "")
ZHIWANG_OPEN311_POSTS_PER_MINUTE = int(os.environ.get("ZHIWANG_OPEN311_POSTS_PER_MINUTE", "30"))
ZHIWANG_OPEN311_IDEMPOTENCY_SECONDS = int(os.environ.get("ZHIWANG_OPEN311_IDEMPOTENCY_SECONDS", "600"))

# Personal data at rest (registry): encryption keys as "key_id:base64 of 32 bytes", comma-separated,
# the first one encrypting new values, the others still decrypting (key rotation); and the key of the
# keyed hash that makes encrypted ID and phone numbers searchable by exact match. Both are derived
# from ZHIWANG_SECRET_KEY when unset (development and the demo only).
ZHIWANG_DATA_KEYS = env_list("ZHIWANG_DATA_KEYS", "")
ZHIWANG_LOOKUP_KEY = os.environ.get("ZHIWANG_LOOKUP_KEY", "")

# Second factor (TOTP) for administrators and commanders.
ZHIWANG_TOTP_ISSUER = os.environ.get("ZHIWANG_TOTP_ISSUER", "zhiwang")
ZHIWANG_TOTP_REQUIRED = env_bool("ZHIWANG_TOTP_REQUIRED", True)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("ZHIWANG_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_AGE = int(os.environ.get("ZHIWANG_SESSION_SECONDS", str(12 * 3600)))

# Chinese first.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("ZHIWANG_STATIC_ROOT", VAR_DIR / "static"))
# Front-end libraries come from the npm registry (package.json) and are served as static files.
NODE_MODULES = Path(os.environ.get("ZHIWANG_NODE_MODULES", PROJECT_DIR / "node_modules"))
STATICFILES_DIRS = [
    (f"vendor/{name}", NODE_MODULES / path)
    for name, path in (
        ("leaflet", "leaflet/dist"),
        ("htmx", "htmx.org/dist"),
        ("echarts", "echarts/dist"),
        ("leaflet-heat", "leaflet.heat/dist"),
    )
    if (NODE_MODULES / path).is_dir()
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(os.environ.get("ZHIWANG_MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"

# Background work: django-tasks with its database backend (no broker); `zhiwang worker` runs it.
TASKS = {
    "default": {
        "BACKEND": os.environ.get("ZHIWANG_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default", "notifications", "escalation"],
    }
}

# Office hours on working days: comma-separated HH:MM-HH:MM periods, local time.
ZHIWANG_OFFICE_HOURS = os.environ.get("ZHIWANG_OFFICE_HOURS", "08:30-12:00,14:00-18:00")

# Cases: how long dispatchers have to dispatch a report (working hours), and the duplicate finder.
ZHIWANG_DISPATCH_LIMIT_WORKING_HOURS = float(os.environ.get("ZHIWANG_DISPATCH_LIMIT_WORKING_HOURS", "1"))
ZHIWANG_DUPLICATE_RADIUS_M = float(os.environ.get("ZHIWANG_DUPLICATE_RADIUS_M", "150"))
ZHIWANG_DUPLICATE_WINDOW_HOURS = float(os.environ.get("ZHIWANG_DUPLICATE_WINDOW_HOURS", "72"))

# Notifications: "inapp" is always on; "console" prints (the demo); "sms"/"wechat" need a gateway URL.
ZHIWANG_NOTIFY_CHANNELS = os.environ.get("ZHIWANG_NOTIFY_CHANNELS", "inapp,console")
ZHIWANG_SMS_GATEWAY_URL = os.environ.get("ZHIWANG_SMS_GATEWAY_URL", "")
ZHIWANG_SMS_GATEWAY_TOKEN = os.environ.get("ZHIWANG_SMS_GATEWAY_TOKEN", "")
ZHIWANG_WECHAT_GATEWAY_URL = os.environ.get("ZHIWANG_WECHAT_GATEWAY_URL", "")
ZHIWANG_WECHAT_GATEWAY_TOKEN = os.environ.get("ZHIWANG_WECHAT_GATEWAY_TOKEN", "")
ZHIWANG_NOTIFY_HTTP_TIMEOUT = float(os.environ.get("ZHIWANG_NOTIFY_HTTP_TIMEOUT", "10"))

# 12345 hotline exchange: where messages to the hotline go, the shared HMAC secret signing both ways
# (empty: the exchange refuses every request and holds its messages), the machine account acting for
# the hotline (`zhiwang hotline-account --city CODE` creates it), attempts before a message is dead.
ZHIWANG_HOTLINE_URL = os.environ.get("ZHIWANG_HOTLINE_URL", "")
ZHIWANG_HOTLINE_SECRET = os.environ.get("ZHIWANG_HOTLINE_SECRET", "")
ZHIWANG_HOTLINE_ACCOUNT = os.environ.get("ZHIWANG_HOTLINE_ACCOUNT", "hotline-12345")
ZHIWANG_HOTLINE_MAX_ATTEMPTS = int(os.environ.get("ZHIWANG_HOTLINE_MAX_ATTEMPTS", "12"))

# Webhooks to departments' systems: attempts before a delivery is dead (retries back off exponentially).
ZHIWANG_WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("ZHIWANG_WEBHOOK_MAX_ATTEMPTS", "8"))

# Map tiles: any XYZ source (Tianditu, OSM mirror, an internal tile server) or none at all.
ZHIWANG_TILE_URL = os.environ.get("ZHIWANG_TILE_URL", "")
ZHIWANG_TILE_ATTRIBUTION = os.environ.get("ZHIWANG_TILE_ATTRIBUTION", "")

DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("ZHIWANG_MAX_UPLOAD_BYTES", str(50 * 1024 * 1024)))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("ZHIWANG_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # One line per task enqueued and run is noise at INFO; failures still show.
        "django_tasks": {"level": "WARNING"},
    },
}
