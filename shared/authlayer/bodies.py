"""Request bodies without pydantic for what handlers nearly always get (cold starts).

``parse(LoginBody, data)`` accepts by hand only the unambiguous common case: a dict with exactly
the model's fields, each a printable ASCII string within the model's limits and patterns. Any
other input, valid or not, goes to the pydantic model in ``authlayer.schemas`` (imported then,
about 80 ms), which stays the contract: it decides and words every error (ASVS 5.0 15.3). So the
fast path may only accept what the model accepts, with the same values (tests/unit/test_bodies.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields
from typing import Any, ClassVar, TypeVar

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

Check = Callable[[object], bool]


def _text(min_length: int, max_length: int, pattern: str | None = None) -> Check:
    """A plain str the model takes as is: printable ASCII has no surrogate, control or format
    character (what schemas._clean_text refuses), and in it ``\\s`` is only the space for Python's
    re as for pydantic's Rust regex, so the shared pattern means the same here."""
    regex = re.compile(pattern) if pattern else None

    def check(value: object) -> bool:
        return (
            type(value) is str
            and min_length <= len(value) <= max_length
            and value.isascii()
            and value.isprintable()
            and (regex is None or regex.match(value) is not None)
        )

    return check


def _optional(check: Check) -> Check:
    return lambda value: value is None or check(value)


def _one_of(*choices: str) -> Check:
    return lambda value: type(value) is str and value in choices


@dataclass(frozen=True)
class _Body:
    model: ClassVar[str]  # the authlayer.schemas model that is the contract for this body
    checks: ClassVar[dict[str, Check]]  # every allowed field: True when the model surely takes the value


@dataclass(frozen=True)
class LoginBody(_Body):
    identifier: str
    password: str
    model = "LoginRequest"
    checks = {"identifier": _text(1, MAX_IDENTIFIER), "password": _text(1, MAX_PASSWORD)}


@dataclass(frozen=True)
class RegisterBody(_Body):
    username: str
    email: str
    password: str
    model = "RegisterRequest"
    checks = {
        "username": _text(MIN_USERNAME, MAX_USERNAME, USERNAME_PATTERN),
        "email": _text(MIN_EMAIL, MAX_IDENTIFIER, EMAIL_PATTERN),
        "password": _text(MIN_NEW_PASSWORD, MAX_PASSWORD),
    }


@dataclass(frozen=True)
class ChangePasswordBody(_Body):
    currentPassword: str  # Strapi's names, as in the model
    password: str
    passwordConfirmation: str
    model = "ChangePasswordRequest"
    checks = {
        "currentPassword": _text(1, MAX_PASSWORD),
        "password": _text(MIN_NEW_PASSWORD, MAX_PASSWORD),
        "passwordConfirmation": _text(1, MAX_PASSWORD),
    }


@dataclass(frozen=True)
class RefreshBody(_Body):
    refreshToken: str | None = None  # usually absent: the cookie carries the token
    model = "RefreshRequest"
    checks = {"refreshToken": _optional(_text(0, MAX_REFRESH_TOKEN_FIELD))}


@dataclass(frozen=True)
class LogoutBody(_Body):
    scope: str = "current"  # or "all"
    refreshToken: str | None = None
    model = "LogoutRequest"
    checks = {"scope": _one_of("current", "all"), "refreshToken": _optional(_text(0, MAX_REFRESH_TOKEN_FIELD))}


@dataclass(frozen=True)
class EmailBody(_Body):
    """forgot-password and send-email-confirmation: {email}."""

    email: str
    model = "EmailRequest"
    checks = {"email": _text(MIN_EMAIL, MAX_IDENTIFIER, EMAIL_PATTERN)}


@dataclass(frozen=True)
class ResetPasswordBody(_Body):
    code: str
    password: str
    passwordConfirmation: str  # Strapi's name
    model = "ResetPasswordRequest"
    checks = {
        "code": _text(1, MAX_CODE),
        "password": _text(MIN_NEW_PASSWORD, MAX_PASSWORD),
        "passwordConfirmation": _text(1, MAX_PASSWORD),
    }


B = TypeVar("B", bound=_Body)


def parse(body: type[B], data: Any) -> B:
    """What ``schemas.parse(<body.model>, data)`` answers, as a ``body``; pydantic only when needed.

    Raises the model's errors.ValidationError for an invalid body (strict, no unknown fields:
    ASVS 5.0 15.3.3).
    """
    checks = body.checks
    if (
        type(data) is dict
        and data.keys() <= checks.keys()
        and all(f.name in data for f in fields(body) if f.default is MISSING)
        and all(checks[name](value) for name, value in data.items())
    ):
        return body(**data)
    from authlayer import schemas

    return body(**schemas.parse(getattr(schemas, body.model), data).model_dump())
