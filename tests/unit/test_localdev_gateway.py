"""The local runner's gateway: routing, CORS and web/, with a fake function (no server, no process)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from localdev.cors import Cors
from localdev.server import Gateway
from localdev.template import Function, Route
from localdev.workers import InvocationError

ALLOWED = "http://localhost:5173"
CORS = {
    "AllowOrigins": [ALLOWED, "http://127.0.0.1:3000"],
    "AllowCredentials": True,
    "AllowHeaders": ["content-type", "authorization"],
    "AllowMethods": ["GET", "POST", "DELETE", "OPTIONS"],
    "MaxAge": 600,
}


class FakeFunction:
    def __init__(self, result: Any = None, error: bool = False):
        self.events: list[dict[str, Any]] = []
        self.result = result if result is not None else {"statusCode": 200, "body": "{}"}
        self.error = error

    def invoke(self, event: dict[str, Any], request_id: str | None = None) -> Any:
        self.events.append(event)
        if self.error:
            raise InvocationError("boom")
        return self.result


def gateway(fake: FakeFunction, web_root: Path | None = None) -> Client:
    function = Function(
        name="Fn",
        handler="fn.handler",
        code_uri=Path("."),
        layers=(),
        runtime="python3.11",
        memory_size=128,
        timeout=3,
        environment={},
        routes=(
            Route("POST", "/api/auth/local"),
            Route("DELETE", "/api/auth/sessions/{id}"),
            Route("GET", "/.well-known/jwks.json"),
        ),
    )
    return Client(Gateway([function], {"Fn": fake}, Cors(CORS), web_root))


def test_route_with_path_parameter_reaches_the_function() -> None:
    # Given a route with {id}
    fake = FakeFunction()

    # When it is called
    response = gateway(fake).delete("/api/auth/sessions/abc")

    # Then the function gets the route key and the parameter
    assert response.status_code == 200
    assert fake.events[0]["routeKey"] == "DELETE /api/auth/sessions/{id}"
    assert fake.events[0]["pathParameters"] == {"id": "abc"}
    assert response.headers["apigw-requestid"] == fake.events[0]["requestContext"]["requestId"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("GET", "/api/auth/local"),
        ("HEAD", "/.well-known/jwks.json"),
        ("POST", "/api/auth/local/"),
    ],
)
def test_unknown_route_gets_api_gateways_404(method: str, path: str) -> None:
    # Given no route for this method and path
    fake = FakeFunction()

    # When it is called
    response = gateway(fake).open(path, method=method)

    # Then API Gateway's own answer comes back and no function runs
    assert response.status_code == 404
    if method != "HEAD":
        assert response.get_json() == {"message": "Not Found"}
    assert fake.events == []


def test_function_failure_is_api_gateways_500() -> None:
    # Given a function that fails (exception, timeout, crash)
    # When it is called
    response = gateway(FakeFunction(error=True)).post("/api/auth/local")

    # Then the client sees API Gateway's generic 500, nothing of the failure
    assert response.status_code == 500
    assert response.get_json() == {"message": "Internal Server Error"}


def test_preflight_from_allowed_origin() -> None:
    # Given a browser preflight from an allowed origin
    # When it arrives
    response = gateway(FakeFunction()).options(
        "/api/auth/local",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )

    # Then the gateway answers it itself with the configuration
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert response.headers["Access-Control-Allow-Methods"] == "GET,POST,DELETE,OPTIONS"
    assert response.headers["Access-Control-Allow-Headers"] == "content-type,authorization"
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert response.headers["Vary"] == "Origin"


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://localhost:5173.evil.example"])
def test_preflight_from_foreign_origin_gets_no_cors_headers(origin: str) -> None:
    # Given a preflight from an origin not in AllowOrigins
    # When it arrives
    response = gateway(FakeFunction()).options(
        "/api/auth/local", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
    )

    # Then nothing allows it
    assert response.status_code == 204
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_gateway_replaces_the_functions_cors_headers() -> None:
    # Given a function that (wrongly) allows every origin
    fake = FakeFunction(
        {"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "*", "Vary": "Accept"}, "body": "{}"}
    )
    client = gateway(fake)

    # When an allowed and a foreign origin call it
    allowed = client.post("/api/auth/local", headers={"Origin": ALLOWED})
    foreign = client.post("/api/auth/local", headers={"Origin": "https://evil.example"})

    # Then only the configuration decides, as in API Gateway
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert allowed.headers["Access-Control-Allow-Credentials"] == "true"
    assert allowed.headers["Vary"] == "Accept, Origin"
    assert "Access-Control-Allow-Origin" not in foreign.headers


def test_web_folder_is_served_behind_the_routes(tmp_path: Path) -> None:
    # Given a web/ folder
    (tmp_path / "index.html").write_text("<h1>demo</h1>")
    (tmp_path / "app.js").write_text("console.log(1)")
    client = gateway(FakeFunction(), tmp_path)

    # When the browser asks for pages
    index, script, missing = client.get("/"), client.get("/app.js"), client.get("/missing.css")

    # Then files come with their content types, and unknown paths stay API Gateway 404s
    assert (index.status_code, index.mimetype) == (200, "text/html")
    assert script.mimetype in {"text/javascript", "application/javascript"}
    assert missing.status_code == 404
    assert json.loads(missing.get_data()) == {"message": "Not Found"}
    for response in (index, script, missing):
        response.close()
