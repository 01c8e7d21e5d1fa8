"""Kopilka settings: one file, everything read from the environment, fail fast on bad values."""

import hashlib
import hmac
import os
import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
REPO_DIR = BASE_DIR.parent.parent
VAR_DIR = Path(os.environ.get("KOPILKA_VAR_DIR", REPO_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_positive_int(name: str, default: int) -> int:
    value = env_int(name, default)
    if value < 1:
        raise ImproperlyConfigured(f"{name} must be 1 or more, got {value}")
    return value


def env_header(name: str, default: str = "") -> str:
    """An HTTP header name (X-Forwarded-Proto) as its request.META key (HTTP_X_FORWARDED_PROTO);
    "" when unset or "off"."""
    raw = os.environ.get(name, default).strip()
    if raw.lower() in {"", "off", "none", "false"}:
        return ""
    if not re.fullmatch(r"[A-Za-z0-9]+(-[A-Za-z0-9]+)*", raw):
        raise ImproperlyConfigured(
            f"{name} must be a header name such as X-Forwarded-For, got {raw!r}"
        )
    return "HTTP_" + raw.upper().replace("-", "_")


# SQLite, the embedded default or a sqlite:/// URL: WAL lets readers work while one writer
# commits; IMMEDIATE takes the write lock at BEGIN so two writers queue instead of failing with
# "database is locked".
SQLITE = {
    "OPTIONS": {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
}


def database_from_url(url: str) -> dict[str, object]:
    """postgres://user:pass@host:port/name?sslmode=... or sqlite:///path (sqlite:///:memory: too)."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        name = unquote(parts.path[1:]) if parts.path.startswith("/") else unquote(parts.path)
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": name or ":memory:", **SQLITE}
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")) or "kopilka",
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            # libpq parameters from the URL (sslmode, ...); psycopg prepares a statement run
            # through core.sql.prepared_cursor after 5 runs on a connection (Django's own cursors
            # never prepare). DB_PREPARED_STATEMENTS=false for a pooler that can't keep them.
            "OPTIONS": {
                **dict(parse_qsl(parts.query)),
                "prepare_threshold": 5 if env_bool("DB_PREPARED_STATEMENTS", True) else None,
            },
            "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 600),
            "CONN_HEALTH_CHECKS": env_bool("DB_CONN_HEALTH_CHECKS", True),
        }
    raise ImproperlyConfigured(f"DATABASE_URL scheme {parts.scheme!r} is not supported")


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    # The embedded default keeps a generated key in var/ so sessions survive restarts; several
    # application servers must share one SECRET_KEY from the environment.
    key_file = VAR_DIR / "secret_key"
    if key_file.exists():
        SECRET_KEY = key_file.read_text().strip()
    else:
        import secrets

        SECRET_KEY = secrets.token_urlsafe(50)
        try:
            VAR_DIR.mkdir(parents=True, exist_ok=True)
            key_file.write_text(SECRET_KEY)
        except OSError:
            pass  # read-only checkout: a per-process key still works

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if h.strip()
]

TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Moscow")
try:
    ZoneInfo(TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError) as exc:
    raise ImproperlyConfigured(f"TIME_ZONE {TIME_ZONE!r} is not a known time zone") from exc
USE_TZ = True

LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "ru")
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
if LANGUAGE_CODE not in {code for code, _name in LANGUAGES}:
    raise ImproperlyConfigured(f"LANGUAGE_CODE must be one of ru, en; got {LANGUAGE_CODE!r}")
USE_I18N = True
LOCALE_PATHS = [BASE_DIR / "locale"]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "kopilka.sqlite3",
            **SQLITE,
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "kopilka.core.apps.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "ninja",  # Swagger UI and ReDoc from its own static files, not a CDN
    "axes",
    "csp",
    "kopilka.core",
    "kopilka.members",
    "kopilka.program",
    "kopilka.ledger",
    "kopilka.pos",
    "kopilka.rewards",
    "kopilka.messaging",
    "kopilka.campaigns",
    "kopilka.portal",
    "kopilka.staff",
    "kopilka.materials",
    "kopilka.analytics",
    "kopilka.backoffice",
    "kopilka.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "kopilka.core.csp.ContentSecurityPolicy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "kopilka.api.middleware.JsonApiErrors",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "kopilka.staff.middleware.StaffIdleTimeout",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # last: turns a login refused by axes into the lockout page
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kopilka.urls"
WSGI_APPLICATION = "kopilka.wsgi.application"

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
                "kopilka.staff.roles.back_office_nav",
            ]
        },
    }
]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Login throttling (django-axes) for every staff login (the admin's, which the back office uses):
# an account is locked after N wrong passwords, an IP after more (an office shares one), until
# the lockout time has passed since the last failure. Failures during a lockout start it again.
# Attempts are kept: AccessAttempt (counters), AccessFailureLog (each failure), AccessLog
# (each sign-in). Any login view must pass `request` to authenticate().
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
KOPILKA_LOGIN_FAILURES_PER_ACCOUNT = env_positive_int("KOPILKA_LOGIN_FAILURES_PER_ACCOUNT", 5)
KOPILKA_LOGIN_FAILURES_PER_IP = env_positive_int("KOPILKA_LOGIN_FAILURES_PER_IP", 50)
KOPILKA_LOGIN_LOCKOUT_MINUTES = env_positive_int("KOPILKA_LOGIN_LOCKOUT_MINUTES", 15)
# Behind a proxy every request comes from the proxy's address: name the header that carries the
# client's (X-Forwarded-For, X-Real-IP). Only when set: a client could send it itself otherwise.
KOPILKA_CLIENT_IP_META_KEY = env_header("KOPILKA_CLIENT_IP_HEADER")
# A staff login (admin, back office, cashier screen) ends after this many idle minutes.
KOPILKA_STAFF_IDLE_MINUTES = env_int("KOPILKA_STAFF_IDLE_MINUTES", 30)
AXES_HANDLER = "kopilka.core.login_throttle.AccountAndIpLimits"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = KOPILKA_LOGIN_FAILURES_PER_ACCOUNT
AXES_COOLOFF_TIME = timedelta(minutes=KOPILKA_LOGIN_LOCKOUT_MINUTES)
AXES_CLIENT_IP_CALLABLE = "kopilka.core.login_throttle.client_ip"
AXES_LOCKOUT_CALLABLE = "kopilka.core.login_throttle.lockout_response"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = False  # no start-up line in every command's output
# A successful sign-in would also clear its IP's failures: one owned account would reset the IP limit.
AXES_RESET_ON_SUCCESS = False

# Production behind HTTPS (KOPILKA_HTTPS=true): cookies only over HTTPS, HSTS, http -> https.
# TLS usually ends at a proxy (nginx, Caddy) that tells the scheme in X-Forwarded-Proto; the
# proxy must set that header itself, never pass on the client's.
KOPILKA_HTTPS = env_bool("KOPILKA_HTTPS", False)
SESSION_COOKIE_SECURE = KOPILKA_HTTPS
CSRF_COOKIE_SECURE = KOPILKA_HTTPS
SECURE_SSL_REDIRECT = env_bool("KOPILKA_SSL_REDIRECT", KOPILKA_HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # a load balancer's probe may speak plain HTTP
_proxy_ssl_header = env_header(
    "KOPILKA_PROXY_SSL_HEADER", "X-Forwarded-Proto" if KOPILKA_HTTPS else ""
)
SECURE_PROXY_SSL_HEADER = (_proxy_ssl_header, "https") if _proxy_ssl_header else None
SECURE_HSTS_SECONDS = env_int("KOPILKA_HSTS_SECONDS", 365 * 24 * 3600 if KOPILKA_HTTPS else 0)
if SECURE_HSTS_SECONDS < 0:
    raise ImproperlyConfigured(f"KOPILKA_HSTS_SECONDS must be 0 or more, got {SECURE_HSTS_SECONDS}")
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("KOPILKA_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("KOPILKA_HSTS_PRELOAD", False)
# Preloading (a promise to browsers' built-in HTTPS list, hard to take back) is the domain
# owner's decision, not a default: check --deploy is told so instead of warning about it.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# Content-Security-Policy on every response: scripts and everything else only from our own
# origin, no inline scripts; inline styles are allowed (the pages' <style> blocks, the SVG
# charts, Swagger UI and ReDoc set styles from their scripts).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "kopilka.core.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}


# The version of the consent text a member agrees to (152-FZ: which text, when, through what).
# Its documents are templates portal/consent/<version>/{personal_data,marketing}.html: a new text
# is a new directory, and the old ones stay, so a member can read what they agreed to.
KOPILKA_CONSENT_TEXT_VERSION = os.environ.get("KOPILKA_CONSENT_TEXT_VERSION", "2026-11")
# The card as an Apple Wallet pass, offered when all of these are set: the pass type id and team
# id from the Apple developer account, the pass type certificate and its key (PEM files), and
# Apple's WWDR intermediate certificate (PEM).
KOPILKA_WALLET = {
    "pass_type_id": os.environ.get("KOPILKA_WALLET_PASS_TYPE_ID", ""),
    "team_id": os.environ.get("KOPILKA_WALLET_TEAM_ID", ""),
    "certificate": os.environ.get("KOPILKA_WALLET_CERTIFICATE", ""),
    "key": os.environ.get("KOPILKA_WALLET_KEY", ""),
    "key_password": os.environ.get("KOPILKA_WALLET_KEY_PASSWORD", ""),
    "wwdr": os.environ.get("KOPILKA_WALLET_WWDR", ""),
    "organization": os.environ.get("KOPILKA_WALLET_ORGANIZATION", "Копилка"),
}
# The operator of the personal data (152-FZ art. 9 p. 4: named in the consent with its address).
KOPILKA_OPERATOR = {
    "name": os.environ.get("KOPILKA_OPERATOR_NAME", "ООО «Копилка» (демо)"),
    "address": os.environ.get("KOPILKA_OPERATOR_ADDRESS", "г. Москва, ул. Примерная, д. 1"),
    "email": os.environ.get("KOPILKA_OPERATOR_EMAIL", "privacy@kopilka.example"),
}
KOPILKA_RULES_CACHE_SECONDS = env_int("KOPILKA_RULES_CACHE_SECONDS", 5)

# Analytics: snapshots (Parquet files) live here; the gross margin prices the simple ROI.
KOPILKA_ANALYTICS_DIR = Path(os.environ.get("KOPILKA_ANALYTICS_DIR", VAR_DIR / "analytics"))
try:
    KOPILKA_GROSS_MARGIN = float(os.environ.get("KOPILKA_GROSS_MARGIN", "0.3"))
except ValueError as exc:
    raise ImproperlyConfigured("KOPILKA_GROSS_MARGIN must be a number such as 0.3") from exc
if not 0 < KOPILKA_GROSS_MARGIN <= 1:
    raise ImproperlyConfigured(
        f"KOPILKA_GROSS_MARGIN must be in (0, 1]; got {KOPILKA_GROSS_MARGIN}"
    )
# A dashboard older than this asks the background worker for a fresh snapshot.
KOPILKA_ANALYTICS_MAX_AGE_MINUTES = env_int("KOPILKA_ANALYTICS_MAX_AGE_MINUTES", 60)

# The nightly jobs `manage.py scheduler` runs, each once per business day at its local time:
# name -> ("HH:MM", the function called with day= and actor=).
KOPILKA_SCHEDULE = {
    "expire_points": ("00:05", "kopilka.ledger.jobs.expire"),
    "daily_jobs": ("00:10", "kopilka.members.jobs.daily_for_yesterday"),
}

# Messages to members (messaging/): channels, quiet hours, frequency caps.
KOPILKA_VAR_DIR = VAR_DIR
_SMS_BACKENDS = {
    "file": "kopilka.messaging.channels.sms_file.FileSms",
    "smsaero": "kopilka.messaging.channels.sms_http.SmsAero",
    "smsru": "kopilka.messaging.channels.sms_http.SmsRu",
}
KOPILKA_SMS_BACKEND = os.environ.get("KOPILKA_SMS_BACKEND", "file")
if KOPILKA_SMS_BACKEND not in _SMS_BACKENDS:
    raise ImproperlyConfigured(
        f"KOPILKA_SMS_BACKEND must be one of {sorted(_SMS_BACKENDS)}; got {KOPILKA_SMS_BACKEND!r}"
    )
KOPILKA_SMS_SENDER = os.environ.get("KOPILKA_SMS_SENDER", "")  # the approved sender name
KOPILKA_SMSAERO_URL = os.environ.get("KOPILKA_SMSAERO_URL", "https://gate.smsaero.ru/v2").rstrip(
    "/"
)
KOPILKA_SMSAERO_EMAIL = os.environ.get("KOPILKA_SMSAERO_EMAIL", "")
KOPILKA_SMSAERO_API_KEY = os.environ.get("KOPILKA_SMSAERO_API_KEY", "")
KOPILKA_SMSRU_URL = os.environ.get("KOPILKA_SMSRU_URL", "https://sms.ru").rstrip("/")
KOPILKA_SMSRU_API_ID = os.environ.get("KOPILKA_SMSRU_API_ID", "")
# In the providers' delivery-callback URLs: who knows it may report a status.
KOPILKA_CALLBACK_SECRET = (
    os.environ.get("KOPILKA_CALLBACK_SECRET")
    or hmac.new(SECRET_KEY.encode(), b"kopilka.messaging.callbacks", hashlib.sha256).hexdigest()[
        :32
    ]
)
# Telegram: the bot's token (from @BotFather) and user name (for the t.me deep link); without a
# token messages go to var/outbox/telegram.jsonl.
KOPILKA_TELEGRAM_TOKEN = os.environ.get("KOPILKA_TELEGRAM_TOKEN", "")
KOPILKA_TELEGRAM_BOT = os.environ.get("KOPILKA_TELEGRAM_BOT", "").lstrip("@")
KOPILKA_TELEGRAM_API_URL = os.environ.get(
    "KOPILKA_TELEGRAM_API_URL", "https://api.telegram.org"
).rstrip("/")
KOPILKA_CHANNELS = {
    "sms": _SMS_BACKENDS[KOPILKA_SMS_BACKEND],
    "email": "kopilka.messaging.channels.email.DjangoEmail",
    "telegram": "kopilka.messaging.channels.telegram.TelegramBot"
    if KOPILKA_TELEGRAM_TOKEN
    else "kopilka.messaging.channels.sms_file.FileTelegram",
}
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = Path(os.environ.get("EMAIL_FILE_PATH", VAR_DIR / "outbox" / "email"))
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Копилка <noreply@kopilka.local>")
KOPILKA_EMAIL_DOMAIN = os.environ.get("KOPILKA_EMAIL_DOMAIN", "kopilka.local")
# Where members reach us (links in messages: unsubscribe, the portal).
KOPILKA_PUBLIC_URL = os.environ.get("KOPILKA_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# Nothing but login codes is sent in these hours of the member's local time: it waits for their
# end. Empty: no quiet hours.
KOPILKA_QUIET_HOURS = os.environ.get("KOPILKA_QUIET_HOURS", "21:00-09:00")
# An SMS template longer than this many parts is refused when saved (each part is billed).
KOPILKA_SMS_MAX_PARTS = env_int("KOPILKA_SMS_MAX_PARTS", 3)
# Points that expire within this many days are "expiring" in messages ({expiring_points}).
KOPILKA_EXPIRY_WARNING_DAYS = env_int("KOPILKA_EXPIRY_WARNING_DAYS", 30)
KOPILKA_VOUCHER_WARNING_DAYS = env_int("KOPILKA_VOUCHER_WARNING_DAYS", 3)
# The member's page: login codes one IP address may ask in 15 minutes (a phone: 3).
KOPILKA_LOGIN_CODES_PER_IP = env_int("KOPILKA_LOGIN_CODES_PER_IP", 20)
# Points earned: one message per member for the day's purchases ("daily", by the daily job), one
# per purchase written in its transaction ("purchase"; the commit then takes the locked path), or
# none ("off").
KOPILKA_POINTS_EARNED_MESSAGE = os.environ.get("KOPILKA_POINTS_EARNED_MESSAGE", "daily")
if KOPILKA_POINTS_EARNED_MESSAGE not in {"daily", "purchase", "off"}:
    raise ImproperlyConfigured("KOPILKA_POINTS_EARNED_MESSAGE must be daily, purchase or off")
# The monthly benefits digest goes out on this day of the month (advertising: with consent).
KOPILKA_DIGEST_DAY = env_int("KOPILKA_DIGEST_DAY", 1)
# Advertising per member and channel: at most N messages in D days.
KOPILKA_FREQUENCY_CAPS = {
    "sms": (env_int("KOPILKA_CAP_SMS", 2), env_int("KOPILKA_CAP_SMS_DAYS", 7)),
    "email": (env_int("KOPILKA_CAP_EMAIL", 4), env_int("KOPILKA_CAP_EMAIL_DAYS", 30)),
    "telegram": (env_int("KOPILKA_CAP_TELEGRAM", 4), env_int("KOPILKA_CAP_TELEGRAM_DAYS", 30)),
}

# Background tasks: the database backend needs no broker (`manage.py db_worker` runs them).
TASKS = {
    "default": {
        "BACKEND": os.environ.get("KOPILKA_TASK_BACKEND", "django_tasks_db.DatabaseBackend")
    }
}

# The largest receipt a till may send, in roubles: a broken or hostile till cannot mint
# billions of points, and no amount reaches the database's 64-bit columns.
try:
    KOPILKA_MAX_RECEIPT_AMOUNT = int(
        Decimal(os.environ.get("KOPILKA_MAX_RECEIPT_AMOUNT", "1000000")) * 100
    )
except (InvalidOperation, ValueError, OverflowError) as exc:
    raise ImproperlyConfigured(
        "KOPILKA_MAX_RECEIPT_AMOUNT must be roubles, such as 1000000"
    ) from exc
if not 0 < KOPILKA_MAX_RECEIPT_AMOUNT <= 10**15:
    raise ImproperlyConfigured(
        "KOPILKA_MAX_RECEIPT_AMOUNT must be more than 0 and at most 10 000 000 000 000 roubles"
    )
