"""Masthead settings: one module, configured from the environment.

Defaults give the embedded mode (SQLite, local media, database task queue,
file cache, console email, Stripe test mode). Setting DATABASE_URL, REDIS_URL,
MEDIA_STORAGE=s3 and STRIPE_* switches to the scale-out pieces without code
changes.
"""

import os
import secrets
import sys
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("MASTHEAD_VAR_DIR", BASE_DIR / "var"))

TESTING = os.environ.get("MASTHEAD_TESTING") == "1" or "pytest" in sys.modules
# The publisher's theme, as Ghost themes: a template in THEME_DIR/templates
# replaces the bundled one of the same path, a file in THEME_DIR/static the
# static file of the same path. Outside the code, so an upgrade keeps it.
THEME_DIR = Path(os.environ.get("THEME_DIR", VAR_DIR / "theme"))


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _embedded_secret_key():
    """A random key kept in var/ so the embedded mode needs no configuration."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY") or (
    "insecure-test-key-" + "x" * 40 if TESTING else _embedded_secret_key()
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Proxies whose X-Forwarded-For names the client (rate limits count per client).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
# Addresses or networks (a monitor's) that /health/ answers with the report of
# each check; the public gets the status alone.
HEALTH_DETAIL_ADDRESSES = env_list("HEALTH_DETAIL_ADDRESSES")
# The public address of the site, used in emails, feeds and Stripe redirects.
# Without one, the address `make run` serves on (HOST and PORT), so links in
# emails work on another port too.
_SERVED_HOST = os.environ.get("HOST", "127.0.0.1")
if _SERVED_HOST in ("", "0.0.0.0", "::"):
    _SERVED_HOST = "127.0.0.1"  # every interface: this machine's own address
elif ":" in _SERVED_HOST:
    _SERVED_HOST = f"[{_SERVED_HOST}]"
SITE_URL = (
    os.environ.get("SITE_URL") or f"http://{_SERVED_HOST}:{os.environ.get('PORT', '8000')}"
).rstrip("/")

# Behind TLS (production): secure cookies, HSTS, HTTPS redirects.
HTTPS = env_bool("HTTPS", False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Wagtail's live preview shows pages in a same-origin frame.
X_FRAME_OPTIONS = "SAMEORIGIN"
SILENCED_SYSTEM_CHECKS = ["security.W019"]

INSTALLED_APPS = [
    "masthead.core",
    "masthead.accounts",
    "masthead.newsroom",
    "masthead.issues",
    "masthead.access",
    "masthead.serving",
    "masthead.billing",
    "masthead.audio",
    "masthead.editions",
    "masthead.printing",
    "masthead.mailings",
    "masthead.ads",
    "masthead.api",
    "masthead.exports",
    "masthead.backups",
    "masthead.demo",
    "masthead.imports",
    "masthead.insights",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.contrib.routable_page",
    "wagtail.contrib.sitemaps",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_tasks",
    "django_tasks_db",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.contrib.humanize",
]

MIDDLEWARE = [
    "masthead.core.middleware.SecurityHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Inside WhiteNoise, whose static files are public; outside everything that
    # decides a response's caching, so it has the last word.
    # Below WhiteNoise, whose static files are compressed ahead of time.
    "masthead.serving.compression.CompressionMiddleware",
    "masthead.serving.middleware.SharedPagesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    "masthead.serving.middleware.ReaderCacheHeadersMiddleware",
]

ROOT_URLCONF = "masthead.urls"
WSGI_APPLICATION = "masthead.wsgi.application"
# Seconds an anonymous page may be served from the shared page cache; 0 turns
# the cache off.
PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", "300"))
# Documents (HTML, feeds, JSON) are sent gzip-compressed to the browsers that
# accept it; 0 sends them as they are (bench/article_page.py compares both).
COMPRESS_DOCUMENTS = os.environ.get("COMPRESS_DOCUMENTS", "1") != "0"

# Serving's timings (masthead/serving), in seconds.
# How long a process trusts its own copy of the publish generation, of a
# session, a signed-in member and their entitlement: a change made in another
# process reaches this one within this time (tests use 0: they change state
# under the cache).
SERVING_PER_PROCESS_SECONDS = float(
    os.environ.get("SERVING_PER_PROCESS_SECONDS", "0" if TESTING else "0.5")
)
# After a publish, how long the page from before it may answer readers while
# one request renders the new one (it must outlast a process noticing the
# publish late, plus one rendering under load).
PUBLISH_GRACE_SECONDS = float(os.environ.get("PUBLISH_GRACE_SECONDS", "2"))
# How long a rendered article variant is cached (less when an ad on it starts
# or ends sooner).
ARTICLE_VARIANT_SECONDS = int(os.environ.get("ARTICLE_VARIANT_SECONDS", "300"))
# How long shared caches (the page cache, a proxy) may keep an anonymous page.
SHARED_PAGE_MAX_AGE = int(os.environ.get("SHARED_PAGE_MAX_AGE", "300"))
# How long a process trusts its answer to "may this member use the admin?".
EDITOR_CHECK_SECONDS = float(os.environ.get("EDITOR_CHECK_SECONDS", "60"))
# How long a signed-in member's details and their entitlement are cached for
# serving article pages; every change to either makes them stale at once
# (serving/invalidation.py), so this only bounds how long a missed one lasts.
CACHED_MEMBER_SECONDS = int(os.environ.get("CACHED_MEMBER_SECONDS", "30"))
CACHED_ENTITLEMENT_SECONDS = int(os.environ.get("CACHED_ENTITLEMENT_SECONDS", "30"))
# For the last this many seconds of a cached member's or entitlement's life,
# the first request to find it reads it again while the others go on using
# it, so a busy member's requests never all find it gone at once.
REFRESH_AHEAD_SECONDS = float(os.environ.get("REFRESH_AHEAD_SECONDS", "10"))
# How long a request's claim on reading an entry again, or on rendering a page
# anew after a publish, stands if the request never ends it (it crashed).
REFRESH_CLAIM_SECONDS = float(os.environ.get("REFRESH_CLAIM_SECONDS", "2"))
# How long a request waits for another one rendering the same page before it
# renders the page itself.
SINGLE_FLIGHT_WAIT_SECONDS = float(os.environ.get("SINGLE_FLIGHT_WAIT_SECONDS", "10"))
# How often a request waiting on another process's rendering looks for it.
SINGLE_FLIGHT_POLL_SECONDS = float(os.environ.get("SINGLE_FLIGHT_POLL_SECONDS", "0.005"))
# How long a process takes a key it found claimed by another process as still
# claimed without asking the shared cache again (a round trip per request
# otherwise, while the page from before a publish answers).
CLAIM_RECHECK_SECONDS = float(os.environ.get("CLAIM_RECHECK_SECONDS", "0.02"))

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [THEME_DIR / "templates", BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
                "masthead.issues.context_processors.site_navigation",
                "masthead.billing.context_processors.billing",
            ],
        },
    },
]

# Database: SQLite in var/ unless DATABASE_URL says otherwise.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'masthead.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the task worker writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0 if TESTING else 600
elif os.environ.get("DB_POOL"):
    # PostgreSQL: a persistent connection per thread (above) by default, or
    # with DB_POOL=min:max a psycopg pool per process. The pool opens on first
    # use, in each web worker process; the RQ worker closes it before each fork.
    _pool_min, _, _pool_max = os.environ["DB_POOL"].partition(":")
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django's pool replaces persistence
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(_pool_min),
        "max_size": int(_pool_max or _pool_min),
        "timeout": int(os.environ.get("DB_POOL_TIMEOUT", "10")),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: Redis when REDIS_URL is set, else a file cache every process shares.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "masthead"),
            # A stalled Redis fails a request in seconds instead of hanging it.
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "masthead.core.filecache.FileCache",
            "LOCATION": os.environ.get("CACHE_DIR", str(VAR_DIR / "cache")),
            # A page, an article's variants and its route take an entry each:
            # room for every article of a large archive read in one cache's
            # lifetime.
            "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("CACHE_MAX_ENTRIES", "100000"))},
        }
    }

# Background tasks: database queue by default, RQ on Redis when configured.
# Tests run tasks inline unless a test picks a real backend.
TASKS_BACKEND = os.environ.get(
    "TASKS_BACKEND", "immediate" if TESTING else ("rq" if REDIS_URL else "database")
)
_TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "rq": "django_tasks_rq.RQBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
# Queues besides "default" (TASK_QUEUES=audio,editions), for workers that
# take only some of the work.
TASK_QUEUES = ["default", *(q for q in env_list("TASK_QUEUES") if q != "default")]
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[TASKS_BACKEND], "QUEUES": TASK_QUEUES}}
if REDIS_URL or TASKS_BACKEND == "rq":
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    RQ_QUEUES = {
        name: {
            "URL": REDIS_URL or "redis://127.0.0.1:6379/0",
            # Narration and edition builds take minutes; RQ's default is 180 s.
            "DEFAULT_TIMEOUT": int(os.environ.get("TASK_TIMEOUT", "3600")),
        }
        for name in TASK_QUEUES
    }
    # `manage.py rqworker default --with-scheduler` then runs django-tasks jobs
    # with heartbeats that let a dead worker's job be put back in the queue.
    RQ = {"JOB_CLASS": "django_tasks_rq.Job", "WORKER_CLASS": "masthead.core.taskqueue.RQWorker"}
# A worker reports that it is alive every TASK_WORKER_HEARTBEAT seconds; one
# not heard of for TASK_WORKER_TIMEOUT seconds is dead, and the task it was
# running goes back in the queue (see masthead.core.taskqueue).
TASK_WORKER_HEARTBEAT = int(os.environ.get("TASK_WORKER_HEARTBEAT", "10"))
TASK_WORKER_TIMEOUT = int(os.environ.get("TASK_WORKER_TIMEOUT", "60"))

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "accounts:sign_in"
LOGIN_REDIRECT_URL = "/"
SESSION_ENGINE = os.environ.get("SESSION_ENGINE", "django.contrib.sessions.backends.cached_db")

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
# The publisher's time zone: where the dashboard's days, weeks and months
# begin. The server's own TIME_ZONE when not set.
PUBLISHER_TIME_ZONE = os.environ.get("PUBLISHER_TIME_ZONE", TIME_ZONE)
# Counting reads, paywall views and listens for the dashboard; off, the
# article page does no counting work at all.
INSIGHTS_COUNTING = os.environ.get("INSIGHTS_COUNTING", "1").lower() not in ("0", "false", "no")
# Counts of reads and listens are kept per process and written by a
# background thread every INSIGHTS_FLUSH_SECONDS, sooner once
# INSIGHTS_FLUSH_COUNTS have gathered. The tests have no thread (0): they
# write the counts when they mean to.
INSIGHTS_FLUSH_COUNTS = int(os.environ.get("INSIGHTS_FLUSH_COUNTS", "100000"))
INSIGHTS_FLUSH_SECONDS = float(os.environ.get("INSIGHTS_FLUSH_SECONDS", "0" if TESTING else "10"))
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
# The theme's folder only once it exists (a missing one is a system-check warning).
STATICFILES_DIRS = [
    *([THEME_DIR / "static"] if (THEME_DIR / "static").is_dir() else []),
    BASE_DIR / "static",
]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# Private files (audio, editions) are never under MEDIA_URL: a view that asks
# the access rule serves them.
PRIVATE_MEDIA_ROOT = Path(os.environ.get("PRIVATE_MEDIA_ROOT", VAR_DIR / "private"))

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_MEDIA_ROOT), "base_url": None},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if TESTING or DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
if os.environ.get("MEDIA_STORAGE") == "s3":
    # The usual django-storages settings; credentials come from the standard
    # AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the instance's role).
    _s3 = {
        "bucket_name": os.environ.get("AWS_STORAGE_BUCKET_NAME", "masthead"),
        "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
        "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
        "addressing_style": os.environ.get("AWS_S3_ADDRESSING_STYLE") or None,
        "signature_version": os.environ.get("AWS_S3_SIGNATURE_VERSION", "s3v4"),
        "file_overwrite": False,
    }
    # Public uploads (images and their renditions) under media/, readable by
    # anyone (a bucket policy or a CDN in front: AWS_S3_CUSTOM_DOMAIN), with
    # plain URLs so cached pages stay valid.
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **_s3,
            "location": os.environ.get("AWS_MEDIA_LOCATION", "media"),
            "querystring_auth": False,
            "custom_domain": os.environ.get("AWS_S3_CUSTOM_DOMAIN") or None,
            "default_acl": None,
        },
    }
    # Gated files (audio, editions) under private/, or in a bucket of their
    # own: never public; the access-checking views hand out URLs signed for
    # five minutes (masthead.core.storage.serve_private_file).
    STORAGES["private"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **_s3,
            "bucket_name": os.environ.get("AWS_PRIVATE_BUCKET_NAME") or _s3["bucket_name"],
            "location": os.environ.get("AWS_PRIVATE_LOCATION", "private"),
            "querystring_auth": True,
            "querystring_expire": 300,
            "default_acl": None,  # the bucket's policy, not object ACLs, keeps it closed
            "custom_domain": None,
        },
    }

# Backups (manage.py backup, the admin's Backups page): archives go to
# BACKUP_DIR, outside MEDIA_ROOT so that nothing serves them; the newest
# BACKUP_KEEP are kept (0 keeps all); BACKUP_NIGHTLY has the scheduler make
# one a day.
BACKUP_DIR = Path(os.environ.get("BACKUP_DIR", VAR_DIR / "backups"))
BACKUP_KEEP = int(os.environ.get("BACKUP_KEEP", "7"))
BACKUP_NIGHTLY = env_bool("BACKUP_NIGHTLY", False)

# Imports fetch an old site's pictures from their addresses, but only from
# public ones: an export may name this machine's services or its network's.
# On for an old site on the same network (an intranet WordPress).
IMPORT_FETCH_PRIVATE_ADDRESSES = env_bool("IMPORT_FETCH_PRIVATE_ADDRESSES", False)

SERVE_MEDIA = env_bool("SERVE_MEDIA", os.environ.get("MEDIA_STORAGE") != "s3")

# Email: EMAIL_URL picks the backend (console by default; smtp://, file://).
EMAIL_URL = os.environ.get("EMAIL_URL", "console:")
if EMAIL_URL.startswith("smtp"):
    from urllib.parse import unquote, urlsplit

    _mail = urlsplit(EMAIL_URL)
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _mail.hostname or "localhost"
    EMAIL_PORT = _mail.port or 25
    EMAIL_HOST_USER = unquote(_mail.username or "")
    EMAIL_HOST_PASSWORD = unquote(_mail.password or "")
    EMAIL_USE_TLS = EMAIL_URL.startswith("smtp+tls")
    EMAIL_USE_SSL = EMAIL_URL.startswith("smtps")
elif EMAIL_URL.startswith("file:"):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = EMAIL_URL.removeprefix("file://") or str(VAR_DIR / "mail")
elif EMAIL_URL.startswith("anymail:"):
    EMAIL_BACKEND = EMAIL_URL.removeprefix("anymail:")
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# The address transactional mail comes from, unless the magazine's settings
# in the admin name another; the sender's name is the magazine's own.
_SITE_HOST = (urlsplit(SITE_URL).hostname or "localhost").removeprefix("www.")
_SITE_HOST_IS_DOMAIN = "." in _SITE_HOST and not _SITE_HOST.replace(".", "").isdigit()
DEFAULT_FROM_EMAIL = os.environ.get(
    "DEFAULT_FROM_EMAIL", f"editors@{_SITE_HOST if _SITE_HOST_IS_DOMAIN else 'localhost'}"
)

# Newsletters (bulk mail) go from their own sender and, when set, their own
# server: NEWSLETTER_EMAIL_URL takes the same forms as EMAIL_URL and defaults
# to it. Transactional mail (sign-in links, receipts) keeps EMAIL_URL and
# DEFAULT_FROM_EMAIL, and newsletter choices never stop it.
NEWSLETTER_EMAIL_URL = os.environ.get("NEWSLETTER_EMAIL_URL", EMAIL_URL)
NEWSLETTER_FROM_EMAIL = os.environ.get(
    "NEWSLETTER_FROM_EMAIL", "Masthead newsletters <newsletters@localhost>"
)
# Where the one-click mailto unsubscribe goes (List-Unsubscribe's mailto).
NEWSLETTER_UNSUBSCRIBE_MAILTO = os.environ.get("NEWSLETTER_UNSUBSCRIBE_MAILTO", "")
# Messages per second each worker hands to the server (0: as fast as it
# takes them), and how many recipients one task sends over one connection.
NEWSLETTER_SEND_RATE = float(os.environ.get("NEWSLETTER_SEND_RATE", "0"))
NEWSLETTER_BATCH_SIZE = int(os.environ.get("NEWSLETTER_BATCH_SIZE", "500"))
# The magazine's postal address, printed in every newsletter's footer (the
# bulk-sender rules and anti-spam laws ask for one).
MAGAZINE_POSTAL_ADDRESS = os.environ.get("MAGAZINE_POSTAL_ADDRESS", "")
# The sender id in Feedback-ID (Gmail's postmaster tools group by it).
NEWSLETTER_FEEDBACK_SENDER = os.environ.get("NEWSLETTER_FEEDBACK_SENDER", "masthead")
# DKIM: with a private key (PEM text or a file) every newsletter is signed
# as DKIM_DOMAIN with DKIM_SELECTOR; see the README's deploy section.
DKIM_DOMAIN = os.environ.get("DKIM_DOMAIN", "")
DKIM_SELECTOR = os.environ.get("DKIM_SELECTOR", "masthead")
DKIM_PRIVATE_KEY = os.environ.get("DKIM_PRIVATE_KEY", "")
DKIM_PRIVATE_KEY_FILE = os.environ.get("DKIM_PRIVATE_KEY_FILE", "")
# django-anymail's settings, each from an ANYMAIL_<NAME> variable: the
# provider's key (ANYMAIL_POSTMARK_SERVER_TOKEN, ANYMAIL_MAILGUN_API_KEY, ...)
# for EMAIL_URL=anymail:<backend>, and ANYMAIL_WEBHOOK_SECRET, the
# "user:password" the bounce and complaint webhooks answer only to.
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in os.environ.items()
    if name.startswith("ANYMAIL_") and value
}

# Stripe: without a secret key the site runs in test mode (local checkout).
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")

# Audio narration engine: "piper" (default) or "espeak".
NARRATION_ENGINE = os.environ.get("NARRATION_ENGINE", "piper")
# Publishing enqueues narration; tests turn it on where they synthesise.
NARRATE_ON_PUBLISH = env_bool("NARRATE_ON_PUBLISH", not TESTING)

WAGTAIL_SITE_NAME = os.environ.get("WAGTAIL_SITE_NAME", "Masthead")
# No avatars from an outside service: the admin draws its own placeholder.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAILADMIN_BASE_URL = SITE_URL
# Readers' passwords get a wrong password's answer at the admin's sign-in.
WAGTAILADMIN_USER_LOGIN_FORM = "masthead.accounts.forms.StaffSignInForm"
WAGTAILIMAGES_IMAGE_MODEL = "newsroom.CreditedImage"
WAGTAILSEARCH_BACKENDS = {
    "default": {"BACKEND": "wagtail.search.backends.database"},
}
WAGTAIL_ENABLE_UPDATE_CHECK = False
WAGTAILDOCS_DOCUMENT_MODEL = "newsroom.MagazineDocument"
WAGTAILDOCS_SERVE_METHOD = "serve_view"
WAGTAILEMBEDS_FINDERS: list[dict[str, str]] = []  # no oEmbed calls out; editors paste links instead

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
