"""Domain records (what the DAL returns) and the request schemas of the HTTP contract."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from authlayer import errors

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

    def ended(self, now: int) -> bool:
        """Revoked, idle too long or past its absolute lifetime (checked in code: TTL deletes late)."""
        return self.revoked_at is not None or now >= self.idle_expires_at or now >= self.absolute_expires_at


def iso(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- request schemas -------------------------------------------------------------------------

MAX_IDENTIFIER = 254  # the longest valid email; far below DynamoDB's 2048-byte key limit
MAX_PASSWORD = 256  # ASVS 4.0.3 2.1.2: at least 64 allowed; longer is refused before hashing


def _clean_text(value: str) -> str:
    """Refuse what would break storage or hashing later: lone surrogates, NUL and control chars."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs"} for ch in value):
        raise ValueError("must not contain control or formatting characters")
    return value


def _clean_password(value: str) -> str:
    # Passwords are kept exactly as typed (ASVS 5.0 6.2.8), only unencodable text and NUL refused.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_clean_text)]
Password = Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD), AfterValidator(_clean_password)]


class _Strict(BaseModel):
    # Strict types and no unknown fields: {"role": "admin"} is refused, never honoured (ASVS 5.0 15.3.3).
    model_config = ConfigDict(strict=True, extra="forbid", str_strip_whitespace=False)


class LoginRequest(_Strict):
    identifier: Annotated[Text, Field(min_length=1, max_length=MAX_IDENTIFIER)]
    password: Password


class RegisterRequest(_Strict):
    username: Annotated[Text, Field(min_length=3, max_length=64, pattern=r"^[^@\s]+$")]
    email: Annotated[Text, Field(min_length=3, max_length=MAX_IDENTIFIER, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    password: Annotated[Password, Field(min_length=8)]  # ASVS 5.0 6.2.1


class RefreshRequest(_Strict):
    # The tutorial's frontend sends its access JWT here next to the cookie; the cookie wins.
    refreshToken: str | None = Field(default=None, max_length=2048)  # noqa: N815 - Strapi's name


def parse(model: type[_Strict], data: dict[str, Any]) -> Any:
    """Validate a body against a schema; failures are Strapi ValidationErrors with details."""
    try:
        return model.model_validate(data)
    except PydanticValidationError as error:
        issues = [
            {"path": [str(p) for p in e["loc"]], "message": e["msg"], "name": "ValidationError"}
            for e in error.errors(include_input=False, include_url=False)
        ]
        message = "; ".join(f"{'.'.join(i['path']) or 'body'}: {i['message']}" for i in issues[:3])
        raise errors.ValidationError(message, {"errors": issues}) from None


def username_key(username: str) -> str:
    return unicodedata.normalize("NFC", username).casefold()


def email_key(email: str) -> str:
    return unicodedata.normalize("NFC", email).strip().lower()


class LogoutRequest(_Strict):
    scope: Literal["current", "all"] = "current"
    refreshToken: str | None = Field(default=None, max_length=2048)  # noqa: N815 - body-mode clients


class ChangePasswordRequest(_Strict):
    currentPassword: Password  # noqa: N815 - Strapi's names
    password: Annotated[Password, Field(min_length=8)]
    passwordConfirmation: Password  # noqa: N815


def session_view(session: Session, current_session_id: str) -> dict[str, Any]:
    return {
        "id": session.id,
        "createdAt": iso(session.created_at / 1000),
        "lastUsedAt": iso(session.last_used_at),
        "userAgent": session.user_agent,
        "ip": session.ip,
        "current": session.id == current_session_id,
    }
