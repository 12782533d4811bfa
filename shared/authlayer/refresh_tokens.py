"""Opaque refresh tokens: ``<session id>.<secret>``, 256 random bits, stored only as SHA-256.

- The session id makes the lookup one GetItem; the secret is what proves possession.
- Only hashes are stored (RFC 6819 §5.1.4.1.3), compared in constant time.
- A rotated child is derived as HMAC(parent secret, nonce) with a random nonce stored on the
  session. Replaying the immediate parent inside the grace window re-derives the *same* child
  (and an ancestor, through the last few hops' nonces: logic.token_standing), so racing tabs
  and lost responses all end up holding the one live token (RFC 9700 §4.14.2),
  while neither a database reader (no secrets) nor a thief of an old token (no nonce) can
  compute the live token offline.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

SECRET_BYTES = 32  # 256 bits (RFC 6819 §5.1.4.2.2 asks for at least 128)
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class RefreshToken:
    session_id: str
    secret: bytes

    def __str__(self) -> str:
        return f"{self.session_id}.{_b64(self.secret)}"

    @property
    def hash(self) -> bytes:
        return token_hash(self.secret)

    def child(self, nonce: bytes) -> RefreshToken:
        return RefreshToken(self.session_id, hmac.new(self.secret, nonce, hashlib.sha256).digest())

    def descendant(self, nonces: list[bytes]) -> RefreshToken:
        """The token after one rotation per nonce (oldest first): what racing tabs converge on."""
        token = self
        for nonce in nonces:
            token = token.child(nonce)
        return token


def new_session_id() -> str:
    return secrets.token_urlsafe(16)


def new_token(session_id: str) -> RefreshToken:
    return RefreshToken(session_id, secrets.token_bytes(SECRET_BYTES))


def new_nonce() -> bytes:
    return secrets.token_bytes(16)


def token_hash(secret: bytes) -> bytes:
    return hashlib.sha256(secret).digest()


def same_hash(a: bytes | None, b: bytes | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a, b)


def valid_session_id(value: object) -> bool:
    return isinstance(value, str) and bool(_SESSION_ID.match(value))


def parse(raw: object) -> RefreshToken | None:
    """The token, or None for anything that is not exactly our format (never an exception)."""
    if not isinstance(raw, str) or len(raw) != 66:
        return None
    session_id, _, secret = raw.partition(".")
    if not _SESSION_ID.match(session_id) or not _SECRET.match(secret):
        return None
    try:
        decoded = base64.urlsafe_b64decode(secret + "=")
    except (binascii.Error, ValueError):
        return None
    return RefreshToken(session_id, decoded) if len(decoded) == SECRET_BYTES else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
