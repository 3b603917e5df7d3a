"""Settings. Every value can be overridden by an environment variable named LECTERN_<NAME>.

`LECTERN_ENV` picks the class: development (default), production or testing.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"
DEFAULT_SECRET_KEY = "dev-only-not-secret"
SUPPORTED_LOCALES = ("en", "sv", "fr", "sl", "ro", "ru")


def _env(name, default):
    """Read LECTERN_<name>, converted to the type of the default."""
    raw = os.environ.get(f"LECTERN_{name}")
    if raw is None:
        return default
    if isinstance(default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(raw)
    return raw


class Config:
    ENV_NAME = "development"
    SECRET_KEY = _env("SECRET_KEY", DEFAULT_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = _env(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'lectern.sqlite'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    BABEL_DEFAULT_LOCALE = _env("DEFAULT_LOCALE", "en")
    BABEL_DEFAULT_TIMEZONE = _env("DEFAULT_TIMEZONE", "UTC")
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "app" / "translations")
    LOCALES = SUPPORTED_LOCALES
    LOCALE_COOKIE = "lectern_locale"
    TIMEZONE_COOKIE = "lectern_tz"

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env("SECURE_COOKIES", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = _env("SECURE_COOKIES", False)
    # HSTS is sent only on HTTPS requests; behind a proxy set LECTERN_TRUST_PROXY.
    TRUST_PROXY = _env("TRUST_PROXY", False)
    HSTS_MAX_AGE = _env("HSTS_MAX_AGE", 31536000)

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the signed session cookie

    # Explicit: Flask-Limiter keeps `enabled` on its one shared Limiter, so an app made without
    # this setting would inherit whatever the previously made app had.
    RATELIMIT_ENABLED = _env("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_KEY_PREFIX = _env("RATELIMIT_KEY_PREFIX", "lectern")
    RATELIMIT_SIGN_IN = _env("RATELIMIT_SIGN_IN", "10 per minute;50 per hour")
    RATELIMIT_PASSWORD_RESET = _env("RATELIMIT_PASSWORD_RESET", "5 per minute;20 per hour")
    RATELIMIT_COUPON = _env("RATELIMIT_COUPON", "10 per minute;30 per hour")  # guesses per address
    RATELIMIT_CANCEL = _env("RATELIMIT_CANCEL", "10 per minute;30 per hour")  # cancel-link posts
    RATELIMIT_WAITLIST_JOIN = _env("RATELIMIT_WAITLIST_JOIN", "5 per minute;20 per hour")  # each emails
    RATELIMIT_ACCOUNT_LOOKUP = _env("RATELIMIT_ACCOUNT_LOOKUP", "10 per minute;30 per hour")  # plan checkout
    RATELIMIT_HEADERS_ENABLED = True

    PASSWORD_RESET_MAX_AGE = _env("PASSWORD_RESET_MAX_AGE", 3600)  # seconds
    ACCOUNT_SETUP_MAX_AGE = _env("ACCOUNT_SETUP_MAX_AGE", 7 * 24 * 3600)  # new members' link

    # Mail: "file" writes .eml files into MAIL_FILE_DIR; "smtp" talks to MAIL_SERVER.
    MAIL_TRANSPORT = _env("MAIL_TRANSPORT", "file")
    MAIL_FILE_DIR = _env("MAIL_FILE_DIR", str(INSTANCE_DIR / "mail"))
    MAIL_SERVER = _env("MAIL_SERVER", "localhost")
    MAIL_PORT = _env("MAIL_PORT", 25)
    MAIL_USE_STARTTLS = _env("MAIL_USE_STARTTLS", False)
    MAIL_USERNAME = _env("MAIL_USERNAME", "")
    MAIL_PASSWORD = _env("MAIL_PASSWORD", "")
    MAIL_TIMEOUT = _env("MAIL_TIMEOUT", 10)
    MAIL_DEFAULT_SENDER = _env("MAIL_DEFAULT_SENDER", "Lectern <no-reply@lectern.localhost>")
    MAIL_MAX_ATTEMPTS = _env("MAIL_MAX_ATTEMPTS", 13)  # with the backoff, retries span 26 hours
    # Deliver queued mail right after each request that wrote some (convenient for a single
    # process); production runs `flask mail send --loop` instead.
    MAIL_DELIVER_AFTER_REQUEST = _env("MAIL_DELIVER_AFTER_REQUEST", True)

    # The room gate opens this many minutes before a session starts (and closes when it ends).
    JOIN_OPENS_MINUTES_BEFORE = _env("JOIN_OPENS_MINUTES_BEFORE", 15)
    RATELIMIT_ROOM_PASSWORD = _env("RATELIMIT_ROOM_PASSWORD", "5 per minute;30 per hour")

    # How long a seat stays held for an attendee who chose to pay by bank transfer.
    BANK_TRANSFER_HOLD_DAYS = _env("BANK_TRANSFER_HOLD_DAYS", 5)

    PAYPAL_BASE_URL = _env("PAYPAL_BASE_URL", "https://api-m.sandbox.paypal.com")
    PAYPAL_CLIENT_ID = _env("PAYPAL_CLIENT_ID", "")
    PAYPAL_CLIENT_SECRET = _env("PAYPAL_CLIENT_SECRET", "")
    PAYPAL_READ_TIMEOUT = _env("PAYPAL_READ_TIMEOUT", 15)  # seconds; connecting gets 3.05

    # Paid plans, sold by the organisation that runs the portal (the operator), through the
    # PayPal account above. Requests from tax-exempt buyers are emailed to sales.
    SALES_EMAIL = _env("SALES_EMAIL", "sales@lectern.localhost")
    SITE_DOMAIN = _env("SITE_DOMAIN", "lectern.localhost")  # sites are <subdomain>.SITE_DOMAIN
    PLANS_BANK_DETAILS = _env("PLANS_BANK_DETAILS", "")  # for renewal invoices paid by transfer
    RENEWAL_NOTICE_DAYS = _env("RENEWAL_NOTICE_DAYS", 7)  # the "your plan renews on …" email
    RENEWAL_RETRY_DAYS = _env("RENEWAL_RETRY_DAYS", "1,3,7")  # after the 1st, 2nd, 3rd failure
    INVOICE_DUE_DAYS = _env("INVOICE_DUE_DAYS", 14)  # a renewal invoice unpaid after this: canceled
    PORTING_MIN_DAYS = 21  # the earliest a number port can complete, after the request
    # New dial-in numbers are allocated from this block: the first number and how many.
    PHONE_NUMBER_FIRST = _env("PHONE_NUMBER_FIRST", "+46840000000")
    PHONE_NUMBER_BLOCK = _env("PHONE_NUMBER_BLOCK", 10000)

    # Partner orders: how long a "Set up now" link works, and who is alerted when a setup has
    # not started a day after its start date (the operator can set its own under Manage plans).
    SETUP_LINK_DAYS = _env("SETUP_LINK_DAYS", 14)
    ACCOUNT_REPRESENTATIVE_EMAIL = _env("ACCOUNT_REPRESENTATIVE_EMAIL", "partners@lectern.localhost")
    RATELIMIT_SETUP_LINK = _env("RATELIMIT_SETUP_LINK", "5 per minute;20 per hour")  # new-link requests

    # The address links in emails point at (emails are rendered outside a request).
    EXTERNAL_URL = _env("EXTERNAL_URL", "http://127.0.0.1:5000")


class DevelopmentConfig(Config):
    pass


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = _env("SECURE_COOKIES", True)
    REMEMBER_COOKIE_SECURE = _env("SECURE_COOKIES", True)
    MAIL_TRANSPORT = _env("MAIL_TRANSPORT", "smtp")
    MAIL_DELIVER_AFTER_REQUEST = _env("MAIL_DELIVER_AFTER_REQUEST", False)


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    RATELIMIT_STORAGE_URI = "memory://"
    MAIL_DELIVER_AFTER_REQUEST = False
    EXTERNAL_URL = "http://localhost"


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}


def config_for(name=None):
    return CONFIGS[name or os.environ.get("LECTERN_ENV", "development")]
