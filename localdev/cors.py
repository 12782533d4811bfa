"""The HttpApi CorsConfiguration, applied the way API Gateway applies it.

API Gateway answers preflights itself (no route needed) and replaces whatever CORS headers the
integration returned, so handlers cannot widen CORS: the runner must behave the same or local
tests would pass with headers production never sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.wrappers import Request, Response

_CORS_HEADERS = (
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-expose-headers",
    "access-control-max-age",
)


class Cors:
    def __init__(self, config: Mapping[str, Any]):
        self.origins = [o.strip() for o in config.get("AllowOrigins", []) if o.strip()]
        self.credentials = bool(config.get("AllowCredentials", False))
        self.methods = [m.upper() for m in config.get("AllowMethods", [])]
        self.headers = [h.lower() for h in config.get("AllowHeaders", [])]
        self.expose = list(config.get("ExposeHeaders", []))
        self.max_age = config.get("MaxAge")

    @property
    def enabled(self) -> bool:
        return bool(self.origins)

    def allowed_origin(self, origin: str | None) -> str | None:
        """The ACAO value for this Origin, or None. `null` (sandboxed frames, file://) never matches."""
        if not origin or origin == "null":
            return None
        if origin in self.origins:
            return origin
        if "*" in self.origins and not self.credentials:
            return "*"
        return None

    @staticmethod
    def is_preflight(request: Request) -> bool:
        return (
            request.method == "OPTIONS"
            and "Origin" in request.headers
            and "Access-Control-Request-Method" in request.headers
        )

    def preflight(self, request: Request) -> Response:
        """204; CORS headers only for an allowed origin (the browser then blocks the real request)."""
        response = Response(status=204)
        del response.headers["Content-Type"]
        origin = self.allowed_origin(request.headers.get("Origin"))
        if origin is None:
            return response
        requested_headers = request.headers.get("Access-Control-Request-Headers", "")
        self._allow(response.headers, origin)
        methods = (
            self.methods if "*" not in self.methods else [request.headers["Access-Control-Request-Method"]]
        )
        response.headers["Access-Control-Allow-Methods"] = ",".join(methods)
        if self.headers:
            allowed = requested_headers if "*" in self.headers else ",".join(self.headers)
            response.headers["Access-Control-Allow-Headers"] = allowed
        if self.max_age is not None:
            response.headers["Access-Control-Max-Age"] = str(self.max_age)
        return response

    def apply(self, request: Request, response: Response) -> Response:
        """Replace the integration's CORS headers with the configuration's."""
        for name in _CORS_HEADERS:
            response.headers.remove(name)
        origin = self.allowed_origin(request.headers.get("Origin"))
        if origin is not None:
            self._allow(response.headers, origin)
            if self.expose:
                response.headers["Access-Control-Expose-Headers"] = ",".join(self.expose)
        return response

    def _allow(self, headers: Headers, origin: str) -> None:
        headers["Access-Control-Allow-Origin"] = origin
        if self.credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        # The answer depends on Origin: caches must not hand one origin's answer to another.
        vary = [v.strip() for v in headers.get("Vary", "").split(",") if v.strip()]
        if "origin" not in (v.lower() for v in vary):
            headers["Vary"] = ", ".join([*vary, "Origin"])
