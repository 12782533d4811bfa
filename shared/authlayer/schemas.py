"""The request schemas of the HTTP contract: strict pydantic models (see authlayer.models).

Imported on first use only: pydantic and these models are a large part of a cold start, so
handlers go through authlayer.bodies, which comes here only for bodies it cannot vouch for.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from authlayer import errors
from authlayer.models import (
    EMAIL_PATTERN,
    MAX_CODE,
    MAX_IDENTIFIER,
    MAX_PASSWORD,
    MAX_REFRESH_TOKEN_FIELD,
    MAX_USERNAME,
    MIN_EMAIL,
    MIN_NEW_PASSWORD,
    MIN_USERNAME,
    USERNAME_PATTERN,
)


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
    # defer_build: each model's validator is built when first used, so a handler pays for its own only.
    model_config = ConfigDict(strict=True, extra="forbid", str_strip_whitespace=False, defer_build=True)


class LoginRequest(_Strict):
    identifier: Annotated[Text, Field(min_length=1, max_length=MAX_IDENTIFIER)]
    password: Password


class RegisterRequest(_Strict):
    username: Annotated[Text, Field(min_length=MIN_USERNAME, max_length=MAX_USERNAME, pattern=USERNAME_PATTERN)]
    email: Annotated[Text, Field(min_length=MIN_EMAIL, max_length=MAX_IDENTIFIER, pattern=EMAIL_PATTERN)]
    password: Annotated[Password, Field(min_length=MIN_NEW_PASSWORD)]  # ASVS 5.0 6.2.1


class RefreshRequest(_Strict):
    # The tutorial's frontend sends its access JWT here next to the cookie; the cookie wins.
    refreshToken: str | None = Field(default=None, max_length=MAX_REFRESH_TOKEN_FIELD)  # noqa: N815 - Strapi's name


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


class LogoutRequest(_Strict):
    scope: Literal["current", "all"] = "current"
    refreshToken: str | None = Field(default=None, max_length=MAX_REFRESH_TOKEN_FIELD)  # noqa: N815 - body-mode clients


class ChangePasswordRequest(_Strict):
    currentPassword: Password  # noqa: N815 - Strapi's names
    password: Annotated[Password, Field(min_length=MIN_NEW_PASSWORD)]
    passwordConfirmation: Password  # noqa: N815


class EmailRequest(_Strict):
    """forgot-password and send-email-confirmation."""

    email: Annotated[Text, Field(min_length=MIN_EMAIL, max_length=MAX_IDENTIFIER, pattern=EMAIL_PATTERN)]


class ResetPasswordRequest(_Strict):
    code: Annotated[Text, Field(min_length=1, max_length=MAX_CODE)]
    password: Annotated[Password, Field(min_length=MIN_NEW_PASSWORD)]  # as at registration
    passwordConfirmation: Password  # noqa: N815 - Strapi's name
