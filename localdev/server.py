"""The local API Gateway: routes from the template, CORS, then openapi.yaml and web/ for everything else."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import yaml
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import send_from_directory
from werkzeug.wrappers import Request, Response

from localdev.authorizers import Authorization, Denied, log_denied
from localdev.cors import Cors
from localdev.events import InvalidIntegrationResponse, build_event, build_response, gateway_response
from localdev.template import Function
from localdev.workers import InvocationError

log = logging.getLogger("localdev")
_PARAM = re.compile(r"\{([^}/]+?)(\+?)\}")
MAX_PAYLOAD = 10 * 1024 * 1024  # API Gateway HTTP API's request limit
OPENAPI = Path(__file__).resolve().parent.parent / "openapi.yaml"  # served behind the routes, like web/
_OPENAPI_PATHS = ("/openapi.yaml", "/openapi.json")


class Invoker(Protocol):
    def invoke(self, event: dict[str, Any], request_id: str | None = None) -> Any: ...


def _werkzeug_rule(path: str) -> tuple[str, dict[str, str]]:
    """/api/sessions/{id} -> /api/sessions/<p0>; {proxy+} (greedy) -> <path:p0>.

    API Gateway parameter names need not be Python identifiers, so rules use placeholders.
    """
    names: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        placeholder = f"p{len(names)}"
        names[placeholder] = match.group(1)
        return f"<path:{placeholder}>" if match.group(2) else f"<{placeholder}>"

    return _PARAM.sub(replace, path), names


class Gateway:
    def __init__(
        self,
        functions: list[Function],
        invokers: Mapping[str, Invoker],
        cors: Cors,
        web_root: Path | None = None,
        openapi: Path | None = OPENAPI,
        authorization: Authorization | None = None,
    ):
        """`authorization` applies the template's authorizers (localdev/authorizers.py); None only
        for a template that declares none."""
        self.invokers = invokers
        self.authorization = authorization
        self.openapi = openapi
        self.cors = cors
        self.web_root = web_root if web_root and web_root.is_dir() else None
        rules = []
        for function in functions:
            for route in function.routes:
                if route.path == "$default":
                    continue  # a catch-all would shadow web/; not used by this project
                rule_path, names = _werkzeug_rule(route.path)
                methods = None if route.method == "ANY" else [route.method]
                rules.append(
                    Rule(
                        rule_path,
                        methods=methods,
                        endpoint=(function.name, route, tuple(names.items())),
                    )
                )
        # Exact matches only: no slash redirects or merging (API Gateway matches the path as sent).
        self.routes = Map(rules, strict_slashes=True, merge_slashes=False, redirect_defaults=False)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        started = time.monotonic()
        response = self.dispatch(request)
        log.info(
            "%s %s -> %s (%.0f ms)",
            request.method,
            request.full_path.rstrip("?"),
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        if self.cors.enabled and Cors.is_preflight(request):
            return self.cors.preflight(request)
        try:
            (function_name, route, names), args = self.routes.bind_to_environ(request.environ).match(
                method=request.method
            )
        except (NotFound, MethodNotAllowed):
            return self._openapi(request) or self._static(request) or gateway_response(404, "Not Found", request_id)
        except HTTPException:
            return gateway_response(404, "Not Found", request_id)
        # werkzeug lets HEAD match GET rules; API Gateway does not.
        if request.method == "HEAD" and route.method not in ("HEAD", "ANY"):
            return gateway_response(404, "Not Found", request_id)
        if (request.content_length or 0) > MAX_PAYLOAD:
            return gateway_response(413, "Request Entity Too Large", request_id)

        names = dict(names)
        event = build_event(request, route.route_key, {names[k]: v for k, v in args.items()}, request_id)
        try:
            # API Gateway authorizes before the integration: a denied request never reaches it.
            authorizer = self.authorization.authorize(route, event, request_id) if self.authorization else None
        except Denied as denied:
            log_denied(route, denied, request_id)
            response = denied.response(request_id)
        else:
            if authorizer is not None:
                event["requestContext"]["authorizer"] = authorizer
            response = self._integrate(function_name, event, request_id)
        response.headers["apigw-requestid"] = request_id
        return self.cors.apply(request, response) if self.cors.enabled else response

    def _integrate(self, function_name: str, event: dict[str, Any], request_id: str) -> Response:
        try:
            return build_response(self.invokers[function_name].invoke(event, request_id))
        except (InvocationError, InvalidIntegrationResponse) as exc:
            print(f"[{function_name}] {request_id} failed: {exc}", file=sys.stderr)
            return gateway_response(500, "Internal Server Error", request_id)

    def _openapi(self, request: Request) -> Response | None:
        """openapi.yaml at /openapi.yaml and, converted, /openapi.json; read on each request (dev)."""
        if request.path not in _OPENAPI_PATHS or request.method not in ("GET", "HEAD"):
            return None
        if self.openapi is None or not self.openapi.is_file():
            return None
        text = self.openapi.read_text(encoding="utf-8")
        if request.path == "/openapi.yaml":
            return Response(text, content_type="application/yaml; charset=utf-8")
        return Response(json.dumps(yaml.safe_load(text)), content_type="application/json")

    def _static(self, request: Request) -> Response | None:
        if self.web_root is None or request.method not in ("GET", "HEAD"):
            return None
        path = request.path.lstrip("/")
        if path == "" or path.endswith("/"):
            path += "index.html"
        try:  # send_from_directory refuses paths that escape web/
            return send_from_directory(self.web_root, path, request.environ)
        except NotFound:
            return None
