"""Coalition settings: one module, configured by environment variables.

Every variable is listed in `.env.example`. Defaults are safe for production
(DEBUG off, no default secret); `make run` writes a development `.env`.
"""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# `make run` writes a development .env; ENV_FILE="" (as `make test` sets) skips it.
ENV_FILE = env.str("ENV_FILE", default=str(BASE_DIR / ".env"))
if ENV_FILE:
    environ.Env.read_env(ENV_FILE, overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")
SITE_NAME = env.str("SITE_NAME", default="Coalition")
SITE_ID = 1

INSTALLED_APPS = [
    "coalition.apps.SiteAdminConfig",  # django.contrib.admin, logging in via allauth
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.forms",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "coalition",
    "coalition.outbox",
    "letters",
    "signers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "coalition.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "coalition.security.SecretUrlMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

FORM_RENDERER = "coalition.forms.SiteFormRenderer"
ROOT_URLCONF = "coalition.urls"
WSGI_APPLICATION = "coalition.wsgi.application"

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
                "coalition.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
# SQLite when DATABASE_URL is unset (the zero-setup default of `make run`).
DATABASES = {
    "default": env.db(
        "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'coalition.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A new connection per request costs 3-5x throughput; keep them open.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # Writers (web, worker threads, beat) take the write lock when they begin, so
    # they wait for each other instead of failing with "database is locked" when
    # a reading transaction turns into a writing one.
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    # A file, not memory, so a worker process in a test can see the test data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------
# allauth's and the site's rate limits need a cache that all processes share.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "coalition.cache.SiteRedisCache",
            "LOCATION": env.str("CACHE_URL", default=REDIS_URL),
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="coalition"),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Accounts (django-allauth) --------------------------------------------
AUTH_USER_MODEL = "coalition.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
# Where a login without a `next` lands: a team invitation waiting for the
# address, else the organiser's letters.
LOGIN_REDIRECT_URL = "letters:after-login"
ACCOUNT_ADAPTER = "coalition.adapter.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 3
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https") else "http"
# Failed logins lock one account from one address (the adapter adds the client
# address to the key), so a stranger's guesses never lock the owner out; an
# address that fails against many accounts is stopped by the per-address limit.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "20/5m/ip,5/5m/key",
    "signup": "20/h/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/5m/key",
    "change_password": "5/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME

# --- Client address behind proxies ----------------------------------------------
# Every rate limit (allauth's and the site's) keys on the client address from
# coalition.network.client_ip. With 0 trusted proxies that is REMOTE_ADDR and
# X-Forwarded-For is ignored; with N, the Nth address from the right of
# X-Forwarded-For (each trusted proxy appends the address it saw; anything further
# left was written by the client and is not believed). Or name a header that the
# one trusted proxy sets to the client address (X-Real-IP): then only that is read.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = (
    env.str("TRUSTED_CLIENT_IP_HEADER", default="") or None
)

# --- Email ------------------------------------------------------------------
# Without EMAIL_URL: in development (DEBUG) each message is kept in DEV_EMAIL_DIR
# and shown at /dev/emails/, with one line per message on the terminal; with
# DEBUG off, email is printed on the terminal.
DEV_EMAIL_DIR = env.path("DEV_EMAIL_DIR", default=VAR_DIR / "mail")
if DEBUG and not env.str("EMAIL_URL", default=""):
    EMAIL_BACKEND = "coalition.devmail.DevMailBackend"
else:
    EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
    vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="coalition@localhost")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
ADMINS = [("Admin", a) for a in env.list("ADMINS", default=[])]

# --- Celery -------------------------------------------------------------------
# Without REDIS_URL, kombu's filesystem transport works across processes on one
# machine, so `make run` needs no broker installed.
# (A host name, though the transport needs none, saves a warning in every process.)
CELERY_BROKER_URL = env.str(
    "CELERY_BROKER_URL", default=REDIS_URL or "filesystem://localhost/"
)
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    # kombu expects the folders to exist; every process (web, worker, beat) that
    # may be started first makes sure they do.
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        # Its exchange tables, which would otherwise land in ./control/.
        "control_folder": str(_broker_dir / "control"),
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
else:
    # Longer than any task's time limit, so a running task is never redelivered.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker process that holds more than this (KiB) after a task is replaced by a
# fresh one: a long PDF leaves the heap large. Renders are kept well below it.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env.int(
    "CELERY_WORKER_MAX_MEMORY_PER_CHILD", default=400_000
)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "beat-heartbeat": {
        "task": "coalition.tasks.beat_heartbeat_task",
        "schedule": 60.0,
    },
    # Sends what is due in the outbox, a batch per task (enqueuing also kicks it).
    "outbox-dispatch": {
        "task": "coalition.outbox.tasks.outbox_dispatch_task",
        "schedule": 60.0,
    },
    # Letters with a release date are published by this, exactly once.
    "letters-publish-due": {
        "task": "letters.tasks.letters_publish_due_task",
        "schedule": 60.0,
    },
    # Puts the reminders, digests and call reminders that are due in the outbox.
    "signers-plan-reminders": {
        "task": "signers.tasks.outreach_plan_due_task",
        "schedule": 60.0,
    },
    # Unconfirmed sign-ups past SIGNERS_PENDING_EXPIRY_HOURS stop being pending
    # (signing also checks, so this only keeps the organisers' list true).
    "signers-expire-pending": {
        "task": "signers.tasks.signatures_expire_pending_task",
        "schedule": 300.0,
    },
    # Agreement files whose change rolled back after the file was stored.
    "signers-sweep-agreement-files": {
        "task": "signers.tasks.agreement_files_sweep_task",
        "schedule": 3600.0,
    },
    # Signer imports left "running" by a worker that died, or never taken.
    "signers-sweep-import-jobs": {
        "task": "signers.tasks.import_jobs_sweep_task",
        "schedule": 600.0,
    },
}

# --- The outbox (every email) ------------------------------------------------------
# Messages one dispatch claims and sends over one SMTP connection.
OUTBOX_BATCH_SIZE = env.int("OUTBOX_BATCH_SIZE", default=100)
# Attempts before a message is failed (an organiser can retry it); between them
# OUTBOX_RETRY_BACKOFF seconds, doubled each time, at most OUTBOX_RETRY_BACKOFF_MAX.
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=9)
OUTBOX_RETRY_BACKOFF = env.int("OUTBOX_RETRY_BACKOFF", default=5)
OUTBOX_RETRY_BACKOFF_MAX = env.int("OUTBOX_RETRY_BACKOFF_MAX", default=600)
# A claim older than this is taken back: its dispatcher died mid-send. Longer than
# a batch can take, so a live dispatcher never loses its claim.
OUTBOX_CLAIM_TIMEOUT = env.int("OUTBOX_CLAIM_TIMEOUT", default=600)

# --- Coalition communications ----------------------------------------------------
# Updates an organising team may send per letter in any seven days.
SIGNERS_UPDATES_PER_WEEK = env.int("SIGNERS_UPDATES_PER_WEEK", default=3)

# --- Signing -------------------------------------------------------------------
# The public join form: submissions per hashed IP address and per email address
# in SIGNERS_JOIN_LIMIT_PERIOD seconds, counted in the shared cache.
SIGNERS_JOIN_LIMIT_PER_IP = env.int("SIGNERS_JOIN_LIMIT_PER_IP", default=10)
SIGNERS_JOIN_LIMIT_PER_EMAIL = env.int("SIGNERS_JOIN_LIMIT_PER_EMAIL", default=3)
SIGNERS_JOIN_LIMIT_PERIOD = env.int("SIGNERS_JOIN_LIMIT_PERIOD", default=3600)
# An unconfirmed sign-up (email not proven) expires after this many hours, and
# never blocks a signer whose address is proven (an invitation, an import).
SIGNERS_PENDING_EXPIRY_HOURS = env.int("SIGNERS_PENDING_EXPIRY_HOURS", default=48)

# --- Exports ---------------------------------------------------------------------
# A letter's PDF is only ever served for its current signer list. When that one is
# not rendered yet, letters with at most this many signers render it in the
# request; larger ones answer "being prepared" while a worker renders it.
PDF_INLINE_MAX_SIGNERS = env.int("PDF_INLINE_MAX_SIGNERS", default=300)

# --- Imports (signer and prospect CSV files) -------------------------------------
# A larger upload is refused from its Content-Length before its body is read; a
# file is read row by row and refused at the first row past the limit.
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=2 * 1024 * 1024)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=5000)
# A signer import of more rows runs in a worker (its page shows the progress):
# about 40 ms a row on a busy machine, so 200 rows stay well inside the proxy's
# 60 s timeout when confirmed in the request.
SIGNERS_IMPORT_INLINE_MAX_ROWS = env.int("SIGNERS_IMPORT_INLINE_MAX_ROWS", default=200)
# Django's form data limit agrees with them: the prospect preview's confirm step
# (the file, compressed and signed in a form field) always fits.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(2_621_440, IMPORT_MAX_BYTES * 4 // 3 + 65_536)

# --- Partner directory --------------------------------------------------------------
# The largest agreement file (a signed PDF, a scan) in bytes. Stored through the
# default storage and served only to the coalition's members, as an attachment.
PARTNERS_AGREEMENT_MAX_BYTES = env.int(
    "PARTNERS_AGREEMENT_MAX_BYTES", default=5 * 1024 * 1024
)

# --- Signers' logos -------------------------------------------------------------------
# An organisation's logo: PNG or JPEG, decoded and re-encoded (signers.logos).
# Larger files, or images wider or taller than the side in pixels, are refused
# before they are decoded; what is kept is at most the width in pixels.
SIGNERS_LOGO_MAX_BYTES = env.int("SIGNERS_LOGO_MAX_BYTES", default=2 * 1024 * 1024)
SIGNERS_LOGO_MAX_SIDE = 4000
SIGNERS_LOGO_WIDTH = 600

# --- Internationalisation -------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

# --- Static files -----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security -----------------------------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True
)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
CSRF_FAILURE_VIEW = "coalition.views.csrf_failure"
SILENCED_SYSTEM_CHECKS: list[str] = []

# --- Logging --------------------------------------------------------------------------
# One line per event; LOG_FORMAT=json gives machine-readable lines for a log store.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "coalition.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # One line per page of every PDF rendered otherwise.
        "weasyprint.progress": {"level": "WARNING"},
        # runserver says so itself; the log record would say it a second time.
        "django.utils.autoreload": {"level": "WARNING"},
    },
}
