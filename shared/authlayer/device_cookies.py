"""Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies").

A successful login gives the browser a cookie that binds the user id (not the typed identifier,
so username and email both work) and a random nonce, MAC'd with a key derived from the signing
key (derived_keys.DEVICE_COOKIE). A login presenting a valid cookie for the user it names is
counted on that device's own counter, so a lockout strangers trigger leaves the owner's browser
usable; a device that itself fails too often is locked like any other. Anything else presented
(tampered, foreign, malformed, made under a key no longer published) is ignored: untrusted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from authlayer import derived_keys
from authlayer.keys import KeySet

PATH = "/api/auth/local"  # sent with logins only (and registrations, which share the prefix)
MAX_AGE = 365 * 24 * 3600  # one year: the owner's browser stays known across long absences
_MAX_LENGTH = 256  # far above any cookie this module makes; longer values are not even parsed
_VERSION = "d1"


@dataclass(frozen=True)
class DeviceCookie:
    user_id: str
    nonce: str

    @property
    def counter_id(self) -> str:
        """The device counter's key: a hash, so the table holds nothing a browser could present."""
        return hashlib.sha256(self.nonce.encode()).hexdigest()


def name(cookie_secure: bool) -> str:
    # __Secure- rather than __Host-: a __Host- cookie must have Path=/, and this one is for logins only.
    return "__Secure-deviceCookie" if cookie_secure else "deviceCookie"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _mac(key: bytes, user_part: str, nonce: str) -> str:
    return _b64(hmac.new(key, f"{_VERSION}.{user_part}.{nonce}".encode(), hashlib.sha256).digest())


def issue(keys: KeySet, user_id: str) -> str:
    """A new cookie value for this browser: ``d1.<user id, base64url>.<nonce>.<mac>``."""
    user_part = _b64(user_id.encode())
    nonce = secrets.token_urlsafe(32)
    mac = _mac(derived_keys.current(keys, derived_keys.DEVICE_COOKIE), user_part, nonce)
    return f"{_VERSION}.{user_part}.{nonce}.{mac}"


def verify(keys: KeySet, value: str | None) -> DeviceCookie | None:
    """The device a cookie value names, or None for anything not made by us (never an error)."""
    if not value or len(value) > _MAX_LENGTH:
        return None
    parts = value.split(".")
    if len(parts) != 4 or parts[0] != _VERSION:
        return None
    _, user_part, nonce, mac = parts
    # Every published key: cookies made before a rotation stay valid while their key is published.
    if not any(
        hmac.compare_digest(_mac(key, user_part, nonce), mac)
        for key in derived_keys.for_all(keys, derived_keys.DEVICE_COOKIE)
    ):
        return None
    try:
        user_id = base64.urlsafe_b64decode(user_part + "=" * (-len(user_part) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):  # cannot happen for what we issued: the MAC covers it
        return None
    return DeviceCookie(user_id, nonce)
