"""API Gateway HTTP API (payload 2.0) glue: parse the event, map errors, build responses.

Every handler goes through ``api_handler``; it is the one place where domain errors become HTTP
responses (Strapi's error envelope), so no stack trace, boto error text or token can leak.
"""

from __future__ import annotations

import base64
import binascii
import functools
import gc
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from authlayer import errors
from authlayer.keys import KeyConfigError
from authlayer.observability import logger, metrics

# Refused before any hashing (ASVS 5.0 2.4.1). The largest valid body, change-password with three
# 256-character passwords of astral characters JSON-escaped (12 bytes each), is about 9.3 KB.
MAX_BODY_BYTES = 12 * 1024
BODY_MODE_HEADER = "x-refresh-token-transport"  # "body": refresh token in JSON, no cookie

# Token responses must not be cached (RFC 6749 §5.1); the rest are security headers of ASVS 5.0 3.4.
_BASE_HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
}


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    cookies: dict[str, str]
    raw_body: bytes
    source_ip: str
    user_agent: str
    domain: str
    path_params: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)  # API Gateway joins repeated names with ","

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Request:
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        ctx = event.get("requestContext") or {}
        http_ctx = ctx.get("http") or {}
        body = event.get("body") or ""
        if len(body) > MAX_BODY_BYTES * 2:  # cheap guard before decoding anything
            raise errors.PayloadTooLargeError("Request body too large")
        if event.get("isBase64Encoded"):
            try:
                raw = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                raise errors.ValidationError("Request body is not valid base64") from None
        else:
            raw = body.encode("utf-8", "surrogatepass")
        if len(raw) > MAX_BODY_BYTES:
            raise errors.PayloadTooLargeError("Request body too large")
        transport = headers.get(BODY_MODE_HEADER)
        if transport is not None and transport.strip().lower() != "body":
            # Refused rather than guessed: a client that mistyped it would never see its token.
            raise errors.ValidationError(f"{BODY_MODE_HEADER} must be 'body'", {"header": BODY_MODE_HEADER})
        return cls(
            method=str(http_ctx.get("method", "GET")).upper(),
            path=str(http_ctx.get("path", event.get("rawPath", "/"))),
            headers=headers,
            cookies=_parse_cookies(event.get("cookies") or [], headers.get("cookie", "")),
            raw_body=raw,
            source_ip=str(http_ctx.get("sourceIp", "")),
            # The header first: API Gateway copies it into requestContext.http.userAgent, while
            # `sam local` puts the constant "Custom User Agent String" there (issue 18).
            user_agent=str(headers.get("user-agent", http_ctx.get("userAgent", "")))[:512],
            domain=str(ctx.get("domainName", headers.get("host", ""))),
            path_params=dict(event.get("pathParameters") or {}),
            query={str(k): str(v) for k, v in (event.get("queryStringParameters") or {}).items()},
        )

    @property
    def content_type(self) -> str:
        """The media type alone, lower-case ("application/json" of "Application/JSON; charset=utf-8")."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self) -> dict[str, Any]:
        """The body as a JSON object; anything else is a 400 (ASVS 4.0.3 13.2.2)."""
        if self.raw_body and self.content_type != "application/json":
            # Also the CSRF rule: a cross-site form, text/plain or no-cors POST without a Content-Type
            # is never parsed (ASVS 4.0.3 13.2.3, 13.2.5): only JSON needs a CORS preflight.
            raise errors.UnsupportedMediaTypeError("Content-Type must be application/json")
        if not self.raw_body.strip():
            return {}
        try:
            data = json.loads(self.raw_body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise errors.ValidationError("Request body is not valid JSON") from None
        except RecursionError:  # "[" * 5000: the decoder's nesting limit, a client error (ASVS 5.0 15.3)
            raise errors.ValidationError("Request body is nested too deeply") from None
        if not isinstance(data, dict):
            raise errors.ValidationError("Request body must be a JSON object")
        return data

    def bearer_token(self) -> str:
        token = bearer_token_of(self.headers.get("authorization", ""))
        if token is None:
            raise errors.UnauthorizedError("Missing or invalid credentials")
        return token


def bearer_token_of(authorization: str) -> str | None:
    """The token of ``Authorization: Bearer <token>``; None for anything else.

    RFC 6750 §2.1: the scheme is case-insensitive; anything but one bearer token is no credential."""
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _parse_cookies(cookie_list: list[str], header: str) -> dict[str, str]:
    # HTTP API v2 moves Cookie headers into event["cookies"]; REST-style events keep the header.
    cookies: dict[str, str] = {}
    for part in [*cookie_list, *header.split(";")]:
        name, sep, value = part.strip().partition("=")
        if sep and name and name not in cookies:
            cookies[name] = value.strip()
    return cookies


@dataclass
class Response:
    status: int
    body: Any = None
    cookies: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def to_api_gateway(self) -> dict[str, Any]:
        headers = {**_BASE_HEADERS, **self.headers}
        if self.body is None:
            del headers["Content-Type"]  # 204: no content, so no content type
        result: dict[str, Any] = {
            "statusCode": self.status,
            "headers": headers,
            "body": "" if self.body is None else json.dumps(self.body, separators=(",", ":")),
        }
        if self.cookies:
            result["cookies"] = self.cookies
        return result


def error_response(error: errors.AuthError) -> Response:
    envelope = {
        "data": None,
        "error": {"status": error.status, "name": error.name, "message": error.message, "details": error.details},
    }
    return Response(error.status, envelope, headers=dict(error.headers))


Handler = Callable[[Request], Response]


def api_handler(func: Handler) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """Wrap a handler: event -> Request, errors -> Strapi envelope, never a stack trace."""

    @functools.wraps(func)
    @metrics.log_metrics
    @logger.inject_lambda_context(clear_state=True)
    def wrapper(event: dict[str, Any], context: Any) -> dict[str, Any]:
        # Read directly rather than with correlation_id_path, whose JMESPath search costs about
        # a tenth of a warm refresh's CPU.
        logger.set_correlation_id((event.get("requestContext") or {}).get("requestId"))
        try:
            response = func(Request.from_event(event))
        except KeyConfigError as error:  # fail closed, never a fallback key (ASVS 5.0 16.5.3)
            logger.error("signing key unusable", extra={"problem": str(error)})
            response = error_response(errors.ServiceUnavailableError())
        except errors.AuthError as error:
            if error.status >= 500:
                logger.warning("request failed", extra={"error": error.name})
            response = error_response(error)
        except Exception:  # noqa: BLE001 - last resort: log the trace, answer a generic 500
            logger.exception("unhandled error")
            response = error_response(errors.AuthError("Internal Server Error"))
            response.status = 500
            response.body["error"].update(status=500, name="InternalServerError")
        return response.to_api_gateway()

    _freeze_imports_once()
    return wrapper


AuthorizerDecision = Callable[[dict[str, Any]], dict[str, Any]]


def authorizer_handler(func: AuthorizerDecision) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """Wrap a Lambda REQUEST authorizer (simple responses): errors become its answers here.

    A credential problem is ``{"isAuthorized": false}`` (API Gateway: 403). An unusable key or an
    unavailable DynamoDB/SSM is re-raised: a function error makes API Gateway answer 500 and never
    call the route ("Troubleshooting HTTP API Lambda authorizers", API Gateway Developer Guide), so
    an outage fails closed instead of denying (which clients would take as a logout) or allowing.
    """

    @functools.wraps(func)
    @logger.inject_lambda_context(clear_state=True)
    def wrapper(event: dict[str, Any], context: Any) -> dict[str, Any]:
        logger.set_correlation_id((event.get("requestContext") or {}).get("requestId"))
        try:
            return func(event)
        except KeyConfigError as error:  # fail closed, never a fallback key (ASVS 5.0 16.5.3)
            logger.error("signing key unusable", extra={"problem": str(error)})
            raise
        except errors.AuthError as error:
            if error.status >= 500:
                logger.warning("authorizer failed", extra={"error": error.name})
                raise
            logger.info("authorizer denied", extra={"reason": error.name})
            return {"isAuthorized": False}

    _freeze_imports_once()
    return wrapper


@functools.cache
def _freeze_imports_once() -> None:
    """Decorating is the last step of a handler module's import: what exists now (modules, classes,
    settings) lives as long as the container. Frozen, the cyclic GC stops rescanning it: a full
    collection during the first request (botocore builds thousands of dicts from its JSON models)
    cost 30 ms of each cold start. Once per process: a later freeze would also pin whatever cyclic
    garbage a long-lived process (a test run) has made by then. The GC is back on from here (in
    Lambda, authlayer/__init__ turned it off for the import)."""
    gc.freeze()
    gc.enable()
