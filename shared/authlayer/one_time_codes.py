"""One-time codes of the recovery flows: password reset codes and email confirmation tokens.

Strapi stores them in plain text and never expires them (strapi/strapi#25711). Here: 32 bytes
from ``secrets`` (256 bits, ASVS 5.0 6.4.1 / OWASP Forgot Password Cheat Sheet: long, random,
single use, expiring), sent as base64url, stored only as a SHA-256 hash. A hash is enough:
the code is random, so there is nothing to brute-force a slow hash against.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from enum import StrEnum

CODE_BYTES = 32
_CODE = re.compile(r"^[A-Za-z0-9_-]{43}$")


class Purpose(StrEnum):
    RESET = "reset"  # POST /api/auth/reset-password {code}
    CONFIRM = "confirm"  # GET /api/auth/email-confirmation?confirmation=...

    @property
    def user_attribute(self) -> str:
        """The user item's attribute holding the one live code's hash."""
        return f"{self.value}_code"


def new_code() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(CODE_BYTES)).rstrip(b"=").decode("ascii")


def code_hash(code: str) -> str | None:
    """The stored form of a code (hex SHA-256), or None for anything that cannot be one of ours."""
    if not _CODE.match(code):
        return None
    return hashlib.sha256(code.encode("ascii")).hexdigest()
