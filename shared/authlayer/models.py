"""Domain records (what the DAL returns) and request limits.

The request schemas are pydantic models in ``authlayer.schemas``: importing pydantic and building
them costs about 100 ms of cold start, which handlers with no body to validate (me, keys,
sessions) do not pay, and the others only pay for an unusual body (``authlayer.bodies``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# --- records -------------------------------------------------------------------------------


@dataclass
class User:
    id: str
    username: str
    email: str
    password_hash: str
    provider: str = "local"
    confirmed: bool = True
    blocked: bool = False
    created_at: str = ""
    updated_at: str = ""
    tokens_not_before: int = 0  # ms; sessions created before this are over (ASVS 5.0 7.4.1)
    failed_logins: int = 0  # login attempts since the last success (ASVS 4.0.3 2.2.1)
    last_failed_at: int = 0
    reset_code: str = ""  # hash of the one live reset code, if any (a new request replaces it)
    confirm_code: str = ""  # hash of the one live email confirmation token

    def sanitized(self) -> dict[str, Any]:
        """Strapi's sanitized user: never the hash or anything secret."""
        return {
            "id": self.id,
            "username": self.username,
            "email": self.email,
            "provider": self.provider,
            "confirmed": self.confirmed,
            "blocked": self.blocked,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }


@dataclass(frozen=True)
class Hop:
    """One rotation of a session's token: the nonce that derived the new token, and when."""

    nonce: bytes
    rotated_at: int


@dataclass
class Session:
    id: str
    user_id: str
    token_hash: bytes
    nonce: bytes
    rotated_at: int
    created_at: int  # ms
    last_used_at: int
    idle_expires_at: int
    absolute_expires_at: int
    history: list[bytes] = field(default_factory=list)  # older token hashes, newest last
    user_agent: str = ""
    ip: str = ""
    revoked_at: int | None = None
    revoked_reason: str = ""
    earlier_hops: list[Hop] = field(default_factory=list)  # the rotations before the last, newest last

    def ended(self, now: int) -> bool:
        """Revoked, idle too long or past its absolute lifetime (checked in code: TTL deletes late)."""
        return self.revoked_at is not None or now >= self.idle_expires_at or now >= self.absolute_expires_at

    def live_for(self, user: User, now: int) -> bool:
        """Not ended, and its user may still act: not blocked, and has not ended it by a password
        change or logout-all since (per-user not-before, ASVS 5.0 7.4.1-7.4.3)."""
        return (
            not self.ended(now)
            and self.user_id == user.id
            and not user.blocked
            and self.created_at >= user.tokens_not_before
        )

    def hops(self) -> list[Hop]:
        """The rotations still known, oldest first; the last made the live token. hops()[-k]
        is the rotation that replaced history[-k] (none before the first refresh)."""
        return [*self.earlier_hops, Hop(self.nonce, self.rotated_at)] if self.nonce else []


def iso(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- request limits (the models are in authlayer.schemas, the fast paths in authlayer.bodies) ---

MAX_IDENTIFIER = 254  # the longest valid email; far below DynamoDB's 2048-byte key limit
MAX_PASSWORD = 256  # ASVS 4.0.3 2.1.2: at least 64 allowed; longer is refused before hashing
MIN_NEW_PASSWORD = 8  # ASVS 5.0 6.2.1
MIN_USERNAME, MAX_USERNAME = 3, 64
MIN_EMAIL = 3
MAX_REFRESH_TOKEN_FIELD = 2048  # RefreshRequest.refreshToken, LogoutRequest.refreshToken
MAX_CODE = 128  # reset codes and confirmation tokens are 43 characters; longer is refused unread
USERNAME_PATTERN = r"^[^@\s]+$"  # no "@": an identifier with one is looked up as an email
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def username_key(username: str) -> str:
    return unicodedata.normalize("NFC", username).casefold()


def email_key(email: str) -> str:
    return unicodedata.normalize("NFC", email).strip().lower()


def session_view(session: Session, current_session_id: str) -> dict[str, Any]:
    return {
        "id": session.id,
        "createdAt": iso(session.created_at / 1000),
        "lastUsedAt": iso(session.last_used_at),
        "userAgent": session.user_agent,
        "ip": session.ip,
        "current": session.id == current_session_id,
    }
