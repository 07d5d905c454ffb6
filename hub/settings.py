"""Django settings, all read from the environment (see README: Settings)."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from compositing.archive.archives import ArchiveConfigError, load_archives
from hub.broker import TRANSPORT as BROKER_TRANSPORT
from hub.env import (
    broker_config,
    cache_config,
    database_config,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_path,
    env_proxy_ssl_header,
    env_rates,
    env_secret_key,
    env_str,
)
from hub.task_names import EXPIRE_PRODUCTS, REAP_REQUESTS

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_secret_key("SECRET_KEY", debug=DEBUG,
                            development_key="insecure-development-key-only-with-DEBUG-on")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
# Origins a form may be posted from besides the request's own host (a proxy that rewrites Host).
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# HTTPS (README: Production). With DEBUG off everything defaults to an HTTPS-only site;
# with DEBUG on (`make run`) to plain HTTP on http://127.0.0.1:8000.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
# Sent on HTTPS responses only. Subdomains and preloading reach beyond this host: the
# operator opts in.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Behind a TLS-terminating proxy: the header it sets on every request, e.g.
# "X-Forwarded-Proto: https". Unset by default: a client could forge it past a proxy that
# does not overwrite it.
SECURE_PROXY_SSL_HEADER = env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "hub.accounts",
    "hub.mosaics",
    "hub.stac",
    "hub.catalogue",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A body over DATA_UPLOAD_MAX_MEMORY_SIZE: the API's JSON 413, before anything reads it.
    "hub.errors.BodySizeLimit",
    # Static files (vendored Leaflet, CSS) from gunicorn too, not only from runserver.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "hub.urls"
WSGI_APPLICATION = "hub.wsgi.application"

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
                "hub.accounts.context_processors.verification",
            ],
        },
    },
]

# Local state of the embedded default (SQLite file, broker folder).
HUB_STATE_DIR = env_path("HUB_STATE_DIR", BASE_DIR / "var")
DATABASES = {"default": database_config(env_str("DATABASE_URL"), HUB_STATE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": env_int("HUB_MIN_PASSWORD_LENGTH", 10, minimum=8)}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/requests/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env_path("HUB_STATIC_ROOT", BASE_DIR / "var" / "staticfiles")
# Serve from the app folders when collectstatic has not run (make run, tests); production runs
# collectstatic (docker-compose.yml) and whitenoise serves STATIC_ROOT.
WHITENOISE_USE_FINDERS = True

# Where finished products are written and served from.
HUB_MEDIA_ROOT = env_path("HUB_MEDIA_ROOT", BASE_DIR / "var" / "media")
# The local L2A archive (demo scenes, ingested products) served by the hub's own STAC API.
HUB_ARCHIVE_DIR = env_path("HUB_ARCHIVE_DIR", BASE_DIR / "var" / "archive")
# The STAC API the workers search. Empty: the hub's own API over HUB_ARCHIVE_DIR, served on a
# loopback port inside the process that needs it, so a worker does not depend on the web process.
HUB_STAC_URL = env_str("HUB_STAC_URL")
HUB_STAC_COLLECTION = env_str("HUB_STAC_COLLECTION", "sentinel-2-l2a")
# The L2A archives searched, in priority order (a granule in several is read from the first):
# presets (local, earth-search, planetary-computer, cdse) or archives defined in the TOML file
# HUB_ARCHIVES_FILE (`compositing.archive.archives.load_archives`). `local` is the hub's own
# archive above (HUB_STAC_URL, HUB_STAC_COLLECTION).
try:
    HUB_ARCHIVES = load_archives(env_str("HUB_ARCHIVES", "local"),
                                 env_str("HUB_ARCHIVES_FILE") or None)
except ArchiveConfigError as exc:
    raise ImproperlyConfigured(str(exc)) from None
# Seconds the hub's STAC API serves one look at the archive's item files before the next: a new
# or changed item is served after at most this long (a look costs a stat per item).
HUB_ARCHIVE_RESCAN_S = env_float("HUB_ARCHIVE_RESCAN_S", 1.0, minimum=0.0)
# Memory per chunk ~ observations x bands x size^2 x 4 bytes: 512 keeps a year under ~1 GB.
HUB_CHUNK_SIZE = env_int("HUB_CHUNK_SIZE", 512, minimum=16)
HUB_MEDOID_MIN_OBS = env_int("HUB_MEDOID_MIN_OBS", 4, minimum=2)
HUB_MAX_AOI_KM2 = env_int("HUB_MAX_AOI_KM2", 1_000_000, minimum=1)
# Share of an AOI that scenes of the period must cover before the order form orders without
# asking (below it the preview names the likely mistake and the form asks to confirm).
HUB_MIN_COVERAGE = env_float("HUB_MIN_COVERAGE", 0.5, minimum=0.0)
# Vertices of an AOI, typed or uploaded: it is stored, shown on pages and read by every worker.
HUB_MAX_AOI_VERTICES = env_int("HUB_MAX_AOI_VERTICES", 20_000, minimum=5)
# Files in an uploaded zip (zipped Shapefile, KMZ): each costs time to index and read.
HUB_MAX_UPLOAD_MEMBERS = env_int("HUB_MAX_UPLOAD_MEMBERS", 200, minimum=1)
# Orders whose product would pass this estimated size are delivered as MGRS tiles (UTM), or
# refused before anything is queued (other CRSs).
HUB_MAX_PRODUCT_GB = env_int("HUB_MAX_PRODUCT_GB", 20, minimum=1)
HUB_PRODUCT_PREFIX = env_str("HUB_PRODUCT_PREFIX", "S2GM")
# Who answers for the products (INSPIRE responsible party and metadata point of contact).
HUB_CONTACT_NAME = env_str("HUB_CONTACT_NAME", "Mosaic Hub operator")
HUB_CONTACT_EMAIL = env_str("HUB_CONTACT_EMAIL", "mosaics@example.org")
HUB_ORGANISATION = env_str("HUB_ORGANISATION", "Mosaic Hub")
# The hub's public address, for the links in product metadata; when empty, the scheme and host
# each order was placed through.
HUB_PUBLIC_URL = env_str("HUB_PUBLIC_URL").rstrip("/")

# Mail (sign-up verification, password reset). Without EMAIL_HOST, the embedded default: each
# mail is a file in HUB_STATE_DIR/mail, so a hub without a mail server still works and the
# operator can read what would have been sent. Links in mails use the host of the request.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    # Django would find out at the first mail, in the middle of someone's sign-up.
    raise ImproperlyConfigured("EMAIL_USE_TLS (STARTTLS, port 587) and EMAIL_USE_SSL (TLS from "
                               "the start, port 465) exclude each other: set one")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(HUB_STATE_DIR / "mail")
EMAIL_PORT = env_int("EMAIL_PORT", 587 if EMAIL_USE_TLS else 465 if EMAIL_USE_SSL else 25,
                     minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
# Mail is sent while the person waits for the page: a mail server that does not answer must
# not hold a web worker for long (smtplib's own default is to wait forever).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or HUB_CONTACT_EMAIL
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Days a sign-up's verification link works (password-reset links: Django's 3 days).
HUB_VERIFICATION_DAYS = env_int("HUB_VERIFICATION_DAYS", 7, minimum=1)

# How long Redis waits for a task's acknowledgement before handing it to another worker.
HUB_VISIBILITY_TIMEOUT_S = env_int("HUB_VISIBILITY_TIMEOUT_S", 3600, minimum=10)
CELERY_BROKER_URL, CELERY_BROKER_TRANSPORT_OPTIONS = broker_config(
    env_str("CELERY_BROKER_URL"), HUB_STATE_DIR, HUB_VISIBILITY_TIMEOUT_S
)
# The embedded broker writes its messages whole before a worker can see them (hub.broker).
CELERY_BROKER_TRANSPORT = BROKER_TRANSPORT if CELERY_BROKER_URL == "filesystem://" else None
CELERY_TASK_DEFAULT_QUEUE = env_str("HUB_QUEUE", "mosaics")
# Chunk tasks of large requests; workers consume both queues in turn (hub.mosaics.fanout).
HUB_BULK_QUEUE = f"{CELERY_TASK_DEFAULT_QUEUE}.bulk"
CELERY_TASK_QUEUES = (Queue(CELERY_TASK_DEFAULT_QUEUE), Queue(HUB_BULK_QUEUE))
# A request's tasks that die with their process are redone: Redis and AMQP redeliver them
# (a pool process killed: at once; a whole worker killed: after the visibility timeout, which
# must exceed the longest task, a chunk or a delivery). Whatever a broker loses, the reaper
# finds after HUB_TASK_LEASE_S without a heartbeat and restarts, HUB_TASK_ATTEMPTS times at
# most.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
HUB_TASK_LEASE_S = env_int("HUB_TASK_LEASE_S", 300, minimum=5)
HUB_TASK_ATTEMPTS = env_int("HUB_TASK_ATTEMPTS", 3, minimum=1)
# Chunk tasks of one request on the broker at once: how many workers one request can keep
# busy, and how many chunks of it a newer request may wait for. Set it to the number of worker
# processes. Requests of more chunks than HUB_SMALL_ORDER_CHUNKS go to the bulk queue.
HUB_ORDER_TASKS = env_int("HUB_ORDER_TASKS", 2, minimum=1)
HUB_SMALL_ORDER_CHUNKS = env_int("HUB_SMALL_ORDER_CHUNKS", 16, minimum=1)
# Orders of at most this many chunks are composed by the task that planned them.
HUB_INLINE_CHUNKS = env_int("HUB_INLINE_CHUNKS", 2, minimum=0)
# Per person: orders queued or processing at once, and their output megapixels together (a
# 1,000,000 km2 order at 10 m is 10,000 megapixels).
HUB_MAX_ACTIVE_ORDERS = env_int("HUB_MAX_ACTIVE_ORDERS", 10, minimum=1)
HUB_MAX_QUEUED_MPX = env_int("HUB_MAX_QUEUED_MPX", 20_000, minimum=1)
# Rate limits (hub.throttle): overrides of its defaults, `action.key=rate,...` or `=off`; the
# header carrying the caller's address behind the operator's proxy (empty: the socket's peer).
HUB_RATE_LIMITS = env_rates("HUB_RATE_LIMITS")
HUB_CLIENT_IP_HEADER = env_str("HUB_CLIENT_IP_HEADER")
# A count the cache could not keep lets the request through, as a cache that does not answer does.
RATELIMIT_FAIL_OPEN = True
# The rate-limit counts, shared by every process: Redis (HUB_CACHE_URL, else the broker's).
CACHES = cache_config(env_str("HUB_CACHE_URL"), CELERY_BROKER_URL, CELERY_TASK_DEFAULT_QUEUE)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("HUB_TASK_TIME_LIMIT", 6 * 3600, minimum=60)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A prefork pool process warms up (services.warm_up, workers/celery.py) before it reports ready;
# Celery kills one that is not ready within 4 s by default, and compiling the kernels after
# their source changed takes half a minute on 2 cores.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = 300.0

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# Products are kept this long after publishing, then their files are removed (S2GM: 2 weeks).
HUB_RETENTION_DAYS = env_int("HUB_RETENTION_DAYS", 14, minimum=1)
# Celery beat runs the expiry this often (seconds); its schedule state lives with the hub's state.
HUB_EXPIRY_INTERVAL_S = env_int("HUB_EXPIRY_INTERVAL_S", 3600, minimum=60)
CELERY_BEAT_SCHEDULE = {
    "expire-products": {"task": EXPIRE_PRODUCTS, "schedule": HUB_EXPIRY_INTERVAL_S},
    # A lost request is found within a third of a lease after its lease ran out.
    "reap-requests": {"task": REAP_REQUESTS, "schedule": max(2.0, HUB_TASK_LEASE_S / 3)},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(HUB_STATE_DIR / "celerybeat-schedule")
