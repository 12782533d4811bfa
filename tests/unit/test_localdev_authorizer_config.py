"""Which authorizer guards which route, read from the template as SAM reads it; what the runner
cannot emulate stops it at start-up instead of serving a route open."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from localdev.authorizer_config import (
    DEFAULT_RESULT_TTL,
    JwtAuthorizer,
    LambdaAuthorizer,
    RouteAuthorizers,
)
from localdev.template import IMPLICIT_HTTP_API, Route, TemplateError, functions, load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "tests" / "runner_authorizers" / "template.yaml"
LOCAL = "http://127.0.0.1:3000"
OVERRIDES = {"TOKEN_ISSUER": LOCAL}  # what `make dev` gives (localdev.settings.overrides)


def template() -> dict[str, Any]:
    return copy.deepcopy(load_template(TEMPLATE))


def decide(tpl: dict[str, Any], overrides: dict[str, str] | None = None) -> tuple[RouteAuthorizers, dict[str, Route]]:
    overrides = OVERRIDES if overrides is None else overrides
    routes = {r.path: r for f in functions(tpl, TEMPLATE.parent, overrides) for r in f.routes}
    return RouteAuthorizers(tpl, routes.values(), LOCAL, overrides), routes


def app_echo_events(tpl: dict[str, Any]) -> dict[str, Any]:
    return tpl["Resources"]["AppEchoFunction"]["Properties"]["Events"]


def test_each_route_gets_the_authorizer_sam_gives_it() -> None:
    # Given the test template (contract16's AppApi shapes, NONE, scopes, the implicit API)
    # When the runner decides the routes' authorizers
    auth, routes = decide(template())

    # Then: no Auth -> DefaultAuthorizer; NONE -> open; route scopes; Lambda; implicit API
    default = auth[routes["/app/jwt"]]
    assert isinstance(default.authorizer, JwtAuthorizer)
    assert (default.authorizer.name, default.authorizer.issuer, default.authorizer.audiences) == (
        "AccessToken",
        LOCAL,
        ("runner-tests",),
    )
    assert default.scopes == ()
    assert auth[routes["/app/scoped"]].scopes == ("orders/read", "orders/admin")
    assert auth[routes["/app/open"]].authorizer is None
    live = auth[routes["/app/live"]].authorizer
    assert isinstance(live, LambdaAuthorizer)
    assert (live.function, live.identity_sources, live.result_ttl, live.simple_responses) == (
        "SessionAuthorizerFunction",
        ("$request.header.Authorization",),
        30,  # ReauthorizeEvery: !Ref AuthorizerCacheTtl
        True,
    )
    policy = auth[routes["/app/policy/{item}"]].authorizer
    assert isinstance(policy, LambdaAuthorizer)
    assert policy.identity_sources == ("$request.header.X-Api-Key", "$request.querystring.tenant")
    assert (policy.result_ttl, policy.simple_responses) == (0, False)
    assert routes["/implicit/jwt"].api == IMPLICIT_HTTP_API
    assert auth[routes["/implicit/jwt"]].authorizer.name == "SharedJwt"  # type: ignore[union-attr]
    assert auth[routes["/implicit/open"]].authorizer is None
    assert auth[routes["/.well-known/jwks.json"]].authorizer is None
    assert auth.lambda_functions() == {"SessionAuthorizerFunction", "PolicyAuthorizerFunction"}


def test_an_execute_api_issuer_of_this_stack_is_the_runners_origin() -> None:
    # Given TOKEN_ISSUER empty, so the issuer is !Sub https://${AuthApi}.execute-api...
    # When the runner decides the routes' authorizers
    auth, routes = decide(template(), {"TOKEN_ISSUER": ""})

    # Then the JWT authorizer expects the runner's origin as iss (contract16)
    assert auth[routes["/app/jwt"]].authorizer.issuer == LOCAL  # type: ignore[union-attr]


def test_a_foreign_issuer_is_kept_as_it_is() -> None:
    # Given a JWT authorizer trusting some other issuer
    tpl = template()
    config = tpl["Resources"]["AppApi"]["Properties"]["Auth"]["Authorizers"]["AccessToken"]["JwtConfiguration"]
    config["issuer"] = "https://cognito-idp.us-east-1.amazonaws.com/pool"

    # When the runner decides the routes' authorizers
    auth, routes = decide(tpl)

    # Then nothing is relaxed: tokens must come from that issuer
    assert auth[routes["/app/jwt"]].authorizer.issuer == "https://cognito-idp.us-east-1.amazonaws.com/pool"  # type: ignore[union-attr]


def test_example_routes_false_leaves_app_api_and_its_routes_out() -> None:
    # Given ExampleRoutes=false (a parameter no env var feeds, overridden under its own name)
    # When the routes are read
    auth, routes = decide(template(), {**OVERRIDES, "ExampleRoutes": "false"})

    # Then AppApi's routes are gone (Condition: WithExampleRoutes) and the rest still stands
    assert not [path for path in routes if path.startswith("/app/")]
    assert "AppApi" not in auth.apis
    assert auth[routes["/implicit/jwt"]].authorizer is not None


def test_lambda_authorizer_without_reauthorize_every_caches_for_api_gateways_default() -> None:
    # Given LiveSession without ReauthorizeEvery
    tpl = template()
    del tpl["Resources"]["AppApi"]["Properties"]["Auth"]["Authorizers"]["LiveSession"]["Identity"]["ReauthorizeEvery"]

    # When the runner decides
    auth, routes = decide(tpl)

    # Then API Gateway's default TTL applies (SAM writes none)
    assert auth[routes["/app/live"]].authorizer.result_ttl == DEFAULT_RESULT_TTL  # type: ignore[union-attr]


def _set(path: list[str], value: Any):  # noqa: ANN202 - a template edit
    def edit(tpl: dict[str, Any]) -> None:
        node = tpl
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value

    return edit


_APP_AUTH = ["Resources", "AppApi", "Properties", "Auth"]


def _iam_default(tpl: dict[str, Any]) -> None:
    """SAM's built-in IAM authorizer as the API's default: every route would need SigV4."""
    _set([*_APP_AUTH, "EnableIamAuthorizer"], True)(tpl)
    _set([*_APP_AUTH, "DefaultAuthorizer"], "AWS_IAM")(tpl)


_LIVE = [*_APP_AUTH, "Authorizers", "LiveSession"]
_OPEN_EVENT = ["Resources", "AppEchoFunction", "Properties", "Events", "Open", "Properties", "Auth"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_set(_OPEN_EVENT, {"Authorizer": "AWS_IAM"}), "IAM authorization"),
        (_set([*_APP_AUTH, "DefaultAuthorizer"], "AWS_IAM"), "DefaultAuthorizer 'AWS_IAM'"),
        (_iam_default, "IAM authorization"),
        (_set(_OPEN_EVENT, {"Authorizer": "Nobody"}), "'Nobody' is not defined"),
        (_set([*_APP_AUTH, "DefaultAuthorizer"], "Nobody"), "DefaultAuthorizer 'Nobody'"),
        (_set([*_LIVE, "AuthorizerPayloadFormatVersion"], "1.0"), "1.0 is not emulated"),
        (_set([*_LIVE, "FunctionArn"], "arn:aws:lambda:us-east-1:123456789012:function:elsewhere"), "FunctionArn"),
        (_set([*_LIVE, "Identity", "Context"], ["authorizer.claims"]), "$context.authorizer.claims is not emulated"),
        (_set([*_LIVE, "Identity"], {"ReauthorizeEvery": 60}), "needs at least one identity source"),
        (_set([*_LIVE, "Identity", "ReauthorizeEvery"], 3601), "ReauthorizeEvery must be 0 to 3600"),
        (_set(_OPEN_EVENT, {"Authorizer": "LiveSession", "AuthorizationScopes": ["a"]}), "JWT authorizers only"),
        (_set([*_APP_AUTH, "Authorizers", "AccessToken", "IdentitySource"], "$context.x"), "IdentitySource"),
        (_set([*_APP_AUTH, "Authorizers", "Empty"], {"Identity": {}}), "neither JwtConfiguration nor FunctionArn"),
    ],
)
def test_what_cannot_be_emulated_stops_the_runner(edit: Any, message: str) -> None:
    # Given a template using something the runner does not emulate
    tpl = template()
    edit(tpl)

    # When the runner decides the routes' authorizers
    # Then it refuses to start rather than serve a route open
    with pytest.raises(TemplateError, match=message.replace("$", r"\$").replace("(", r"\(")):
        decide(tpl)


def test_none_needs_a_default_authorizer_and_auth_without_authorizer_needs_one_too() -> None:
    # Given the implicit API (no DefaultAuthorizer) with a NONE route, then with Auth but no Authorizer
    for auth in ({"Authorizer": "NONE"}, {"AuthorizationScopes": ["a"]}):
        tpl = template()
        events = tpl["Resources"]["ImplicitEchoFunction"]["Properties"]["Events"]
        events["Open"]["Properties"]["Auth"] = auth

        # When the runner decides
        # Then SAM's rules refuse both
        with pytest.raises(TemplateError, match="DefaultAuthorizer"):
            decide(tpl)


def test_route_auth_without_authorizer_uses_the_default_with_the_routes_scopes() -> None:
    # Given a route on AppApi with AuthorizationScopes but no Authorizer
    tpl = template()
    app_echo_events(tpl)["Default"]["Properties"]["Auth"] = {"AuthorizationScopes": ["orders/read"]}

    # When the runner decides
    auth, routes = decide(tpl)

    # Then SAM applies the DefaultAuthorizer with those scopes
    decision = auth[routes["/app/jwt"]]
    assert decision.authorizer.name == "AccessToken"  # type: ignore[union-attr]
    assert decision.scopes == ("orders/read",)
