"""The local API Gateway's authorizers: JWT and Lambda REQUEST (payload 2.0), as HTTP APIs run them.

The gateway (server.py) asks `Authorization.authorize` before it invokes a route's function; the
answer is either `requestContext.authorizer` for the integration event, None (open route), or a
`Denied` carrying API Gateway's own answer (401/403/500). Which authorizer guards which route is
decided at start-up by authorizer_config.py.

Sources (API Gateway Developer Guide, HTTP APIs):
- "Control access to HTTP APIs with JWT authorizers" (http-api-jwt-authorizer): identity source
  with or without "Bearer ", RSA signature by the jwks_uri key named by kid, iss, aud (client_id
  only when aud is absent, per "Troubleshooting HTTP API JWT authorizers"), exp, nbf, iat, and at
  least one of the route's AuthorizationScopes in scope or scp; claims then reach the integration
  in requestContext.authorizer.jwt (http-api-develop-integrations-lambda, payload 2.0 example).
- "Signing keys and troubleshooting JWT authorizers": keys cached up to an hour, fetched again for a
  kid not seen yet.
- "Working with AWS Lambda authorizers for HTTP APIs" (http-api-lambda-authorizer): the 2.0 event,
  simple and IAM policy responses, a missing identity source is a 401 without invoking, caching
  keyed by the identity sources, an unusable answer or failed invocation is a 500.
"""

from __future__ import annotations

import copy
import json
import re
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeGuard

import jwt

from authlayer import jwt_backend
from localdev.authorizer_config import (
    CONTEXT_VARIABLES,
    JwtAuthorizer,
    LambdaAuthorizer,
    RouteAuthorizers,
)
from localdev.events import API_ID, gateway_response
from localdev.template import ACCOUNT_ID, REGION, Route
from localdev.workers import InvocationError

Clock = Callable[[], float]
KEYS_MAX_AGE = 3600.0  # "API Gateway caches each issuer's signing keys for up to 1 hour"
# A token with an unseen kid fetches the key set again ("When API Gateway receives a token signed
# with a key it hasn't seen, it retrieves the key set again"), but at most this often: made-up kids
# must not turn every request into two fetches (authlayer.jwks.RELOAD_INTERVAL does the same for SSM).
KEYS_REFETCH_INTERVAL = 10.0
FETCH_TIMEOUT = 5.0  # seconds per discovery or JWKS request
# "only RSA-based algorithms are supported"; this stack signs RS256 only (RFC 8725 §3.1)
ALGORITHM = jwt_backend.ALGORITHM


class Invoker(Protocol):
    def invoke(self, event: dict[str, Any], request_id: str | None = None) -> Any: ...


class Denied(Exception):
    """API Gateway answers the request itself; the route's function is not invoked."""

    def __init__(self, status: int, message: str, www_authenticate: str | None = None, log: str | None = None):
        super().__init__(log or message)
        self.status, self.message, self.www_authenticate, self.log = status, message, www_authenticate, log

    def response(self, request_id: str) -> Any:
        response = gateway_response(self.status, self.message, request_id)
        if self.www_authenticate:
            response.headers["www-authenticate"] = self.www_authenticate
        return response


def unauthorized(log: str | None = None, www_authenticate: str | None = None) -> Denied:
    return Denied(401, "Unauthorized", www_authenticate, log)


def forbidden(log: str | None = None, www_authenticate: str | None = None) -> Denied:
    return Denied(403, "Forbidden", www_authenticate, log)


def internal_error(log: str) -> Denied:
    return Denied(500, "Internal Server Error", None, log)


def fetch_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response:  # noqa: S310 - the template's issuer
        return json.loads(response.read())


# --- JWT authorizers ---


class IssuerKeys:
    """One issuer's RS256 keys by kid: discovery document, then its jwks_uri, cached."""

    def __init__(self, issuer: str, clock: Clock, fetch: Callable[[str], Any] = fetch_json):
        self.issuer = issuer
        self.clock = clock
        self.fetch = fetch
        self._keys: dict[str, jwt.PyJWK] | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()
        self.fetches = 0  # key set fetches so far (tests check the cache with it)

    def key(self, kid: str) -> jwt.PyJWK | None:
        with self._lock:
            age = self.clock() - self._fetched_at
            if self._keys is None or age >= KEYS_MAX_AGE or (kid not in self._keys and age >= KEYS_REFETCH_INTERVAL):
                self._keys = self._load()
                self._fetched_at = self.clock()
            return self._keys.get(kid)

    def _load(self) -> dict[str, jwt.PyJWK]:
        self.fetches += 1
        discovery = self.fetch(f"{self.issuer}/.well-known/openid-configuration")
        jwks = self.fetch(discovery["jwks_uri"])
        keys = {}
        for jwk in jwks.get("keys", []):
            # RSA keys only, whatever else the set holds: an "oct" key used as an HMAC secret or an
            # EC key must never verify a token here (RFC 8725 §2.1, algorithm confusion).
            if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or jwk.get("alg", ALGORITHM) != ALGORITHM:
                continue
            if jwk.get("use", "sig") != "sig" or not isinstance(jwk.get("kid"), str):
                continue
            try:
                keys[jwk["kid"]] = jwt.PyJWK(jwk, ALGORITHM)
            except jwt.PyJWKError:
                continue
        return keys


def _invalid_token(description: str, scopes: tuple[str, ...]) -> Denied:
    # The header's shape is the one "Troubleshooting HTTP API JWT authorizers" shows
    # (`Bearer scope="" error="invalid_token" error_description="the token does not have a valid
    # audience"`); the other descriptions are ours, in the same words.
    header = f'Bearer scope="{" ".join(scopes)}" error="invalid_token" error_description="{description}"'
    return unauthorized(description, header)


def _numeric(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def verify_jwt(
    token: str, authorizer: JwtAuthorizer, keys: IssuerKeys, now: float, scopes: tuple[str, ...]
) -> dict[str, Any]:
    """The claims of a token API Gateway's JWT authorizer would accept, else Denied (401)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        raise _invalid_token("the token is not a valid JWT", scopes) from None
    # RFC 8725 §3.1: the algorithm is ours to choose, never the token's (no none, HS*, ES*).
    if header.get("alg") != ALGORITHM:
        raise _invalid_token(f"the token is not signed with {ALGORITHM}", scopes)
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise _invalid_token("the token has no kid", scopes)
    try:
        key = keys.key(kid)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _invalid_token("the issuer's signing keys could not be fetched", scopes) from exc
    if key is None:
        raise _invalid_token("the token's kid matches no key of the issuer's jwks_uri", scopes)
    try:
        # Only the signature here: the claims are checked below in API Gateway's terms and clock.
        claims = jwt_backend.signed_claims(token, key.key)
    except jwt_backend.SignatureError:
        raise _invalid_token("the token signature is invalid", scopes) from None
    except jwt_backend.TokenError:
        raise _invalid_token("the token is not a valid JWT", scopes) from None
    if claims.get("iss") != authorizer.issuer:
        raise _invalid_token("the token does not have a valid issuer", scopes)
    # "API Gateway validates client_id only if aud is not present."
    audience = claims["aud"] if "aud" in claims else claims.get("client_id")
    presented = audience if isinstance(audience, list) else [audience]
    if not any(isinstance(a, str) and a in authorizer.audiences for a in presented):
        raise _invalid_token("the token does not have a valid audience", scopes)
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    if not _numeric(exp) or now >= exp:  # RFC 7519 §4.1.4: "on or after" exp it is refused
        raise _invalid_token("the token has expired", scopes)
    if nbf is not None and (not _numeric(nbf) or nbf > now):
        raise _invalid_token("the token is not valid yet", scopes)
    if iat is not None and (not _numeric(iat) or iat > now):
        raise _invalid_token("the token was issued in the future", scopes)
    return claims


def token_scopes(claims: Mapping[str, Any]) -> list[str] | None:
    """The token's scopes: `scp` (a list or a space-separated string), else `scope` (RFC 8693 §4.2)."""
    for name in ("scp", "scope"):
        value = claims.get(name)
        if isinstance(value, list) and value:
            return [str(v) for v in value]
        if isinstance(value, str) and value.split():
            return value.split()
    return None


def claim_string(value: Any) -> str | None:
    """A claim as requestContext.authorizer.jwt.claims carries it: every value a string.

    The payload 2.0 example shows strings only; how non-strings read is not documented. As
    measured against API Gateway and written down by floci (floci-io/floci
    JwtClaimsWireFormatTest, 2026-08): numbers and booleans as their JSON text, arrays as
    "[a b]", objects as JSON, null claims left out.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + " ".join(v if isinstance(v, str) else json.dumps(v, separators=(",", ":")) for v in value) + "]"
    return json.dumps(value, separators=(",", ":"))


def jwt_context(claims: Mapping[str, Any], route_scopes: tuple[str, ...]) -> dict[str, Any]:
    """requestContext.authorizer for a JWT route. `scopes` is null on a route without
    AuthorizationScopes and the token's own scopes on one with them (as floci measured)."""
    strings = {name: text for name, value in claims.items() if (text := claim_string(value)) is not None}
    return {"jwt": {"claims": strings, "scopes": token_scopes(claims) if route_scopes else None}}


def identity_token(value: str | None) -> str | None:
    """ "The identitySource can include only the token, or the token prefixed with Bearer"."""
    if not value:
        return None
    if value[:7].lower() == "bearer ":
        value = value[7:]
    return value.strip() or None


# --- Lambda REQUEST authorizers ---


def route_arn(event: Mapping[str, Any]) -> str:
    """arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{method}{path}, as in the 2.0 example."""
    stage, method = event["requestContext"]["stage"], event["requestContext"]["http"]["method"]
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{stage}/{method}{event['rawPath']}"


def identity_value(source: str, event: Mapping[str, Any], stage_variables: Mapping[str, str]) -> str | None:
    """The request's value of one identity source; headers case-insensitive, query strings not."""
    kind, _, name = source[1:].partition(".")
    if kind == "request":
        where, _, name = name.partition(".")
        if where == "header":
            return event["headers"].get(name.lower()) or None
        return (event.get("queryStringParameters") or {}).get(name) or None
    if kind == "stageVariables":
        return stage_variables.get(name) or None
    value: Any = event["requestContext"]
    for part in CONTEXT_VARIABLES[name]:
        value = value.get(part) if isinstance(value, dict) else None
    return str(value) if value not in (None, "") else None


def authorizer_event(
    event: Mapping[str, Any], identity: list[str], stage_variables: Mapping[str, str]
) -> dict[str, Any]:
    """The payload 2.0 REQUEST event: the integration's request fields, no body."""
    request = {k: copy.deepcopy(v) for k, v in event.items() if k not in ("version", "body", "isBase64Encoded")}
    result = {"version": "2.0", "type": "REQUEST", "routeArn": route_arn(event), "identitySource": identity, **request}
    if stage_variables:
        result["stageVariables"] = dict(stage_variables)
    return result


_WILDCARDS = {"*": ".*", "?": "."}


def _iam_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's wildcard matching: * any run of characters, ? one character, nothing else special."""
    regex = "".join(_WILDCARDS.get(c, re.escape(c)) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_allows(response: Mapping[str, Any], arn: str) -> bool:
    """IAM evaluation of the authorizer's policy for execute-api:Invoke on this route's ARN:
    an explicit Deny wins, then an Allow is needed (default deny). Raises ValueError if unusable."""
    document = response.get("policyDocument")
    if not isinstance(document, dict) or "Statement" not in document:
        raise ValueError("no policyDocument.Statement")
    allowed = False
    for statement in _as_list(document["Statement"]):
        if not isinstance(statement, dict) or statement.get("Effect") not in ("Allow", "Deny"):
            raise ValueError("a statement without Effect Allow or Deny")
        if "NotAction" in statement or "NotResource" in statement:
            raise ValueError("NotAction/NotResource are not emulated")
        actions = [str(a) for a in _as_list(statement.get("Action", []))]
        resources = [str(r) for r in _as_list(statement.get("Resource", []))]
        if any(_iam_match(a, "execute-api:Invoke", ignore_case=True) for a in actions) and any(
            _iam_match(r, arn) for r in resources
        ):
            if statement["Effect"] == "Deny":
                return False
            allowed = True
    return allowed


def lambda_context(response: Mapping[str, Any]) -> dict[str, Any]:
    context = response.get("context")
    if context is not None and not isinstance(context, dict):
        raise ValueError("context is not an object")
    return {"lambda": dict(context or {})}


# --- the gateway's entry point ---


class Authorization:
    """Applies each route's authorizer; keeps the JWKS and Lambda authorizer result caches."""

    def __init__(
        self,
        routes: RouteAuthorizers,
        invokers: Mapping[str, Invoker],
        clock: Clock = time.time,
        fetch: Callable[[str], Any] = fetch_json,
    ):
        self.routes = routes
        self.invokers = invokers
        self.clock = clock
        self.fetch = fetch
        self._issuers: dict[str, IssuerKeys] = {}
        self._results: dict[tuple[str, str, tuple[str, ...]], tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.invocations = 0  # Lambda authorizer invocations (tests check the cache with it)

    def authorize(self, route: Route, event: dict[str, Any], request_id: str) -> dict[str, Any] | None:
        """requestContext.authorizer for the integration, None for an open route; raises Denied."""
        decision = self.routes[route]
        if decision.authorizer is None:
            return None
        if isinstance(decision.authorizer, JwtAuthorizer):
            return self._jwt(decision.authorizer, decision.scopes, event)
        return self._lambda(decision.authorizer, event, request_id)

    def issuer_keys(self, issuer: str) -> IssuerKeys:
        with self._lock:
            if issuer not in self._issuers:
                self._issuers[issuer] = IssuerKeys(issuer, self.clock, self.fetch)
            return self._issuers[issuer]

    def _jwt(self, authorizer: JwtAuthorizer, scopes: tuple[str, ...], event: dict[str, Any]) -> dict[str, Any]:
        token = identity_token(identity_value(authorizer.identity_source, event, {}))
        if token is None:
            raise unauthorized("no token in " + authorizer.identity_source, "Bearer")
        claims = verify_jwt(token, authorizer, self.issuer_keys(authorizer.issuer), self.clock(), scopes)
        if scopes and not set(token_scopes(claims) or ()) & set(scopes):
            # RFC 6750 §3.1: insufficient_scope is a 403 naming the scopes needed.
            header = (
                f'Bearer scope="{" ".join(scopes)}" error="insufficient_scope" '
                'error_description="the token does not have the required scopes"'
            )
            raise forbidden("the token has none of the route's scopes", header)
        return jwt_context(claims, scopes)

    def _lambda(self, authorizer: LambdaAuthorizer, event: dict[str, Any], request_id: str) -> dict[str, Any]:
        identity = [identity_value(s, event, authorizer.stage_variables) for s in authorizer.identity_sources]
        if any(value is None for value in identity):
            # "If the client's request doesn't include the identity sources, API Gateway doesn't
            # invoke your Lambda authorizer, and the client receives a 401 error."
            raise unauthorized("an identity source is missing")
        values = [v for v in identity if v is not None]
        response = self._cached_result(authorizer, values, event, request_id)
        try:
            if authorizer.simple_responses:
                allowed = response.get("isAuthorized")
                if not isinstance(allowed, bool):
                    raise ValueError("isAuthorized is not a boolean")
            else:
                allowed = policy_allows(response, route_arn(event))
            context = lambda_context(response)
        except ValueError as exc:
            raise internal_error(f"authorizer {authorizer.name}: unusable response: {exc}") from None
        if not allowed:
            raise forbidden(f"authorizer {authorizer.name} denied the request")
        return context

    def _cached_result(
        self, authorizer: LambdaAuthorizer, identity: list[str], event: dict[str, Any], request_id: str
    ) -> dict[str, Any]:
        """The authorizer's answer for these identity values: cached for its TTL (the whole answer,
        so an IAM policy is evaluated again for each route), never when the TTL is 0."""
        key = (authorizer.api, authorizer.name, tuple(identity))
        if authorizer.result_ttl:
            with self._lock:
                cached = self._results.get(key)
            if cached is not None and cached[0] > self.clock():
                return cached[1]
        try:
            with self._lock:
                self.invocations += 1
            response = self.invokers[authorizer.function].invoke(
                authorizer_event(event, identity, authorizer.stage_variables), request_id
            )
        except InvocationError as exc:
            raise internal_error(f"authorizer {authorizer.name} ({authorizer.function}) failed: {exc}") from None
        if not isinstance(response, dict):
            raise internal_error(f"authorizer {authorizer.name}: unusable response: not an object")
        if authorizer.result_ttl:  # a failed invocation above is not cached
            with self._lock:
                self._results[key] = (self.clock() + authorizer.result_ttl, response)
        return response


def log_denied(route: Route, denied: Denied, request_id: str) -> None:
    """One line for the developer; never the token itself."""
    if denied.log:
        print(f"[authorizer] {route.route_key} {request_id} -> {denied.status}: {denied.log}", file=sys.stderr)
