"""Shared fixtures: moto-backed AWS with the tables of template.yaml, a signing key in SSM,
handlers loaded fresh per test from functions/, and events loaded from events/."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import boto3
import freezegun
import pytest
from moto import mock_aws

from authfixtures import reset_caches, signing_key_pem
from authlayer import jwks as jwks_module
from authlayer import keys as keys_module
from authlayer.config import get_settings
from localdev.template import create_queues, create_tables, load_template

ROOT = Path(__file__).resolve().parent.parent
# Powertools' parser package (imported by its batch utility) loads its pydantic models lazily on
# attribute access, which freezegun's scan of every module would trigger under a frozen clock.
freezegun.configure(extend_ignore_list=["aws_lambda_powertools.utilities.parser"])
KEY_PARAMETER = "/sam-refresh-auth/signing-key"
JWKS_PARAMETER = jwks_module.parameter_name_for(KEY_PARAMETER)  # the public JWK Set, apart
ISSUER = "https://abc123.execute-api.us-east-1.amazonaws.com"  # the events' domainName
DEMO_PASSWORD = "correct horse battery staple"

BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "USERS_TABLE": "UsersTable",  # sam local and the local runner name tables after logical ids
    "SESSIONS_TABLE": "SessionsTable",
    "SIGNING_KEY_PARAMETER": KEY_PARAMETER,
    "POWERTOOLS_SERVICE_NAME": "sam-refresh-auth",
    "POWERTOOLS_METRICS_NAMESPACE": "SamRefreshAuth",
}
# Settings the tests vary; cleared so the developer's shell cannot leak into a run.
SETTING_NAMES = [
    "ACCESS_TOKEN_TTL", "REFRESH_IDLE_TTL", "REFRESH_ABSOLUTE_TTL", "REFRESH_REUSE_GRACE", "ALLOWED_ORIGINS",
    "REGISTRATION_ENABLED", "TOKEN_ISSUER", "TOKEN_AUDIENCE", "COOKIE_SECURE", "COOKIE_SAMESITE",
    "SIGNING_KEY", "JWT_SECRET_EXPIRES", "REFRESH_TOKEN_EXPIRES", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SSM",
    "AWS_ENDPOINT_URL", "POWERTOOLS_LOGGER_LOG_EVENT", "MAIL_FROM", "RESET_PASSWORD_URL", "EMAIL_CONFIRMATION",
    "EMAIL_CONFIRMATION_REDIRECT", "RESET_TOKEN_TTL", "EMAIL_CONFIRMATION_TTL", "MAIL_QUEUE_URL",
]
MAIL_FROM = "no-reply@auth.example.com"


@lru_cache(maxsize=2)
def private_key_pem(index: int = 0) -> str:
    # Key 0 is also the one authfixtures (tests/examples) puts in SSM: one key generated, not two.
    return signing_key_pem() if index == 0 else keys_module.generate_private_key_pem()




@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Given moto AWS with the template's tables and the signing key in SSM."""
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in BASE_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://app.example.com")
    monkeypatch.setenv("MAIL_QUEUE_URL", "MailQueue")  # what !Ref MailQueue is under sam local
    monkeypatch.setenv("MAIL_FROM", MAIL_FROM)
    monkeypatch.setenv("RESET_PASSWORD_URL", "https://app.example.com/reset-password")
    monkeypatch.setenv("EMAIL_CONFIRMATION_REDIRECT", "https://app.example.com/email-confirmed")
    reset_caches()
    with mock_aws():
        template = load_template(ROOT / "template.yaml")
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        create_tables(ddb, template)
        ssm = boto3.client("ssm", region_name="us-east-1")
        ssm.put_parameter(Name=KEY_PARAMETER, Value=private_key_pem(0), Type="SecureString")
        public = jwks_module.document(keys_module.parse_key_set(private_key_pem(0)))
        ssm.put_parameter(Name=JWKS_PARAMETER, Value=public, Type="String")
        sqs = boto3.client("sqs", region_name="us-east-1")
        create_queues(sqs, template)
        ses = boto3.client("sesv2", region_name="us-east-1")
        ses.create_email_identity(EmailIdentity=MAIL_FROM.split("@")[1])  # the sender's domain, verified
        yield {"dynamodb": ddb, "ssm": ssm, "sqs": sqs, "ses": ses}
    reset_caches()


@dataclass
class LambdaContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "test-request"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


HANDLERS = {
    "login": "functions/login/login.py",
    "register": "functions/register/register.py",
    "refresh": "functions/refresh/refresh.py",
    "me": "functions/me/me.py",
    "keys": "functions/keys/keys.py",
    "logout": "functions/logout/logout.py",
    "sessions": "functions/sessions/sessions.py",
    "change_password": "functions/change_password/change_password.py",
    "mail_request": "functions/mail_request/mail_request.py",
    "mailer": "functions/mailer/mailer.py",
    "reset_password": "functions/reset_password/reset_password.py",
    "email_confirmation": "functions/email_confirmation/email_confirmation.py",
    "authorizer": "functions/authorizer/authorizer.py",
}


def load_handler(name: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """Import a handler module fresh (its settings are read at import, like a cold start)."""
    get_settings.cache_clear()
    spec = importlib.util.spec_from_file_location(f"handler_{name}", ROOT / HANDLERS[name])
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler


def load_event(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "events" / name).read_text())


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any
    cookies: list[str]

    @property
    def error_name(self) -> str:
        return self.body["error"]["name"]


class Api:
    """Calls handlers with events from events/, the way API Gateway would."""

    def __init__(self) -> None:
        self._handlers: dict[str, Any] = {}

    def reload(self) -> None:
        self._handlers.clear()

    def call(
        self,
        handler: str,
        event_file: str,
        body: Any = ...,
        cookies: list[str] | None = None,
        headers: dict[str, str | None] | None = None,
        raw_body: str | None = None,
        path_params: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> Answer:
        event = copy.deepcopy(load_event(event_file))
        if query is not None:
            event["queryStringParameters"] = query
            if not query:
                del event["queryStringParameters"]
        if path_params is not None:
            event["pathParameters"] = path_params
        if body is not ...:
            event["body"] = json.dumps(body)
        if raw_body is not None:
            event["body"] = raw_body
        if cookies is not None:
            event["cookies"] = cookies
            if not cookies:
                del event["cookies"]
        for name, value in (headers or {}).items():
            if value is None:
                event["headers"].pop(name, None)
            else:
                event["headers"][name] = value
        if handler not in self._handlers:
            self._handlers[handler] = load_handler(handler)
        result = self._handlers[handler](event, LambdaContext())
        text = result.get("body") or ""
        return Answer(result["statusCode"], result.get("headers", {}), json.loads(text) if text else None, result.get("cookies", []))

    # --- the flows most tests need ---
    def login(self, identifier: str = "demo", password: str = DEMO_PASSWORD, **kwargs: Any) -> Answer:
        return self.call("login", "login.json", {"identifier": identifier, "password": password}, **kwargs)

    def refresh_cookie(self, token: str, **kwargs: Any) -> Answer:
        return self.call("refresh", "refresh.json", {}, cookies=[f"__Host-refreshToken={token}"], **kwargs)

    def refresh_body(self, token: str, **kwargs: Any) -> Answer:
        return self.call("refresh", "refresh-body.json", {"refreshToken": token}, **kwargs)

    def me(self, jwt: str) -> Answer:
        return self.call("me", "me.json", headers={"authorization": f"Bearer {jwt}"})

    def logout(self, token: str, everywhere: bool = False, **kwargs: Any) -> Answer:
        event = "logout-all.json" if everywhere else "logout.json"
        return self.call("logout", event, cookies=[f"__Host-refreshToken={token}"], **kwargs)

    def sessions(self, jwt: str) -> Answer:
        return self.call("sessions", "sessions-list.json", headers={"authorization": f"Bearer {jwt}"})

    def delete_session(self, jwt: str, session_id: str) -> Answer:
        return self.call(
            "sessions", "sessions-delete.json", headers={"authorization": f"Bearer {jwt}"}, path_params={"id": session_id}
        )


def cookie_value(answer: Answer, name: str = "__Host-refreshToken") -> str:
    for cookie in answer.cookies:
        if cookie.startswith(f"{name}="):
            return cookie.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError(f"no {name} cookie in {answer.cookies}")


@pytest.fixture
def api(aws: dict[str, Any]) -> Api:
    return Api()


@pytest.fixture
def demo_user(aws: dict[str, Any]) -> Any:
    from authlayer.accounts import create_user

    get_settings.cache_clear()
    return create_user("demo", "Demo@Example.com", DEMO_PASSWORD)


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, api: Api) -> Callable[..., None]:
    """Change settings for the rest of a test; handlers are re-imported (a new cold start)."""

    def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        reset_caches()
        api.reload()

    return apply


os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "SamRefreshAuth")
