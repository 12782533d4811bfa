"""schemathesis against the local runner: openapi.yaml, as served, agrees with what the API does.

Every operation is fuzzed (examples, coverage and fuzzing phases; positive and negative data)
with a bounded, derandomized number of examples, and every response must be no server error,
a documented status code and content type, and a body that fits the documented schema.
Authenticated operations get the demo user's access JWT; refresh and logout get a live refresh
cookie, renewed whenever a call has rotated or ended it. What fuzzing cannot reach (a right
password, a mailed reset code or confirmation token) is covered by fixed requests at the end,
the codes read from the runner's outbox.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

if TYPE_CHECKING:  # the fixtures come from conftest.py; importing it again would run it twice
    from tests.e2e.conftest import Runner

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
MAX_EXAMPLES = 40  # per operation; derandomized, so every CI run sends the same requests
TRANSPORT_HEADER = "X-Refresh-Token-Transport"
# What a rejection of invalid data may look like here: 413 too (a long field can make the body
# exceed the 12 KiB limit before validation), which schemathesis' default list lacks.
REJECTIONS = ["400", "401", "403", "404", "413", "415", "429"]
COOKIE = "refreshToken"  # COOKIE_SECURE=false locally: no __Host- prefix over plain http
BEARER_OPERATIONS = {"listSessions", "revokeSession", "changePassword", "me"}
COOKIE_OPERATIONS = {"refreshTutorialPath", "refresh", "logout"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


class DemoCredentials:
    """The demo user's access JWT and a live refresh token, logging in again when one has ended."""

    def __init__(self, runner: Runner):
        self.runner = runner
        self._jwt: str | None = None
        self._refresh_token: str | None = None
        self.logins = 0

    def _login(self) -> dict[str, Any]:
        answer = self.runner.request(
            "POST",
            "/api/auth/local",
            {"identifier": "demo", "password": self.runner.demo_password},
            {"X-Refresh-Token-Transport": "body"},
        )
        assert answer.status == 200, f"demo login failed: {answer.status} {answer.raw!r}"
        self.logins += 1
        return answer.body

    def jwt(self) -> str:
        if self._jwt is None:
            self._jwt = self._login()["jwt"]
        return self._jwt

    def refresh_token(self) -> str:
        if self._refresh_token is None:
            self._refresh_token = self._login()["refreshToken"]
        return self._refresh_token

    def prepare(self, case: schemathesis.Case) -> None:
        operation = case.operation.definition.raw["operationId"]
        if operation in BEARER_OPERATIONS:
            case.headers["Authorization"] = f"Bearer {self.jwt()}"
        if operation in COOKIE_OPERATIONS:
            # Only the name this runner reads: it ignores `__Host-refreshToken` (COOKIE_SECURE=false),
            # so whatever was generated for that one would be accepted without being looked at.
            case.cookies = {COOKIE: self.refresh_token()}

    def after(self, case: schemathesis.Case, response: Any) -> None:
        """Forget what the call rotated or ended, so the next case starts with live credentials."""
        operation = case.operation.definition.raw["operationId"]
        if operation in COOKIE_OPERATIONS and response.status_code in (200, 204, 401):
            # Rotated (200: carry on with its child, from the cookie or, in body mode, the body),
            # ended (204) or dead (401: log in again)
            self._refresh_token = rotated_token(response) if response.status_code == 200 else None
        if operation == "logout" and response.status_code == 204:
            self._jwt = None  # {"scope": "all"} ends the access token's session too
        if operation in BEARER_OPERATIONS and (
            response.status_code == 401 or (operation == "changePassword" and response.status_code == 200)
        ):
            self._jwt = None  # ended, or every session ended by a password change


def rotated_token(response: Any) -> str | None:
    for header in response.headers.get("set-cookie", []):
        name, _, rest = header.partition("=")
        if name == COOKIE:
            return rest.split(";", 1)[0] or None
    body = response.json()
    return body.get("refreshToken") if isinstance(body, dict) else None


@pytest.fixture(scope="module")
def fuzzed_runner(start: Callable[..., Runner]) -> Runner:
    """A runner of its own: fuzzing registers users and ends sessions."""
    return start()


@pytest.fixture(scope="module")
def credentials(fuzzed_runner: Runner) -> DemoCredentials:
    return DemoCredentials(fuzzed_runner)


def served_schema(runner: Runner) -> Any:
    # The document as the runner serves it; `servers: [{url: /}]` makes the runner the base URL.
    config = schemathesis.Config.from_dict({"checks": {"negative_data_rejection": {"expected-statuses": REJECTIONS}}})
    return schemathesis.openapi.from_url(f"{runner.url}/openapi.json", config=config)


@pytest.fixture(scope="module")
def api_schema(fuzzed_runner: Runner) -> Any:
    return served_schema(fuzzed_runner)


# Not `schemathesis.pytest.from_fixture` + `@schema.parametrize()`: with pytest 9 (no
# `Item._nodeid`) schemathesis 4.32's lazy loader fails. One test per operation, ids from the file.
OPERATIONS = [
    pytest.param(method.upper(), path, id=item["operationId"])
    for path, methods in yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))["paths"].items()
    for method, item in methods.items()
]


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_operation_conforms_to_openapi_document(
    api_schema: Any, credentials: DemoCredentials, method: str, path: str
) -> None:
    operation = api_schema[path][method]
    # Positive and negative (schema-violating) data, plus the document's own examples
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
        *operation.get_strategies_from_examples(),
    )

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        # Given a generated request, with live credentials where the operation needs them
        credentials.prepare(case)

        # When it is sent to the runner
        response = case.call(timeout=30)
        credentials.after(case, response)

        # Then no server error, and status, content type and body are as documented
        case.validate_response(response, checks=CHECKS)

    check()


def test_unknown_transport_header_value_is_rejected(fuzzed_runner: Runner) -> None:
    # Given a client that asks for a transport the document does not define (enum: [body])
    # When it logs in
    answer = fuzzed_runner.request(
        "POST",
        "/api/auth/local",
        {"identifier": "demo", "password": fuzzed_runner.demo_password},
        {TRANSPORT_HEADER: "bodyy"},
    )

    # Then it is refused as invalid, not silently answered in cookie mode
    assert answer.status == 400, answer.status


@pytest.mark.parametrize("transport", [{}, {TRANSPORT_HEADER: "body"}], ids=["cookie", "body"])
def test_demo_login_conforms_to_openapi_document(
    api_schema: Any, fuzzed_runner: Runner, transport: dict[str, str]
) -> None:
    # Given the demo user's right credentials (which fuzzing never guesses)
    case = api_schema["/api/auth/local"]["POST"].Case(
        body={"identifier": "demo", "password": fuzzed_runner.demo_password}, headers=transport
    )

    # When they log in
    response = case.call(timeout=30)

    # Then the 200 is as documented, with the refresh token where the transport puts it
    case.validate_response(response, checks=CHECKS)
    assert response.status_code == 200
    assert ("refreshToken" in response.json()) == bool(transport)


def test_throttled_login_conforms_to_openapi_document(api_schema: Any, fuzzed_runner: Runner) -> None:
    # Given a user (not the demo user, whom the other tests need) with too many failed logins
    user = {"username": "throttled", "email": "throttled@example.com", "password": "right password 1"}
    assert fuzzed_runner.request("POST", "/api/auth/local/register", user).status == 200
    operation = api_schema["/api/auth/local"]["POST"]
    wrong = {"identifier": user["username"], "password": "wrong password"}
    statuses = []
    for _ in range(7):
        case = operation.Case(body=wrong)
        response = case.call(timeout=30)
        # Then every answer, the 400s and the 429s, is as documented
        case.validate_response(response, checks=CHECKS)
        statuses.append(response.status_code)

    assert statuses[0] == 400
    assert statuses[-1] == 429
    assert int(response.headers["retry-after"][0]) >= 1


def test_password_change_and_session_revocation_conform_to_openapi_document(
    api_schema: Any, fuzzed_runner: Runner
) -> None:
    # Given a registered user in body mode (not the demo user: a password change ends every session)
    register = api_schema["/api/auth/local/register"]["POST"].Case(
        body={"username": "changer", "email": "changer@example.com", "password": "first password"},
        headers={TRANSPORT_HEADER: "body"},
    )
    registered = register.call(timeout=30)
    register.validate_response(registered, checks=CHECKS)
    assert registered.status_code == 200

    # When they change their password, list their sessions and revoke the current one
    change = api_schema["/api/auth/change-password"]["POST"].Case(
        body={
            "currentPassword": "first password",
            "password": "second password",
            "passwordConfirmation": "second password",
        },
        headers={TRANSPORT_HEADER: "body", "Authorization": f"Bearer {registered.json()['jwt']}"},
    )
    changed = change.call(timeout=30)
    change.validate_response(changed, checks=CHECKS)
    assert changed.status_code == 200
    bearer = {"Authorization": f"Bearer {changed.json()['jwt']}"}
    listing = api_schema["/api/auth/sessions"]["GET"].Case(headers=bearer)
    listed = listing.call(timeout=30)
    listing.validate_response(listed, checks=CHECKS)
    (session,) = listed.json()["data"]
    revoke = api_schema["/api/auth/sessions/{id}"]["DELETE"].Case(path_parameters={"id": session["id"]}, headers=bearer)
    revoked = revoke.call(timeout=30)

    # Then each answer is as documented, and the revoked session's token no longer works
    revoke.validate_response(revoked, checks=CHECKS)
    assert revoked.status_code == 204
    assert session["current"] is True
    again = listing.call(timeout=30)
    listing.validate_response(again, checks=CHECKS)
    assert again.status_code == 401


def mailed_value(message: EmailMessage, name: str) -> str:
    """The `name` query value of the link in a mail's plain-text part (a code or a token)."""
    text = message.get_body(preferencelist=("plain",))
    assert text is not None, "no text part"
    found = re.search(rf"[?&]{name}=([A-Za-z0-9_%-]+)", text.get_content())
    assert found, f"no ?{name}= in the mail"
    return urllib.parse.unquote(found.group(1))


@pytest.mark.parametrize("transport", [{}, {TRANSPORT_HEADER: "body"}], ids=["cookie", "body"])
def test_password_reset_conforms_to_openapi_document(
    api_schema: Any, fuzzed_runner: Runner, transport: dict[str, str]
) -> None:
    # Given a registered user (not the demo user: a reset ends every session) who asked for a reset
    name = f"forgetful-{'body' if transport else 'cookie'}"
    address = f"{name}@example.com"
    user = {"username": name, "email": address, "password": "forgotten password"}
    assert fuzzed_runner.request("POST", "/api/auth/local/register", user).status == 200
    mails = len(fuzzed_runner.outbox())
    forgot = api_schema["/api/auth/forgot-password"]["POST"].Case(body={"email": address})
    asked = forgot.call(timeout=30)
    forgot.validate_response(asked, checks=CHECKS)
    assert asked.json() == {"ok": True}
    code = mailed_value(fuzzed_runner.wait_for_mail(address, mails), "code")
    operation = api_schema["/api/auth/reset-password"]["POST"]
    new_password = "remembered password"

    # When they send the code with passwords that differ, then rightly, then the spent code again
    mismatch = operation.Case(
        body={"code": code, "password": new_password, "passwordConfirmation": "something else"}, headers=transport
    )
    mismatched = mismatch.call(timeout=30)
    reset = operation.Case(
        body={"code": code, "password": new_password, "passwordConfirmation": new_password}, headers=transport
    )
    answered = reset.call(timeout=30)
    replayed = reset.call(timeout=30)

    # Then every answer is as documented: the mismatch spent nothing, the reset answers like a
    # login (refresh token where the transport puts it), and a spent code is refused
    for case, response in ((mismatch, mismatched), (reset, answered), (reset, replayed)):
        case.validate_response(response, checks=CHECKS)
    assert mismatched.status_code == 400
    assert mismatched.json()["error"]["message"] == "Passwords do not match"
    assert answered.status_code == 200, answered.text
    assert answered.json()["user"]["email"] == address
    assert ("refreshToken" in answered.json()) == bool(transport)
    assert rotated_token(answered)
    assert replayed.status_code == 400
    assert replayed.json()["error"]["message"] == "Incorrect code provided"
    login = {"identifier": address, "password": new_password}
    assert fuzzed_runner.request("POST", "/api/auth/local", login).status == 200


@pytest.fixture(scope="module")
def confirming_runner(start: Callable[..., Runner]) -> Runner:
    """A runner where new accounts must follow the mailed link before they can log in."""
    return start(EMAIL_CONFIRMATION="true")


def test_email_confirmation_conforms_to_openapi_document(confirming_runner: Runner) -> None:
    # Given a runner with EMAIL_CONFIRMATION=true and its document
    runner = confirming_runner
    schema = served_schema(runner)
    address = "unconfirmed@example.com"
    mails = len(runner.outbox())

    # When a user registers
    register = schema["/api/auth/local/register"]["POST"].Case(
        body={"username": "unconfirmed", "email": address, "password": "confirm me please"}
    )
    registered = register.call(timeout=30)

    # Then the answer is the documented alternative: the user alone, unconfirmed, no tokens, no cookie
    register.validate_response(registered, checks=CHECKS)
    assert registered.status_code == 200
    assert set(registered.json()) == {"user"}
    assert registered.json()["user"]["confirmed"] is False
    assert "set-cookie" not in registered.headers
    # And login is refused (documented 400 ApplicationError) until the link is followed
    login = schema["/api/auth/local"]["POST"].Case(body={"identifier": address, "password": "confirm me please"})
    refused = login.call(timeout=30)
    login.validate_response(refused, checks=CHECKS)
    assert refused.status_code == 400
    assert refused.json()["error"]["name"] == "ApplicationError"

    # When the mailed link is followed (schemathesis does not follow the redirect), and again
    token = mailed_value(runner.wait_for_mail(address, mails), "confirmation")
    confirm = schema["/api/auth/email-confirmation"]["GET"].Case(query={"confirmation": token})
    confirmed = confirm.call(timeout=30)
    again = confirm.call(timeout=30)

    # Then the first is the documented 302 without a body, to the runner's own page, and the
    # spent token is a 400
    confirm.validate_response(confirmed, checks=CHECKS)
    assert confirmed.status_code == 302
    assert confirmed.headers["location"] == [f"{runner.url}/?emailConfirmed=true"]
    assert confirmed.content == b""
    confirm.validate_response(again, checks=CHECKS)
    assert again.status_code == 400
    assert again.json()["error"]["name"] == "ValidationError"

    # And asking for a link again answers as documented (the address as sent), though none is due
    resend = schema["/api/auth/send-email-confirmation"]["POST"].Case(body={"email": address.upper()})
    resent = resend.call(timeout=30)
    resend.validate_response(resent, checks=CHECKS)
    assert resent.json() == {"email": address.upper(), "sent": True}
    # And the account logs in now
    allowed = login.call(timeout=30)
    login.validate_response(allowed, checks=CHECKS)
    assert allowed.status_code == 200
