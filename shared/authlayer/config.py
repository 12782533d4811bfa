"""Typed settings, read once per container from the environment.

A bad value stops the function at start (ConfigError names the variable), so a misconfigured
deployment fails loudly instead of issuing tokens with surprising lifetimes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the environment variable."""


def parse_duration(name: str, raw: str) -> int:
    """Seconds from ``900``, ``360s``, ``15m``, ``1h`` or ``2d`` (the tutorial's style)."""
    match = _DURATION.match(raw)
    if not match:
        raise ConfigError(f"{name}={raw!r} is not a duration: use seconds or 360s, 15m, 1h, 2d")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean: use true or false")


# A frozen dataclass, not a pydantic model: load_settings parses and checks every value itself,
# and every handler reads settings at import, so pydantic here would be in every cold start.
@dataclass(frozen=True)
class Settings:
    users_table: str
    sessions_table: str
    # The index that lists a user's sessions: by-user (ALL) only while a stack created with it
    # upgrades (template.yaml LegacySessionsIndex=queried, docs/deploy.md), by-user-keys after.
    sessions_user_index: Literal["by-user-keys", "by-user"] = "by-user-keys"
    access_token_ttl: int = 15 * 60
    refresh_idle_ttl: int = 2 * 86400
    refresh_absolute_ttl: int = 30 * 86400
    refresh_reuse_grace: int = 10
    allowed_origins: tuple[str, ...] = ()
    registration_enabled: bool = True
    token_issuer: str = ""  # empty: https://<the API's domain>, taken from the request
    sam_local: bool = False  # AWS_SAM_LOCAL=true: SAM CLI sets it in every `sam local` container, AWS never
    auth_api_origin: str = ""  # AUTH_API_ORIGIN: for the authorizer, whose requests are other APIs' (issuers.py)
    token_audience: str = "sam-refresh-auth"
    cookie_secure: bool = True
    cookie_samesite: Literal["Strict", "Lax", "None"] = "Strict"
    signing_key_pem: str = ""  # SIGNING_KEY (PEM) wins over SIGNING_KEY_PARAMETER (SSM name)
    signing_key_parameter: str = ""
    login_max_failures: int = 5  # attempts before the account cools down
    login_lockout: int = 60  # seconds between attempts once cooling down
    leeway: int = 30  # seconds of clock skew tolerated on exp/nbf/iat (RFC 7519 §4.1.4)
    # Account recovery and email (Strapi's users-permissions settings of the same meaning)
    mail_queue_url: str = ""  # SQS queue of mail requests; a bare name is a queue name (sam local)
    mail_from: str = "no-reply@example.com"
    reset_password_url: str = "http://localhost:5173/reset-password"  # the mail links ?code=...
    email_confirmation: bool = False  # registration answers {user} only, until the link is followed
    email_confirmation_redirect: str = "http://localhost:5173/email-confirmed"
    reset_token_ttl: int = 3600
    email_confirmation_ttl: int = 86400
    mail_interval: int = 60  # per account and kind of mail: at most one a minute...
    mail_per_day: int = 5  # ...and this many a day, however many requests (no mail bombing)

    @property
    def cookie_name(self) -> str:
        # __Host- requires Secure, Path=/ and no Domain (ASVS 3.4.4); plain http cannot use it.
        return "__Host-refreshToken" if self.cookie_secure else "refreshToken"

    @property
    def cookie_path(self) -> str:
        return "/" if self.cookie_secure else "/api"


# Environment name -> (field, parser). The tutorial's names are aliases; the design's names win.
_DURATIONS = {
    "ACCESS_TOKEN_TTL": ("access_token_ttl", "JWT_SECRET_EXPIRES"),
    "REFRESH_IDLE_TTL": ("refresh_idle_ttl", "REFRESH_TOKEN_EXPIRES"),
    "REFRESH_ABSOLUTE_TTL": ("refresh_absolute_ttl", None),
    "REFRESH_REUSE_GRACE": ("refresh_reuse_grace", None),
    "LOGIN_LOCKOUT": ("login_lockout", None),
    "RESET_TOKEN_TTL": ("reset_token_ttl", None),
    "EMAIL_CONFIRMATION_TTL": ("email_confirmation_ttl", None),
}


def load_settings(env: Mapping[str, str]) -> Settings:
    values: dict[str, object] = {}
    for name, field in (("USERS_TABLE", "users_table"), ("SESSIONS_TABLE", "sessions_table")):
        if not env.get(name, "").strip():
            raise ConfigError(f"{name} is not set")
        values[field] = env[name].strip()
    for name, (field, alias) in _DURATIONS.items():
        source = name if env.get(name, "").strip() else alias
        if source and env.get(source, "").strip():
            values[field] = parse_duration(source, env[source])
    if "ALLOWED_ORIGINS" in env:
        origins = tuple(o.strip().rstrip("/") for o in env["ALLOWED_ORIGINS"].split(",") if o.strip())
        if "*" in origins or "null" in origins:
            # Credentials with a wildcard or opaque origin would let any site read tokens (ASVS 14.5.3).
            raise ConfigError("ALLOWED_ORIGINS must list exact origins, never * or null")
        values["allowed_origins"] = origins
    for name, field in (
        ("REGISTRATION_ENABLED", "registration_enabled"),
        ("COOKIE_SECURE", "cookie_secure"),
        ("EMAIL_CONFIRMATION", "email_confirmation"),
    ):
        if env.get(name, "").strip():
            values[field] = parse_bool(name, env[name])
    if env.get("LOGIN_MAX_FAILURES", "").strip():
        raw = env["LOGIN_MAX_FAILURES"].strip()
        if not raw.isdigit():
            raise ConfigError(f"LOGIN_MAX_FAILURES={raw!r} is not a whole number")
        values["login_max_failures"] = int(raw)
    if env.get("COOKIE_SAMESITE", "").strip():
        samesite = env["COOKIE_SAMESITE"].strip().capitalize()
        if samesite not in {"Strict", "Lax", "None"}:
            raise ConfigError(f"COOKIE_SAMESITE={env['COOKIE_SAMESITE']!r}: use Strict, Lax or None")
        values["cookie_samesite"] = samesite
    for name, field in (
        ("TOKEN_ISSUER", "token_issuer"),
        ("AUTH_API_ORIGIN", "auth_api_origin"),
        ("TOKEN_AUDIENCE", "token_audience"),
        ("SIGNING_KEY", "signing_key_pem"),
        ("SIGNING_KEY_PARAMETER", "signing_key_parameter"),
        ("MAIL_QUEUE_URL", "mail_queue_url"),
        ("MAIL_FROM", "mail_from"),
        ("RESET_PASSWORD_URL", "reset_password_url"),
        ("EMAIL_CONFIRMATION_REDIRECT", "email_confirmation_redirect"),
    ):
        if env.get(name, "").strip():
            values[field] = env[name].strip()
    if env.get("SESSIONS_USER_INDEX", "").strip():
        index = env["SESSIONS_USER_INDEX"].strip()
        if index not in {"by-user-keys", "by-user"}:
            raise ConfigError(f"SESSIONS_USER_INDEX={index!r}: use by-user-keys (or by-user while upgrading)")
        values["sessions_user_index"] = index
    values["sam_local"] = env.get("AWS_SAM_LOCAL", "").strip().lower() == "true"
    settings = Settings(**values)  # type: ignore[arg-type]  # keys and types are the fields'
    _check_ranges(settings)
    return settings


def _check_ranges(s: Settings) -> None:
    if not 0 <= s.refresh_reuse_grace <= 60:
        raise ConfigError(f"REFRESH_REUSE_GRACE={s.refresh_reuse_grace}s is outside 0-60 seconds")
    if s.access_token_ttl < 1:
        raise ConfigError("ACCESS_TOKEN_TTL must be at least 1 second")
    if s.refresh_idle_ttl < 1 or s.refresh_absolute_ttl < 1:
        raise ConfigError("REFRESH_IDLE_TTL and REFRESH_ABSOLUTE_TTL must be at least 1 second")
    if s.cookie_samesite == "None" and not s.cookie_secure:
        raise ConfigError("COOKIE_SAMESITE=None needs COOKIE_SECURE=true (browsers drop it otherwise)")
    # ASVS 4.0.3 2.2.1: at most 100 failed attempts per hour and account.
    if s.login_max_failures < 1 or s.login_lockout < 1 or s.login_max_failures + 3600 / s.login_lockout > 100:
        raise ConfigError("LOGIN_MAX_FAILURES and LOGIN_LOCKOUT must allow at most 100 failures an hour")
    # A code that outlives a day is a standing credential in a mailbox (ASVS 5.0 6.4.1: short-lived).
    if not 60 <= s.reset_token_ttl <= 86400:
        raise ConfigError("RESET_TOKEN_TTL must be between 1 minute and 1 day")
    if not 60 <= s.email_confirmation_ttl <= 7 * 86400:
        raise ConfigError("EMAIL_CONFIRMATION_TTL must be between 1 minute and 7 days")
    for name, url in (
        ("RESET_PASSWORD_URL", s.reset_password_url),
        ("EMAIL_CONFIRMATION_REDIRECT", s.email_confirmation_redirect),
    ):
        if not url.startswith(("https://", "http://")) or "#" in url:
            raise ConfigError(f"{name} must be an http(s) URL without a fragment")
    if "?" in s.reset_password_url:
        raise ConfigError("RESET_PASSWORD_URL must not have a query: the mail adds ?code=...")
    if not s.token_audience:
        raise ConfigError("TOKEN_AUDIENCE must not be empty")
    plain_http = [o for o in s.allowed_origins if o.startswith("http://") and not _is_loopback_origin(o)]
    if s.cookie_secure and plain_http:
        # A cleartext origin allowed to call with credentials could be spoofed by anyone on the
        # network path, and a Secure cookie is never meant for it (ASVS 5.0 12.1.1, 3.3.1).
        raise ConfigError(
            f"ALLOWED_ORIGINS has plain-http origins ({', '.join(plain_http)}) while COOKIE_SECURE=true: "
            "use https, or COOKIE_SECURE=false for local development"
        )


_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "[::1]"}


def _is_loopback_origin(origin: str) -> bool:
    """http://localhost, 127.0.0.1 or [::1], any port: browsers treat these as secure contexts."""
    host = origin.removeprefix("http://")
    host = host[: host.find("]") + 1] if host.startswith("[") else host.partition(":")[0]
    return host.lower() in _LOOPBACK_HOSTS or host.lower().endswith(".localhost")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The container's settings; tests call ``get_settings.cache_clear()`` after changing env."""
    return load_settings(os.environ)
