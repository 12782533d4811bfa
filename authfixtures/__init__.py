"""pytest fixtures for testing *your* Lambda functions behind sam-refresh-auth's tokens.

Load the plugin with ``pytest -p authfixtures`` (or ``addopts = "-p authfixtures"`` in your
pytest configuration). It needs pytest and moto 5 (``moto[dynamodb,ssm,sqs]``) next to this
project. Nothing is autouse: a test gets only the fixtures it names.

- ``auth_aws``: moto's ``mock_aws`` with the tables and queues of *your* template.yaml (option
  ``--auth-template`` or ini ``authfixtures_template``; default ``template.yaml`` in the rootdir),
  an RS256 signing key in SSM at the template's SigningKeyParameterName with its public JWK Set
  beside it, and the environment of the template's Globals (tables by logical id, as sam local).
- ``auth_tokens``: ``auth_tokens.caller(scopes=[...], claims={...})`` stores a user and a live
  session and mints an access token for them, exactly as login would.
- ``apigw_event``: API Gateway HTTP API (payload 2.0) events: ``apigw_event("GET", "/api/x",
  caller=c, authorizer="jwt" | "lambda" | None)`` fills ``requestContext.authorizer`` as API
  Gateway does; ``apigw_event.authorizer_request(...)`` is the event a REQUEST authorizer gets.
- ``lambda_context`` and ``load_function(path)`` (a handler file under a module name of its own,
  so several ``app.py`` can be tested in one run).
See docs/testing-your-functions.md.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localdev.authorizers import claim_string
from localdev.template import create_queues, create_tables, globals_environment, load_template

REGION = "us-east-1"
DEFAULT_KEY_PARAMETER = "/sam-refresh-auth/signing-key"
AUTH_DOMAIN = "abc123.execute-api.us-east-1.amazonaws.com"  # where tokens come from (AuthApi)
API_DOMAIN = "app456.execute-api.us-east-1.amazonaws.com"  # where your routes are (AppApi)
PASSWORD = "correct horse battery staple"
# From the developer's shell, nothing that could point a test at real AWS or another key.
_CLEARED = (
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_SSM",
    "AWS_ENDPOINT_URL_SQS",
    "AWS_ENDPOINT_URL_SESV2",
    "SIGNING_KEY",
    "TOKEN_ISSUER",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("authfixtures_template", "SAM template whose tables authfixtures creates", default="template.yaml")
    parser.getgroup("authfixtures").addoption(
        "--auth-template", dest="authfixtures_template", metavar="PATH", help="SAM template (default: template.yaml)"
    )


def reset_caches() -> None:
    """What a fresh Lambda container would not have: settings, clients, cached parameters."""
    from aws_lambda_powertools.utilities import parameters

    from authlayer import jwks
    from authlayer.config import get_settings
    from authlayer.dal import dynamo, mail, queue

    get_settings.cache_clear()
    dynamo.client.cache_clear()
    mail._client.cache_clear()
    queue.clear_caches()
    parameters.clear_caches()
    jwks.forget_reloads()


@lru_cache(maxsize=1)
def signing_key_pem() -> str:
    """One 2048-bit key per test session (generating one costs ~0.1 s)."""
    from authlayer.keys import generate_private_key_pem

    return generate_private_key_pem()


@dataclass
class AuthAws:
    """The moto clients, the template and what the functions were configured with."""

    template: dict[str, Any]
    environment: dict[str, str]
    issuer: str
    dynamodb: Any
    ssm: Any
    sqs: Any


@pytest.fixture(scope="session")
def auth_template(pytestconfig: pytest.Config) -> dict[str, Any]:
    """Your template.yaml, parsed (CloudFormation tags in their long form)."""
    raw = pytestconfig.getoption("authfixtures_template") or pytestconfig.getini("authfixtures_template")
    path = Path(raw)
    if not path.is_absolute():
        path = pytestconfig.rootpath / path
    if not path.is_file():
        raise pytest.UsageError(f"authfixtures: no template at {path} (set --auth-template or authfixtures_template)")
    return load_template(path)


@pytest.fixture
def auth_aws(auth_template: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[AuthAws]:
    """Given moto AWS with your template's tables and queues and a signing key in SSM."""
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    environment = {k: v for k, v in globals_environment(auth_template).items() if v != ""}
    environment.setdefault("SIGNING_KEY_PARAMETER", DEFAULT_KEY_PARAMETER)
    # Empty TokenIssuer means AuthApi's own URL; your API's events come from another domain.
    environment["TOKEN_ISSUER"] = environment.get("TOKEN_ISSUER") or f"https://{AUTH_DOMAIN}"
    environment.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
    )
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    reset_caches()
    from authlayer import jwks, keys

    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_tables(dynamodb, auth_template)
        sqs = boto3.client("sqs", region_name=REGION)
        create_queues(sqs, auth_template)
        ssm = boto3.client("ssm", region_name=REGION)
        key_parameter = environment["SIGNING_KEY_PARAMETER"]
        ssm.put_parameter(Name=key_parameter, Value=signing_key_pem(), Type="SecureString")
        public = jwks.document(keys.parse_key_set(signing_key_pem()))
        ssm.put_parameter(Name=jwks.parameter_name_for(key_parameter), Value=public, Type="String")
        yield AuthAws(auth_template, environment, environment["TOKEN_ISSUER"], dynamodb, ssm, sqs)
    reset_caches()


@dataclass
class Caller:
    """A stored user with a live session, and an access token of that session."""

    user: Any  # authlayer.models.User
    session_id: str
    refresh_token: str
    access_token: str
    claims: dict[str, Any]  # the access token's claims, as signed

    @property
    def authorization(self) -> str:
        return f"Bearer {self.access_token}"


class TokenFactory:
    """Users, sessions and access tokens, made by the project's own code (what login makes)."""

    def __init__(self, aws: AuthAws) -> None:
        self.aws = aws

    def caller(
        self,
        username: str | None = None,
        *,
        password: str = PASSWORD,
        scopes: Sequence[str] | None = None,
        claims: Mapping[str, Any] | None = None,
        blocked: bool = False,
    ) -> Caller:
        """A new user (``username``, ``<username>@example.com``) with one session and a token."""
        from authlayer.accounts import create_user

        name = username or f"user-{uuid.uuid4().hex[:12]}"
        user = create_user(name, f"{name}@example.com", password, blocked=blocked)
        return self.session_of(user, scopes=scopes, claims=claims)

    def session_of(
        self, user: Any, *, scopes: Sequence[str] | None = None, claims: Mapping[str, Any] | None = None
    ) -> Caller:
        """Another live session of a stored user (a second device), with its own token."""
        from authlayer.config import get_settings
        from authlayer.logic import sessions

        renewed = sessions.start(get_settings(), user.id, "pytest", "127.0.0.1")
        token = self.mint(user.id, renewed.session.id, scopes=scopes, claims=claims)
        return Caller(user, renewed.session.id, str(renewed.token), token, _payload(token))

    def mint(
        self,
        user_id: str,
        session_id: str,
        *,
        scopes: Sequence[str] | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        """An access token for that user and session; ``scopes`` become the ``scope`` claim."""
        from authlayer import access_tokens, keys
        from authlayer.config import get_settings

        extra = dict(claims or {})
        if scopes is not None:
            extra["scope"] = " ".join(scopes)  # RFC 9068 §2.2.3: space-separated
        key_set = keys.parse_key_set(signing_key_pem())
        return access_tokens.issue(get_settings(), key_set, self.aws.issuer, user_id, session_id, extra)


def _payload(token: str) -> dict[str, Any]:
    """The claims of a token minted here (already trusted: no verification needed to read them)."""
    part = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


@pytest.fixture
def auth_tokens(auth_aws: AuthAws) -> TokenFactory:
    return TokenFactory(auth_aws)


def jwt_authorizer_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims as API Gateway's JWT authorizer hands them on: every value a string, in the same
    wire format the local runner's JWT authorizer uses (localdev.authorizers.claim_string)."""
    return {name: text for name, value in claims.items() if (text := claim_string(value)) is not None}


@dataclass
class EventBuilder:
    """API Gateway HTTP API payload 2.0 events for your API (AppApi by default)."""

    domain: str = API_DOMAIN
    defaults: dict[str, str] = field(default_factory=lambda: {"user-agent": "pytest", "accept": "application/json"})

    def __call__(
        self,
        method: str = "GET",
        path: str = "/",
        *,
        caller: Caller | None = None,
        authorizer: str | None = None,
        scopes: Sequence[str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        query: Mapping[str, str] | None = None,
        cookies: Sequence[str] | None = None,
        path_parameters: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """``authorizer="jwt"``: claims of ``caller``'s token as strings and ``scopes`` (null unless
        given: API Gateway fills them for routes with AuthorizationScopes); ``"lambda"``: the
        revocation-aware authorizer's context; None: a route without an authorizer."""
        event = self._base(method, path, caller, headers, body, query, cookies)
        if path_parameters:
            event["pathParameters"] = dict(path_parameters)
        if authorizer is not None:
            if caller is None:
                raise ValueError("an authorizer context needs the caller it was made for")
            event["requestContext"]["authorizer"] = self._authorizer(authorizer, caller, scopes)
        return event

    def authorizer_request(
        self,
        method: str = "GET",
        path: str = "/",
        *,
        caller: Caller | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The REQUEST event (payload 2.0) a Lambda authorizer with identity source Authorization gets."""
        event = self._base(method, path, caller, headers, None, None, None)
        event.pop("isBase64Encoded")
        context = event["requestContext"]
        route_arn = f"arn:aws:execute-api:{REGION}:123456789012:{context['apiId']}/$default/{method.upper()}{path}"
        event.update(type="REQUEST", routeArn=route_arn)
        event["identitySource"] = [event["headers"]["authorization"]] if "authorization" in event["headers"] else []
        return event

    def _base(
        self,
        method: str,
        path: str,
        caller: Caller | None,
        headers: Mapping[str, str] | None,
        body: Any,
        query: Mapping[str, str] | None,
        cookies: Sequence[str] | None,
    ) -> dict[str, Any]:
        all_headers = {"host": self.domain, **self.defaults}
        if caller is not None:
            all_headers["authorization"] = caller.authorization
        all_headers.update({k.lower(): v for k, v in (headers or {}).items()})  # API Gateway lower-cases them
        if body is not None and not isinstance(body, str):
            body = json.dumps(body)
            all_headers.setdefault("content-type", "application/json")
        route = f"{method.upper()} {path}"
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route,
            "rawPath": path,
            "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
            "headers": all_headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": self.domain.split(".")[0],
                "domainName": self.domain,
                "domainPrefix": self.domain.split(".")[0],
                "http": {
                    "method": method.upper(),
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": all_headers.get("user-agent", ""),
                },
                "requestId": str(uuid.uuid4()),
                "routeKey": route,
                "stage": "$default",
                "time": "01/Jan/2026:00:00:00 +0000",
                "timeEpoch": 1767225600000,
            },
            "isBase64Encoded": False,
        }
        if query:
            event["queryStringParameters"] = dict(query)
        if cookies:
            event["cookies"] = list(cookies)  # HTTP API v2 moves Cookie headers here
        if body is not None:
            event["body"] = body
        return event

    @staticmethod
    def _authorizer(kind: str, caller: Caller, scopes: Sequence[str] | None) -> dict[str, Any]:
        if kind == "jwt":
            return {"jwt": {"claims": jwt_authorizer_claims(caller.claims), "scopes": list(scopes) if scopes else None}}
        if kind == "lambda":
            from authlayer.access_tokens import AccessClaims
            from authlayer.logic.authorize import context_of

            c = caller.claims
            claims = AccessClaims(c["sub"], c["sid"], c["exp"], c["iss"], c["aud"], c.get("scope"))
            return {"lambda": context_of(claims)}
        raise ValueError(f"authorizer must be 'jwt', 'lambda' or None, not {kind!r}")


@pytest.fixture
def apigw_event() -> EventBuilder:
    return EventBuilder()


@dataclass
class LambdaContext:
    function_name: str = "pytest-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:pytest-function"
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"
    log_group_name: str = "/aws/lambda/pytest-function"
    log_stream_name: str = "pytest"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


def load_function(path: str | Path, handler: str = "handler") -> Callable[[dict[str, Any], Any], Any]:
    """Import a handler file fresh, as a cold start does (its settings are read at import), under a
    module name of its own: two functions' ``app.py`` never collide in one test run."""
    from authlayer.config import get_settings

    get_settings.cache_clear()
    path = Path(path).resolve()
    spec = importlib.util.spec_from_file_location(f"authfixtures_fn_{uuid.uuid4().hex}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, handler)  # type: ignore[no-any-return]
