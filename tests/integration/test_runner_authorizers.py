"""The local runner emulates the HTTP API authorizers of a template, for the user's routes too.

The gateway serves tests/runner_authorizers/template.yaml over loopback (werkzeug's threaded server,
as `make dev` does), its functions run in their worker processes, and the JWT authorizer fetches
the issuer function's discovery document and JWK Set from the same server. The route functions
echo requestContext.authorizer, so each test compares exactly what the function saw.

The shapes compared are AWS's, from the API Gateway Developer Guide:
- requestContext.authorizer.jwt {claims, scopes} and .lambda {...}: "Working with AWS Lambda proxy
  integrations for HTTP APIs", payload format 2.0 example (http-api-develop-integrations-lambda);
  claims are strings there. How numbers, booleans and arrays read as strings, and `scopes` being
  null on a route without AuthorizationScopes, is not in the guide: it is floci's measurement of
  API Gateway (floci-io/floci, JwtClaimsWireFormatTest and HttpApiJwtAuthorizerScopesTest, 2026-08).
- 401 {"message":"Unauthorized"} with `www-authenticate: Bearer scope="" error="invalid_token"
  error_description="the token does not have a valid audience"`, and client_id read only when
  aud is absent: "Troubleshooting issues with HTTP API JWT authorizers".
- the 2.0 REQUEST event (type, routeArn, identitySource), simple and IAM policy responses, 401
  without invoking on a missing identity source, caching keyed by identity sources, 500 for an
  authorizer that fails or answers nonsense: "Working with AWS Lambda authorizers for HTTP APIs".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from authlayer import jwt_backend
from authlayer.keys import KeySet, parse_key_set
from localdev import settings
from localdev.authorizer_config import RouteAuthorizers
from localdev.authorizers import KEYS_REFETCH_INTERVAL, Authorization
from localdev.cors import Cors
from localdev.server import Gateway
from localdev.template import functions, load_template
from localdev.workers import FunctionPool
from tests.conftest import private_key_pem

TEMPLATE = Path(__file__).resolve().parents[1] / "runner_authorizers" / "template.yaml"
AUDIENCE = "runner-tests"  # the template's TokenAudience default
NO_AWS = "http://127.0.0.1:9"  # the test functions call no AWS; a closed loopback port if they did
CACHE_TTL = 30  # the template's AuthorizerCacheTtl default (LiveSession's ReauthorizeEvery)


class Clock:
    """The authorizers' clock, moved by the tests (token lifetimes, cache TTLs) instead of sleeping."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


class CountingInvoker:
    """The real worker pool, counting what reaches it: proves a denied request invoked nothing."""

    def __init__(self, pool: FunctionPool):
        self.pool = pool
        self.calls = 0

    def invoke(self, event: dict[str, Any], request_id: str | None = None) -> Any:
        self.calls += 1
        return self.pool.invoke(event, request_id)


@dataclass
class Answer:
    status: int
    headers: Any
    body: Any


@dataclass
class Stack:
    url: str
    clock: Clock
    authorization: Authorization
    invokers: dict[str, CountingInvoker]
    jwks_file: Path
    keys: KeySet
    extra_jwks: list[dict[str, Any]] = field(default_factory=list)

    def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
                return Answer(response.status, response.headers, json.loads(response.read()))
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, error.headers, json.loads(error.read()))

    def token(self, keys: KeySet | None = None, **claims: Any) -> str:
        """An access token as the service signs it (authlayer's signer), claims overridable."""
        now = int(self.clock.now)
        base = {"iss": self.url, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 900}
        base.update(claims)
        return jwt_backend.encode({k: v for k, v in base.items() if v is not None}, keys or self.keys, "at+jwt")

    def publish(self, *key_sets: KeySet) -> None:
        """What the issuer function serves at /.well-known/jwks.json from now on."""
        keys = [jwk for key_set in key_sets for jwk in key_set.jwks()["keys"]] + self.extra_jwks
        self.jwks_file.write_text(json.dumps({"keys": keys}))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Given the test template served by the local gateway on a loopback port."""
    jwks_file = tmp_path_factory.mktemp("issuer") / "jwks.json"
    server = make_server("127.0.0.1", 0, None, threaded=True)  # type: ignore[arg-type]
    url = f"http://127.0.0.1:{server.server_port}"
    template = load_template(TEMPLATE)
    overrides = {"TOKEN_ISSUER": url, "JWKS_FILE": str(jwks_file)}
    funcs = functions(template, TEMPLATE.parent, overrides)
    pools = {f.name: FunctionPool(f, settings.worker_environment(f, NO_AWS, {}), size=2) for f in funcs}
    invokers = {name: CountingInvoker(pool) for name, pool in pools.items()}
    clock = Clock()
    route_auth = RouteAuthorizers(template, [r for f in funcs for r in f.routes], url, overrides)
    authorization = Authorization(route_auth, invokers, clock=clock)
    server.app = Gateway(funcs, invokers, Cors({}), None, None, authorization=authorization)  # type: ignore[assignment]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    keys = parse_key_set(private_key_pem(0))
    stack = Stack(url, clock, authorization, invokers, jwks_file, keys)
    stack.extra_jwks = [
        # Keys an RS256-only verifier must never use, whatever a token's header says (RFC 8725 §2.1).
        {"kty": "oct", "kid": "hmac-key", "k": _b64(b"a shared secret"), "alg": "HS256"},
        {
            "kty": "EC",
            "kid": "ec-key",
            "crv": "P-256",
            "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
            "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM",
        },
    ]
    stack.publish(keys)
    try:
        yield stack
    finally:
        server.shutdown()
        server.server_close()
        for pool in pools.values():
            pool.close()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims_of(stack: Stack, token: str) -> dict[str, Any]:
    """The claims of one of our tokens, read back from its payload (it is ours: no check needed)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# --- JWT authorizer: the DefaultAuthorizer of AppApi ---


def test_jwt_route_passes_the_claims_as_strings_and_null_scopes_without_authorization_scopes(stack: Stack) -> None:
    # Given a valid token with claims of every JSON type, and a scope claim
    token = stack.token(
        scope="orders/read",
        sid="s-1",
        number=42,
        ratio=1.5,
        admin=True,
        groups=["admin", "ops"],
        address={"country": "JP"},
        gone=None,
    )
    now = int(stack.clock.now)

    # When it calls the route that uses the API's DefaultAuthorizer
    answer = stack.get("/app/jwt", bearer(token))

    # Then the function gets the claims as API Gateway shapes them: all strings, arrays as
    # "[a b]", objects as JSON, null claims left out; scopes null (the route has no
    # AuthorizationScopes), even though the token has a scope claim
    assert answer.status == 200
    assert answer.body == {
        "routeKey": "GET /app/jwt",
        "authorizer": {
            "jwt": {
                "claims": {
                    "iss": stack.url,
                    "aud": AUDIENCE,
                    "sub": "user-1",
                    "iat": str(now),
                    "exp": str(now + 900),
                    "scope": "orders/read",
                    "sid": "s-1",
                    "number": "42",
                    "ratio": "1.5",
                    "admin": "true",
                    "groups": "[admin ops]",
                    "address": '{"country":"JP"}',
                },
                "scopes": None,
            }
        },
    }


def test_token_without_bearer_prefix_is_accepted(stack: Stack) -> None:
    # Given a token sent bare ("The identitySource can include only the token, or the token prefixed with Bearer")
    token = stack.token()

    # When it calls a JWT route
    answer = stack.get("/app/jwt", {"Authorization": token})

    # Then it is authorized
    assert answer.status == 200
    assert answer.body["authorizer"]["jwt"]["claims"]["sub"] == "user-1"


def test_missing_token_is_401_and_the_function_is_not_invoked(stack: Stack) -> None:
    # Given no Authorization header
    calls = stack.invokers["AppEchoFunction"].calls

    # When the DefaultAuthorizer's route is called
    answer = stack.get("/app/jwt")

    # Then API Gateway's own 401 answers, and the function never ran
    assert (answer.status, answer.body) == (401, {"message": "Unauthorized"})
    assert answer.headers["www-authenticate"] == "Bearer"
    assert stack.invokers["AppEchoFunction"].calls == calls


def test_wrong_audience_is_401_with_api_gateways_www_authenticate(stack: Stack) -> None:
    # Given a token for another audience
    token = stack.token(aud="someone-else")

    # When it calls a JWT route
    answer = stack.get("/app/jwt", bearer(token))

    # Then the answer is the documented one
    assert (answer.status, answer.body) == (401, {"message": "Unauthorized"})
    assert answer.headers["www-authenticate"] == (
        'Bearer scope="" error="invalid_token" error_description="the token does not have a valid audience"'
    )


def test_client_id_stands_for_aud_only_when_aud_is_absent(stack: Stack) -> None:
    # Given tokens with client_id instead of aud, and with a wrong aud beside a right client_id
    without_aud = stack.token(aud=None, client_id=AUDIENCE)
    wrong_aud = stack.token(aud="someone-else", client_id=AUDIENCE)

    # When they call a JWT route
    # Then client_id counts only without aud ("When both aud and client_id are present, API Gateway evaluates aud")
    assert stack.get("/app/jwt", bearer(without_aud)).status == 200
    assert stack.get("/app/jwt", bearer(wrong_aud)).status == 401


def test_audience_list_needs_one_configured_audience(stack: Stack) -> None:
    # Given a token whose aud is a list holding ours (RFC 7519 §4.1.3)
    token = stack.token(aud=["other", AUDIENCE])

    # When it calls a JWT route
    answer = stack.get("/app/jwt", bearer(token))

    # Then it is authorized, and the list reaches the function in API Gateway's string form
    assert answer.status == 200
    assert answer.body["authorizer"]["jwt"]["claims"]["aud"] == f"[other {AUDIENCE}]"


@pytest.mark.parametrize(
    ("claims", "description"),
    [
        ({"iss": "https://issuer.example.com"}, "the token does not have a valid issuer"),
        ({"exp": -1}, "the token has expired"),
        ({"exp": 0}, "the token has expired"),  # exp == now: RFC 7519 §4.1.4 "on or after"
        ({"exp": None}, "the token has expired"),
        ({"nbf": 60}, "the token is not valid yet"),
        ({"iat": 60}, "the token was issued in the future"),
    ],
)
def test_claims_api_gateway_checks_refuse_the_token(stack: Stack, claims: dict[str, Any], description: str) -> None:
    # Given a token failing one claim check (times relative to the authorizer's clock)
    now = int(stack.clock.now)
    token = stack.token(**{k: now + v if isinstance(v, int) and k != "iss" else v for k, v in claims.items()})

    # When it calls a JWT route
    answer = stack.get("/app/jwt", bearer(token))

    # Then it is a 401 naming the failed check
    assert (answer.status, answer.body) == (401, {"message": "Unauthorized"})
    assert f'error_description="{description}"' in answer.headers["www-authenticate"]


def test_token_expires_on_the_authorizers_clock(stack: Stack) -> None:
    # Given a token that is valid now and lives 60 s
    token = stack.token(exp=int(stack.clock.now) + 60)
    assert stack.get("/app/jwt", bearer(token)).status == 200

    # When the clock passes its exp
    stack.clock.now += 60
    answer = stack.get("/app/jwt", bearer(token))

    # Then the same token is refused
    assert answer.status == 401
    assert 'error_description="the token has expired"' in answer.headers["www-authenticate"]


def test_tampered_signature_is_401(stack: Stack) -> None:
    # Given one of our tokens with a claim changed after signing
    header, _, signature = stack.token().split(".")
    forged = ".".join([header, _b64(json.dumps(claims_of(stack, stack.token(sub="admin"))).encode()), signature])

    # When it calls a JWT route
    answer = stack.get("/app/jwt", bearer(forged))

    # Then the signature check refuses it
    assert answer.status == 401
    assert 'error_description="the token signature is invalid"' in answer.headers["www-authenticate"]


def test_alg_none_and_hs256_and_es256_are_refused_even_with_such_keys_published(stack: Stack) -> None:
    # Given tokens whose header names another algorithm, with keys of those kinds in the JWK Set
    claims = claims_of(stack, stack.token())
    none_token = _unsigned({"alg": "none", "kid": stack.keys.current.kid}, claims) + "."
    hs_input = _unsigned({"alg": "HS256", "kid": "hmac-key"}, claims)
    hs_token = hs_input + "." + _b64(hmac.new(b"a shared secret", hs_input.encode(), hashlib.sha256).digest())
    es_token = _unsigned({"alg": "ES256", "kid": "ec-key"}, claims) + "." + _b64(b"\0" * 64)

    for token in (none_token, hs_token, es_token):
        # When each calls a JWT route
        answer = stack.get("/app/jwt", bearer(token))

        # Then RS256 is the only algorithm (RFC 8725 §3.1)
        assert answer.status == 401
        assert 'error_description="the token is not signed with RS256"' in answer.headers["www-authenticate"]


def test_rs256_token_naming_the_hmac_keys_kid_is_refused(stack: Stack) -> None:
    # Given an RS256 token whose kid is the published oct key's
    claims = claims_of(stack, stack.token())
    token = _unsigned({"alg": "RS256", "kid": "hmac-key"}, claims) + "." + _b64(b"\0" * 256)

    # When it calls a JWT route
    answer = stack.get("/app/jwt", bearer(token))

    # Then no RSA key has that kid: the oct key is never a verification key
    assert answer.status == 401
    assert "kid matches no key" in answer.headers["www-authenticate"]


def test_keys_are_cached_and_an_unknown_kid_refetches_at_most_every_interval(stack: Stack) -> None:
    # Given the issuer's keys already fetched once
    keys = stack.authorization.issuer_keys(stack.url)
    assert stack.get("/app/jwt", bearer(stack.token())).status == 200
    fetches = keys.fetches
    assert stack.get("/app/jwt", bearer(stack.token())).status == 200
    assert keys.fetches == fetches  # cached

    # When a new key is published and a token signed with it arrives
    rotated = parse_key_set(private_key_pem(1))
    stack.publish(stack.keys, rotated)
    stack.clock.now += KEYS_REFETCH_INTERVAL
    token = stack.token(keys=rotated)
    first = stack.get("/app/jwt", bearer(token))
    made_up = _unsigned({"alg": "RS256", "kid": "made-up"}, claims_of(stack, token)) + "." + _b64(b"\0" * 256)
    refused = stack.get("/app/jwt", bearer(made_up))

    # Then the unseen kid fetched the set again once, and a made-up kid soon after fetches nothing
    assert first.status == 200
    assert refused.status == 401
    assert keys.fetches == fetches + 1
    stack.publish(stack.keys)


# --- JWT with AuthorizationScopes ---


@pytest.mark.parametrize(
    ("scope_claims", "scopes"),
    [
        ({"scope": "profile orders/read"}, ["profile", "orders/read"]),
        ({"scp": ["orders/admin"]}, ["orders/admin"]),
        ({"scp": "orders/admin email"}, ["orders/admin", "email"]),
    ],
)
def test_scoped_route_passes_the_tokens_scopes(stack: Stack, scope_claims: dict[str, Any], scopes: list[str]) -> None:
    # Given a token with one of the route's AuthorizationScopes in scope or scp
    token = stack.token(**scope_claims)

    # When it calls the scoped route
    answer = stack.get("/app/scoped", bearer(token))

    # Then the function sees the token's own scopes (all of them) in jwt.scopes
    assert answer.status == 200
    assert answer.body["authorizer"]["jwt"]["scopes"] == scopes


@pytest.mark.parametrize("scope_claims", [{"scope": "profile email"}, {}])
def test_scoped_route_refuses_a_token_without_the_routes_scopes_with_403(
    stack: Stack, scope_claims: dict[str, Any]
) -> None:
    # Given a valid token with none of the route's scopes
    token = stack.token(**scope_claims)

    # When it calls the scoped route
    answer = stack.get("/app/scoped", bearer(token))

    # Then API Gateway forbids it (RFC 6750 §3.1 insufficient_scope)
    assert (answer.status, answer.body) == (403, {"message": "Forbidden"})
    assert 'error="insufficient_scope"' in answer.headers["www-authenticate"]
    assert 'scope="orders/read orders/admin"' in answer.headers["www-authenticate"]


# --- NONE, and the implicit API ---


def test_authorizer_none_opens_a_route_on_an_api_with_a_default_authorizer(stack: Stack) -> None:
    # Given no token at all
    # When the route with Authorizer: NONE is called
    answer = stack.get("/app/open")

    # Then it is served, with no requestContext.authorizer
    assert answer.status == 200
    assert answer.body == {"routeKey": "GET /app/open", "authorizer": None}


def test_implicit_api_routes_use_the_globals_authorizers(stack: Stack) -> None:
    # Given the implicit ServerlessHttpApi, whose Auth comes from Globals.HttpApi
    token = stack.token()

    # When its guarded route is called with and without a token, and its open route without
    guarded = stack.get("/implicit/jwt", bearer(token))
    refused = stack.get("/implicit/jwt")
    open_route = stack.get("/implicit/open")

    # Then the JWT authorizer guards the one, and the other (no Auth, no default) is open
    assert guarded.status == 200
    assert guarded.body["authorizer"]["jwt"]["claims"]["sub"] == "user-1"
    assert refused.status == 401
    assert open_route.body == {"routeKey": "GET /implicit/open", "authorizer": None}


# --- Lambda authorizer, simple responses, cached ---


def test_lambda_simple_response_passes_its_context_and_sees_the_request_event(stack: Stack) -> None:
    # Given an identity the authorizer allows
    identity = "Bearer allow-alice-simple"

    # When the LiveSession route is called
    answer = stack.get("/app/live", {"Authorization": identity})

    # Then the function gets the authorizer's context as requestContext.authorizer.lambda, and the
    # authorizer got a payload 2.0 REQUEST event with the route's ARN and the identity values
    assert answer.status == 200
    assert answer.body["authorizer"] == {
        "lambda": {
            "user": "alice-simple",
            "number": 7,
            "flag": True,
            "type": "REQUEST",
            "routeArn": "arn:aws:execute-api:us-east-1:123456789012:localapi/$default/GET/app/live",
            "routeKey": "GET /app/live",
            "identitySource": [identity],
            "hasBody": False,
        }
    }


@pytest.mark.parametrize(
    ("identity", "status", "message"),
    [
        ("Bearer deny", 403, "Forbidden"),
        ("Bearer broken", 500, "Internal Server Error"),
        ("Bearer raise", 500, "Internal Server Error"),
    ],
)
def test_lambda_simple_refusal_and_failures_never_reach_the_function(
    stack: Stack, identity: str, status: int, message: str
) -> None:
    # Given an identity the authorizer refuses, answers nonsense for, or fails on
    calls = stack.invokers["AppEchoFunction"].calls

    # When the LiveSession route is called
    answer = stack.get("/app/live", {"Authorization": identity})

    # Then API Gateway answers: isAuthorized false is 403, a bad answer or a failure is 500
    assert (answer.status, answer.body) == (status, {"message": message})
    assert stack.invokers["AppEchoFunction"].calls == calls


def test_lambda_missing_identity_source_is_401_without_invoking_the_authorizer(stack: Stack) -> None:
    # Given no Authorization header (LiveSession's identity source)
    calls = stack.invokers["SessionAuthorizerFunction"].calls

    # When the route is called
    answer = stack.get("/app/live")

    # Then 401 and the authorizer was not invoked
    assert (answer.status, answer.body) == (401, {"message": "Unauthorized"})
    assert stack.invokers["SessionAuthorizerFunction"].calls == calls


def test_lambda_results_are_cached_by_identity_for_the_ttl(stack: Stack) -> None:
    # Given one answered request
    authorizer = stack.invokers["SessionAuthorizerFunction"]
    assert stack.get("/app/live", {"Authorization": "Bearer allow-cache-a"}).status == 200
    calls = authorizer.calls

    # When the same identity comes again within the TTL, then another identity, then the first
    # after the TTL (ReauthorizeEvery: !Ref AuthorizerCacheTtl)
    again = stack.get("/app/live", {"Authorization": "Bearer allow-cache-a"})
    after_again = authorizer.calls
    other = stack.get("/app/live", {"Authorization": "Bearer allow-cache-b"})
    after_other = authorizer.calls
    stack.clock.now += CACHE_TTL
    expired = stack.get("/app/live", {"Authorization": "Bearer allow-cache-a"})

    # Then only the cached one skipped the authorizer, and its cached context still reached the function
    assert again.body["authorizer"]["lambda"]["user"] == "cache-a"
    assert after_again == calls
    assert other.body["authorizer"]["lambda"]["user"] == "cache-b"
    assert after_other == calls + 1
    assert expired.status == 200
    assert authorizer.calls == calls + 2


def test_a_failed_authorizer_invocation_is_not_cached(stack: Stack) -> None:
    # Given an identity on which the authorizer fails
    authorizer = stack.invokers["SessionAuthorizerFunction"]
    assert stack.get("/app/live", {"Authorization": "Bearer raise"}).status == 500
    calls = authorizer.calls

    # When it comes again at once
    answer = stack.get("/app/live", {"Authorization": "Bearer raise"})

    # Then the authorizer is invoked again
    assert answer.status == 500
    assert authorizer.calls == calls + 1


# --- Lambda authorizer, IAM policy responses, no cache ---


@pytest.mark.parametrize("key", ["allow", "wildcard"])
def test_lambda_policy_allowing_this_route_passes_its_context(stack: Stack, key: str) -> None:
    # Given a policy allowing execute-api:Invoke on this route's ARN (exactly, or by wildcard)
    # When the Policy route is called with both identity sources
    answer = stack.get("/app/policy/item-1?tenant=acme", {"X-Api-Key": key})

    # Then the function gets the policy answer's context
    assert answer.status == 200
    assert answer.body == {
        "routeKey": "GET /app/policy/{item}",
        "authorizer": {"lambda": {"tenant": "acme", "key": key}},
    }


@pytest.mark.parametrize("key", ["deny", "elsewhere", "nothing"])
def test_lambda_policy_deny_or_no_allow_for_this_route_is_403(stack: Stack, key: str) -> None:
    # Given a policy that denies this route, allows only another, or allows nothing
    calls = stack.invokers["AppEchoFunction"].calls

    # When the Policy route is called
    answer = stack.get("/app/policy/item-1?tenant=acme", {"X-Api-Key": key})

    # Then IAM evaluation (explicit Deny wins, default deny) gives 403 and the function never runs
    assert (answer.status, answer.body) == (403, {"message": "Forbidden"})
    assert stack.invokers["AppEchoFunction"].calls == calls


def test_lambda_policy_needs_every_identity_source_and_ttl_0_never_caches(stack: Stack) -> None:
    # Given the Policy authorizer (identity: X-Api-Key header and tenant query string; ReauthorizeEvery 0)
    authorizer = stack.invokers["PolicyAuthorizerFunction"]
    calls = authorizer.calls

    # When the query string is missing, then the same full identity is sent twice
    missing = stack.get("/app/policy/item-1", {"X-Api-Key": "allow"})
    first = stack.get("/app/policy/item-1?tenant=acme", {"X-Api-Key": "allow"})
    second = stack.get("/app/policy/item-1?tenant=acme", {"X-Api-Key": "allow"})

    # Then the first is a 401 without invoking, and each of the others invoked the authorizer
    assert missing.status == 401
    assert (first.status, second.status) == (200, 200)
    assert authorizer.calls == calls + 2
