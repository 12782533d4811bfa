"""How refresh tokens travel: an httpOnly cookie for browsers, the JSON body for opted-in clients.

- Default: cookie only, never in a body (ASVS 5.0 3.3.4); Secure + __Host- outside plain-http dev.
- ``X-Refresh-Token-Transport: body``: the token is returned as ``refreshToken`` and no cookie is set.
- A request with both a cookie and a body token uses the cookie (the tutorial's frontend sends
  its access JWT in the body next to the cookie); one with the cookie and body transport is a 400.
- Cookie-authenticated POSTs and every route that sets the cookie must be JSON and come from an
  allowed origin, or from a client that sends no Origin (ASVS 4.0.3 13.2.3).
"""

from __future__ import annotations

from typing import Any

from authlayer import access_tokens, clock, device_cookies, errors, issuers
from authlayer.config import Settings
from authlayer.http import BODY_MODE_HEADER, Request, Response
from authlayer.keys import KeySet
from authlayer.logic.sessions import Renewed
from authlayer.refresh_tokens import RefreshToken


def wants_body(request: Request) -> bool:
    return request.headers.get(BODY_MODE_HEADER) is not None  # values other than "body" are refused at parsing


def issuer(settings: Settings, request: Request) -> str:
    """The tokens' iss for a request to this API (authlayer.issuers)."""
    return issuers.issuer_of(settings, request.domain, request.headers)


def presented_refresh_token(settings: Settings, request: Request, body: dict[str, Any]) -> str | None:
    """The cookie's token (after the CSRF checks), else the body's, else None."""
    cookie = request.cookies.get(settings.cookie_name)
    if cookie:
        check_cookie_request(settings, request)
        return cookie
    body_token = body.get("refreshToken")
    return body_token if isinstance(body_token, str) and body_token else None


def check_cookie_request(settings: Settings, request: Request) -> None:
    """CSRF defence for cookie-authenticated POSTs: JSON content type and an allowed Origin.

    A JSON Content-Type cannot be sent cross-site without a CORS preflight, which only allowed
    origins pass; the Origin check catches the rest (ASVS 5.0 3.5.1-3.5.3).
    """
    if request.content_type != "application/json":
        raise errors.UnsupportedMediaTypeError("Content-Type must be application/json")
    check_origin(settings, request)


def check_token_request(settings: Settings, request: Request) -> None:
    """First step of every route that answers with a refresh token (login, register, refresh,
    change-password, reset-password), before any work, so a refused request sets no cookie.

    - Login CSRF / session swapping (ASVS 4.0.3 13.2.3; ASVS 5.0 3.5.1-3.5.3): a foreign Origin, or
      ``Sec-Fetch-Site: cross-site`` without one, is a 403 (a non-JSON body is a 415 in
      Request.json). Clients that send neither (curl, native apps, servers) are unaffected.
    - Cookie in, cookie out (ASVS 5.0 3.3.4): a request that carries the refresh cookie never gets
      a token in a body, or script on an allowed origin could launder the httpOnly cookie into a
      readable token by asking for body transport. The mix is refused, not silently answered by
      cookie: the client asked for a token it would then never see.
    """
    check_origin(settings, request)
    if wants_body(request) and request.cookies.get(settings.cookie_name):
        raise errors.ValidationError(
            f"{BODY_MODE_HEADER}: body cannot be used by a request that carries the refresh cookie",
            {"header": BODY_MODE_HEADER},
        )


def check_origin(settings: Settings, request: Request) -> None:
    origin = request.headers.get("origin")
    if origin is not None and origin.rstrip("/") not in allowed_origins(settings, request):
        raise errors.ForbiddenError("Origin not allowed")
    if request.headers.get("sec-fetch-site") == "cross-site" and origin is None:
        raise errors.ForbiddenError("Cross-site request refused")


def allowed_origins(settings: Settings, request: Request) -> set[str]:
    return {*settings.allowed_origins, f"https://{request.domain}"}


def set_cookie(settings: Settings, token: RefreshToken, max_age: int) -> str:
    return _cookie(settings, settings.cookie_name, str(token), max(max_age, 0))


def clear_cookie(settings: Settings) -> str:
    # Same name, path and attributes as when set, so the browser really drops it (ASVS 4.0.3 3.3.1).
    return _cookie(settings, settings.cookie_name, "", 0)


def set_device_cookie(settings: Settings, value: str) -> str:
    """The login's device cookie (authlayer.device_cookies): login path only, otherwise like the
    refresh cookie (Secure, SameSite: Strict unless a cross-site front end needs COOKIE_SAMESITE)."""
    name = device_cookies.name(settings.cookie_secure)
    return _cookie(settings, name, value, device_cookies.MAX_AGE, path=device_cookies.PATH)


def _cookie(settings: Settings, name: str, value: str, max_age: int, path: str | None = None) -> str:
    parts = [f"{name}={value}", f"Path={path or settings.cookie_path}", f"Max-Age={max_age}", "HttpOnly"]
    parts.append(f"SameSite={settings.cookie_samesite}")
    if settings.cookie_secure:
        parts.append("Secure")
    return "; ".join(parts)


def token_response(
    settings: Settings, request: Request, body: dict[str, Any], token: RefreshToken, max_age: int
) -> Response:
    """200 with the body given, the refresh token in a cookie or, in body mode, in the body."""
    if wants_body(request):
        return Response(200, {**body, "refreshToken": str(token)})
    return Response(200, body, cookies=[set_cookie(settings, token, max_age)])


def signed_in(
    settings: Settings,
    request: Request,
    keys: KeySet,
    user_id: str,
    renewed: Renewed,
    body: dict[str, Any] | None = None,
) -> Response:
    """The answer to a login, registration or refresh: a fresh access JWT plus the refresh token."""
    jwt = access_tokens.issue(settings, keys, issuer(settings, request), user_id, renewed.session.id)
    return token_response(
        settings, request, {"jwt": jwt, **(body or {})}, renewed.token, renewed.cookie_max_age(clock.now())
    )
