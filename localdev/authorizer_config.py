"""Which authorizer guards which route: the HttpApi `Auth` of template.yaml read as SAM reads it.

SAM (samtranslator's http_api_generator, open_api and eventsources/push) decides, per route:
- the event's `Auth.Authorizer`, else the API's `Auth.DefaultAuthorizer`, else none (open);
- `Authorizer: NONE` opens a route, and is only valid on an API with a DefaultAuthorizer;
- the route's `AuthorizationScopes`, else the JWT authorizer's own `AuthorizationScopes`;
- events without `ApiId` belong to the implicit `ServerlessHttpApi`; `Globals.HttpApi` is merged
  into every HttpApi (maps merge, the API's own values win).

What the runner cannot emulate fails here, at start-up (TemplateError), so that a route protected
in AWS is never served open: IAM authorization (`AWS_IAM`), payload format 1.0, unknown authorizer
names or identity sources, a FunctionArn that is not a function of this template.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from localdev.template import (
    FUNCTION_TYPE,
    HTTP_API_TYPE,
    IMPLICIT_HTTP_API,
    REGION,
    Resolver,
    Route,
    TemplateError,
    function_arn,
    parameter_values,
    resources_of_type,
)

NONE = "NONE"  # SAM's name for "no authorizer on this route"
IAM = "AWS_IAM"  # SAM's built-in IAM authorizer (EnableIamAuthorizer): SigV4, not emulated
# API Gateway's default when the authorizer sets no TTL: documented as 300 s for REST APIs and shown
# as the default by the HTTP API console; SAM only writes ReauthorizeEvery when it is given.
DEFAULT_RESULT_TTL = 300
MAX_RESULT_TTL = 3600  # "The maximum value is 3600, or 1 hour" (SAM LambdaAuthorizationIdentity)
# $context variables an identity source may name, as paths into the payload 2.0 requestContext.
CONTEXT_VARIABLES = {
    "accountId": ("accountId",),
    "apiId": ("apiId",),
    "domainName": ("domainName",),
    "domainPrefix": ("domainPrefix",),
    "httpMethod": ("http", "method"),
    "identity.sourceIp": ("http", "sourceIp"),
    "identity.userAgent": ("http", "userAgent"),
    "path": ("http", "path"),
    "protocol": ("http", "protocol"),
    "requestId": ("requestId",),
    "routeKey": ("routeKey",),
    "stage": ("stage",),
}
_IDENTITY_PREFIXES = ("$request.header.", "$request.querystring.", "$stageVariables.", "$context.")


@dataclass(frozen=True)
class JwtAuthorizer:
    """SAM's OAuth2Authorizer: API Gateway's JWT authorizer."""

    api: str
    name: str
    issuer: str  # as the token's iss must read (the runner's origin for this stack's own issuer)
    audiences: tuple[str, ...]
    identity_source: str  # $request.header.Authorization or $request.querystring.token
    scopes: tuple[str, ...] = ()  # the authorizer's AuthorizationScopes (routes may override)


@dataclass(frozen=True)
class LambdaAuthorizer:
    """SAM's LambdaAuthorizer: a Lambda REQUEST authorizer, payload format 2.0."""

    api: str
    name: str
    function: str  # logical id of the AWS::Serverless::Function that FunctionArn names
    identity_sources: tuple[str, ...]  # in SAM's order: headers, query strings, stage variables, context
    result_ttl: int  # seconds; 0 disables caching
    simple_responses: bool
    stage_variables: Mapping[str, str]  # the API's StageVariables, for $stageVariables sources


Authorizer = JwtAuthorizer | LambdaAuthorizer


@dataclass(frozen=True)
class RouteAuth:
    authorizer: Authorizer | None  # None: the route is open
    scopes: tuple[str, ...] = ()  # AuthorizationScopes the JWT must meet (at least one)


OPEN = RouteAuth(None)


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's Globals merge for maps: keys of both, the resource's own values winning."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _http_api_properties(template: Mapping[str, Any], resolve: Resolver, routes: Iterable[Route]) -> dict[str, Any]:
    """Resolved Properties of each HttpApi the stack has, Globals.HttpApi merged in."""
    globals_ = template.get("Globals", {}).get("HttpApi", {})
    apis = {
        name: resolve(_merge(globals_, res.get("Properties", {})))
        for name, res in resources_of_type(template, HTTP_API_TYPE).items()
        if resolve.includes(res)
    }
    if any(route.api == IMPLICIT_HTTP_API for route in routes):
        apis.setdefault(IMPLICIT_HTTP_API, resolve(dict(globals_)))
    return apis


def own_issuers(template: Mapping[str, Any]) -> set[str]:
    """The execute-api URLs of this stack's HttpApis (what `!Sub https://${AuthApi}.execute-api...`
    resolves to here: !Ref gives the logical id)."""
    names = {*resources_of_type(template, HTTP_API_TYPE), IMPLICIT_HTTP_API}
    return {f"https://{name}.execute-api.{REGION}.amazonaws.com" for name in names}


def _function_names(template: Mapping[str, Any]) -> dict[str, str]:
    return {function_arn(name): name for name in resources_of_type(template, FUNCTION_TYPE)}


def _as_bool(value: Any) -> bool:
    return str(value).lower() == "true"


def _identity_source(where: str, source: str) -> str:
    if not source.startswith(_IDENTITY_PREFIXES) or source.endswith("."):
        raise TemplateError(f"{where}: identity source {source!r} is not emulated")
    if source.startswith("$context.") and source[len("$context.") :] not in CONTEXT_VARIABLES:
        raise TemplateError(f"{where}: {source} is not emulated (known: {', '.join(sorted(CONTEXT_VARIABLES))})")
    return source


def _jwt_authorizer(
    api: str, name: str, spec: Mapping[str, Any], issuers: set[str], local_issuer: str
) -> JwtAuthorizer:
    where = f"{api}.Auth.Authorizers.{name}"
    config = {key.lower(): value for key, value in spec["JwtConfiguration"].items()}  # SAM lower-cases them
    source = spec.get("IdentitySource")
    if not isinstance(source, str) or not source.startswith(("$request.header.", "$request.querystring.")):
        raise TemplateError(
            f"{where}: IdentitySource must be one $request.header.<name> or $request.querystring.<name>"
        )
    issuer = config.get("issuer")
    audiences = config.get("audience")
    if not isinstance(issuer, str) or not issuer:
        raise TemplateError(f"{where}: JwtConfiguration needs an issuer")
    if isinstance(audiences, str):
        audiences = [audiences]
    if not audiences or not all(isinstance(a, str) and a for a in audiences):
        raise TemplateError(f"{where}: JwtConfiguration needs an audience list")
    # contract16: this stack's own issuer (TokenIssuer, or an execute-api URL of one of its
    # HttpApis) is locally the runner's origin, where the functions sign and publish keys.
    if issuer.rstrip("/") in issuers:
        issuer = local_issuer
    scopes = spec.get("AuthorizationScopes") or []
    return JwtAuthorizer(api, name, issuer, tuple(audiences), source, tuple(scopes))


def _lambda_authorizer(
    api: str, name: str, spec: Mapping[str, Any], functions: Mapping[str, str], stage_variables: Mapping[str, str]
) -> LambdaAuthorizer:
    where = f"{api}.Auth.Authorizers.{name}"
    version = str(spec.get("AuthorizerPayloadFormatVersion", ""))
    if version not in ("2.0", "2"):
        raise TemplateError(
            f"{where}: AuthorizerPayloadFormatVersion {version or '(missing)'} is not emulated (2.0 is)"
        )
    function = functions.get(str(spec["FunctionArn"]))
    if function is None:
        raise TemplateError(f"{where}: FunctionArn must be !GetAtt <a function of this template>.Arn")
    identity = spec.get("Identity") or {}
    sources = [
        _identity_source(where, prefix + value)
        for prefix, key in (
            ("$request.header.", "Headers"),
            ("$request.querystring.", "QueryStrings"),
            ("$stageVariables.", "StageVariables"),
            ("$context.", "Context"),
        )
        for value in identity.get(key) or []
    ]
    ttl = identity.get("ReauthorizeEvery")
    ttl = (DEFAULT_RESULT_TTL if sources else 0) if ttl is None else int(ttl)
    if not 0 <= ttl <= MAX_RESULT_TTL:
        raise TemplateError(f"{where}: ReauthorizeEvery must be 0 to {MAX_RESULT_TTL}")
    if ttl and not sources:
        # "To enable caching, your authorizer must have at least one identity source."
        raise TemplateError(f"{where}: ReauthorizeEvery needs at least one identity source")
    return LambdaAuthorizer(
        api, name, function, tuple(sources), ttl, _as_bool(spec.get("EnableSimpleResponses", False)), stage_variables
    )


@dataclass(frozen=True)
class ApiAuth:
    authorizers: Mapping[str, Authorizer]
    default: str | None
    iam_enabled: bool


def _api_auth(
    api: str, props: Mapping[str, Any], issuers: set[str], local_issuer: str, functions: Mapping[str, str]
) -> ApiAuth:
    auth = props.get("Auth") or {}
    stage_variables = {k: str(v) for k, v in (props.get("StageVariables") or {}).items()}
    authorizers: dict[str, Authorizer] = {}
    for name, spec in (auth.get("Authorizers") or {}).items():
        if "OpenIdConnectUrl" in spec:
            raise TemplateError(f"{api}.Auth.Authorizers.{name}: OpenIdConnectUrl is not supported by SAM")
        if spec.get("JwtConfiguration"):
            authorizers[name] = _jwt_authorizer(api, name, spec, issuers, local_issuer)
        elif spec.get("FunctionArn"):
            authorizers[name] = _lambda_authorizer(api, name, spec, functions, stage_variables)
        else:
            raise TemplateError(f"{api}.Auth.Authorizers.{name}: neither JwtConfiguration nor FunctionArn")
    default = auth.get("DefaultAuthorizer") or None
    iam_enabled = _as_bool(auth.get("EnableIamAuthorizer", False))
    if default is not None and default not in authorizers and not (default == IAM and iam_enabled):
        raise TemplateError(f"{api}: DefaultAuthorizer {default!r} is not one of its Authorizers")
    return ApiAuth(authorizers, default, iam_enabled)


class RouteAuthorizers:
    """RouteAuth of every route, decided once at start-up."""

    def __init__(
        self,
        template: Mapping[str, Any],
        routes: Iterable[Route],
        local_issuer: str,
        overrides: Mapping[str, str] | None = None,
    ):
        routes = list(routes)
        resolve = Resolver(template, parameter_values(template, overrides or {}))
        functions = _function_names(template)
        issuers = own_issuers(template)
        self.apis = {
            api: _api_auth(api, props, issuers, local_issuer.rstrip("/"), functions)
            for api, props in _http_api_properties(template, resolve, routes).items()
        }
        self._routes = {(route.api, route.route_key): self._decide(route) for route in routes}

    def __getitem__(self, route: Route) -> RouteAuth:
        return self._routes[(route.api, route.route_key)]

    def lambda_functions(self) -> set[str]:
        return {
            a.function
            for api in self.apis.values()
            for a in api.authorizers.values()
            if isinstance(a, LambdaAuthorizer)
        }

    def _decide(self, route: Route) -> RouteAuth:
        where = f"route {route.route_key} (ApiId {route.api})"
        api = self.apis.get(route.api)
        if api is None:
            raise TemplateError(f"{where}: ApiId is not an AWS::Serverless::HttpApi of this template")
        auth = route.auth or {}
        name = auth.get("Authorizer") or api.default
        if name is None:
            if auth:  # SAM: "'Auth' section requires either an explicit 'Authorizer' set or a 'DefaultAuthorizer'"
                raise TemplateError(f"{where}: Auth without Authorizer on an API without DefaultAuthorizer")
            return OPEN
        if name == NONE:
            if api.default is None:  # SAM: NONE "is only a valid value when a DefaultAuthorizer ... is specified"
                raise TemplateError(f"{where}: Authorizer NONE needs a DefaultAuthorizer on the API")
            return OPEN
        if name == IAM and (api.iam_enabled or IAM not in api.authorizers):
            raise TemplateError(f"{where}: IAM authorization (AWS_IAM, SigV4) is not emulated by the local runner")
        authorizer = api.authorizers.get(name)
        if authorizer is None:
            raise TemplateError(f"{where}: authorizer {name!r} is not defined in the API's Auth.Authorizers")
        scopes = tuple(auth.get("AuthorizationScopes") or ())
        if isinstance(authorizer, LambdaAuthorizer):
            if scopes:
                raise TemplateError(f"{where}: AuthorizationScopes apply to JWT authorizers only")
            return RouteAuth(authorizer)
        return RouteAuth(authorizer, scopes or authorizer.scopes)
