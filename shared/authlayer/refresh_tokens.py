"""Opaque refresh tokens: ``<session id>.<secret>.<user id>``, 256 random bits, stored only as SHA-256.

- The session id and the user id make the lookup one BatchGetItem of both items (issue 17); the
  secret is what proves possession. The user id is not trusted: it only says which user item to
  read, and must equal the session item's own ``user_id`` (logic.sessions), so a forged one reads
  the wrong user and is refused. Tokens issued before it existed (``<session id>.<secret>``) still
  parse; their session's next rotation hands out the longer form.
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
_LEGACY_LENGTH = 66  # <22>.<43>
MAX_USER_ID_BYTES = 64  # our ids are UUIDs (36); a longer one gets the legacy form, which still works
_USER_ID = re.compile(r"^[A-Za-z0-9_-]{2,86}$")  # base64url of 1..64 bytes, unpadded


@dataclass(frozen=True)
class RefreshToken:
    session_id: str
    secret: bytes
    user_id: str = ""  # "" for a token of the legacy form (before issue 17)

    def __str__(self) -> str:
        legacy = f"{self.session_id}.{_b64(self.secret)}"
        encoded = self.user_id.encode()
        return f"{legacy}.{_b64(encoded)}" if 0 < len(encoded) <= MAX_USER_ID_BYTES else legacy

    @property
    def hash(self) -> bytes:
        return token_hash(self.secret)

    def child(self, nonce: bytes) -> RefreshToken:
        return RefreshToken(self.session_id, hmac.new(self.secret, nonce, hashlib.sha256).digest(), self.user_id)

    def descendant(self, nonces: list[bytes]) -> RefreshToken:
        """The token after one rotation per nonce (oldest first): what racing tabs converge on."""
        token = self
        for nonce in nonces:
            token = token.child(nonce)
        return token


def new_session_id() -> str:
    return secrets.token_urlsafe(16)


def new_token(session_id: str, user_id: str) -> RefreshToken:
    return RefreshToken(session_id, secrets.token_bytes(SECRET_BYTES), user_id)


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
    if not isinstance(raw, str) or len(raw) < _LEGACY_LENGTH:
        return None
    legacy, dot, user_part = raw[:_LEGACY_LENGTH], raw[_LEGACY_LENGTH : _LEGACY_LENGTH + 1], raw[_LEGACY_LENGTH + 1 :]
    session_id, _, secret = legacy.partition(".")
    if not _SESSION_ID.match(session_id) or not _SECRET.match(secret):
        return None
    if (dot or user_part) and (dot != "." or not _USER_ID.match(user_part)):
        return None
    decoded = _unb64(secret)
    user_id = _unb64(user_part) if user_part else b""
    if decoded is None or len(decoded) != SECRET_BYTES or user_id is None:
        return None
    try:
        text = user_id.decode()
    except UnicodeDecodeError:
        return None
    return RefreshToken(session_id, decoded, text)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes | None:
    """Unpadded base64url, only in its one canonical spelling (so a token has exactly one form)."""
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return data if _b64(data) == text else None
