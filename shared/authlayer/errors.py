"""Domain errors. ``authlayer.http`` maps them to Strapi's error envelope in one place."""

from __future__ import annotations

from typing import Any


class AuthError(Exception):
    status = 400
    name = "ApplicationError"
    headers: dict[str, str] = {}

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class ValidationError(AuthError):
    status, name = 400, "ValidationError"


class ApplicationError(AuthError):
    status, name = 400, "ApplicationError"


class UnauthorizedError(AuthError):
    status, name = 401, "UnauthorizedError"


class ForbiddenError(AuthError):
    status, name = 403, "ForbiddenError"


class NotFoundError(AuthError):
    status, name = 404, "NotFoundError"


class PayloadTooLargeError(AuthError):
    status, name = 413, "PayloadTooLargeError"


class UnsupportedMediaTypeError(AuthError):
    status, name = 415, "UnsupportedMediaTypeError"


class RateLimitError(AuthError):
    status, name = 429, "RateLimitError"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, {"retryAfter": retry_after})
        self.headers = {"Retry-After": str(retry_after)}


class ServiceUnavailableError(AuthError):
    """DynamoDB or SSM failed or throttled: nothing was issued, the client may retry."""

    status, name = 503, "ServiceUnavailableError"

    def __init__(self, message: str = "Service temporarily unavailable, retry later", retry_after: int = 1):
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}


def invalid_credentials() -> ValidationError:
    # One message for unknown user and wrong password (ASVS 5.0 6.3.8: no user enumeration).
    return ValidationError("Invalid identifier or password")
