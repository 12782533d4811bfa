"""The tokens' issuer: TOKEN_ISSUER, else the origin the client called (OpenID Connect Discovery 1.0 §4.3).

On API Gateway that origin is https://<requestContext.domainName>; under `sam local` (AWS_SAM_LOCAL=true)
domainName is the constant "localhost", so it is the Host header with SAM's X-Forwarded-Proto.
"""

import copy

import pytest

from authlayer.config import load_settings
from authlayer.http import Request
from authlayer.transport import issuer
from tests.conftest import load_event

BASE = {"USERS_TABLE": "UsersTable", "SESSIONS_TABLE": "SessionsTable"}


def as_sam_local(event: dict, host: str, proto: str = "http") -> dict:
    """The event as SAM CLI 1.170 builds it (samcli/local/apigw/event_constructor.py and
    local/events/api_event.py): the client's headers as sent (Flask's capitalisation), X-Forwarded-Proto
    set to the server's scheme, and domainName/domainPrefix the constant "localhost"."""
    event = copy.deepcopy(event)
    event["headers"] = {"Host": host, "User-Agent": "curl/8.5.0", "X-Forwarded-Proto": proto, "X-Forwarded-Port": "3000"}
    event["requestContext"].update(domainName="localhost", domainPrefix="localhost", apiId="1234567890")
    return event


def test_on_api_gateway_the_issuer_is_the_https_domain_name_even_when_sam_local_is_unset():
    # Given the deployed environment (no AWS_SAM_LOCAL, no TOKEN_ISSUER) and API Gateway's event
    settings = load_settings(BASE)
    request = Request.from_event(load_event("openid-configuration.json"))
    # When the issuer is derived / Then it is the API's own https origin, as before
    assert not settings.sam_local
    assert issuer(settings, request) == "https://abc123.execute-api.us-east-1.amazonaws.com"


def test_on_api_gateway_a_host_header_does_not_move_the_issuer():
    # Given API Gateway's event with a client-chosen Host header (AWS_SAM_LOCAL is never set on AWS)
    event = load_event("openid-configuration.json")
    event["headers"]["host"] = "attacker.example"
    # When / Then domainName, which API Gateway sets, decides
    assert issuer(load_settings(BASE), Request.from_event(event)) == "https://abc123.execute-api.us-east-1.amazonaws.com"


@pytest.mark.parametrize(
    ("host", "proto", "expected"),
    [
        ("127.0.0.1:3000", "http", "http://127.0.0.1:3000"),
        ("localhost:3999", "http", "http://localhost:3999"),
        ("[::1]:3000", "http", "http://[::1]:3000"),
        ("127.0.0.1:3443", "https", "https://127.0.0.1:3443"),  # sam local --ssl-cert-file
    ],
)
def test_under_sam_local_the_issuer_is_the_origin_the_client_called(host, proto, expected):
    # Given sam local's environment (AWS_SAM_LOCAL=true, no TOKEN_ISSUER) and the event SAM builds
    settings = load_settings({**BASE, "AWS_SAM_LOCAL": "true"})
    request = Request.from_event(as_sam_local(load_event("openid-configuration.json"), host, proto))
    # When the issuer is derived / Then it is the URL the discovery document was fetched under
    assert issuer(settings, request) == expected


@pytest.mark.parametrize(("host", "proto"), [("127.0.0.1:3000/evil", "http"), ("u@127.0.0.1", "http"), ("127.0.0.1", "gopher")])
def test_under_sam_local_a_host_or_scheme_that_is_no_origin_keeps_the_default(host, proto):
    # Given sam local and a Host or X-Forwarded-Proto that would not make an origin
    settings = load_settings({**BASE, "AWS_SAM_LOCAL": "true"})
    request = Request.from_event(as_sam_local(load_event("openid-configuration.json"), host, proto))
    # When / Then the issuer stays https://<domainName>, never a URL with a path or userinfo in it
    assert issuer(settings, request) == "https://localhost"


def test_token_issuer_wins_under_sam_local_too():
    # Given sam local with --parameter-overrides TokenIssuer=... (TOKEN_ISSUER in the function)
    settings = load_settings({**BASE, "AWS_SAM_LOCAL": "true", "TOKEN_ISSUER": "https://auth.example.com"})
    request = Request.from_event(as_sam_local(load_event("openid-configuration.json"), "127.0.0.1:3000"))
    # When / Then the override decides, as on AWS
    assert issuer(settings, request) == "https://auth.example.com"


AUTHORIZER = {**BASE, "AUTH_API_ORIGIN": "https://abc123.execute-api.us-east-1.amazonaws.com"}


def test_the_authorizer_judges_other_apis_requests_against_the_auth_api_s_origin():
    # Given the revocation-aware authorizer's environment (AUTH_API_ORIGIN, no TOKEN_ISSUER) and a
    # request to another API (AppApi, another stack's): its domain is not the issuer's
    event = load_event("openid-configuration.json")
    event["requestContext"]["domainName"] = "orders.example.com"
    # When / Then the issuer is the auth API's origin, as the JWT authorizer's is
    assert issuer(load_settings(AUTHORIZER), Request.from_event(event)) == "https://abc123.execute-api.us-east-1.amazonaws.com"
    # and TOKEN_ISSUER (a custom domain) still wins
    custom = load_settings({**AUTHORIZER, "TOKEN_ISSUER": "https://auth.example.com"})
    assert issuer(custom, Request.from_event(event)) == "https://auth.example.com"


def test_under_sam_local_the_authorizer_takes_the_origin_the_client_called():
    # Given sam local, which resolves AUTH_API_ORIGIN's !Sub to a URL that exists nowhere, and
    # serves AuthApi and AppApi on one origin
    settings = load_settings({**AUTHORIZER, "AWS_SAM_LOCAL": "true", "AUTH_API_ORIGIN": "https://AuthApi.execute-api.us-east-1.amazonaws.com"})
    request = Request.from_event(as_sam_local(load_event("openid-configuration.json"), "127.0.0.1:3000"))
    # When / Then the issuer is that origin, the one the login handed out
    assert issuer(settings, request) == "http://127.0.0.1:3000"
