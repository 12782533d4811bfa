"""The local runner's API Gateway emulation: request -> v2 event -> response (no server)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from localdev.events import InvalidIntegrationResponse, build_event, build_response


def make_request(path: str = "/api/auth/local", method: str = "POST", **kwargs: Any) -> Request:
    builder = EnvironBuilder(path=path, method=method, base_url="http://127.0.0.1:3000", **kwargs)
    return Request(builder.get_environ())


def test_post_with_json_body_query_cookies_and_repeated_headers() -> None:
    # Given a browser-like POST with a cookie, a repeated header and a repeated query parameter
    request = make_request(
        "/api/auth/local",
        query_string="a=1&a=2&b=x%20y",
        headers=[
            ("Cookie", "refreshToken=abc; theme=dark"),
            ("User-Agent", "pytest"),
            ("Content-Type", "application/json"),
        ],
        data=b'{"identifier": "demo"}',
        # A repeated header as the WSGI server hands it over: values joined by commas.
        environ_overrides={"REMOTE_ADDR": "127.0.0.1", "HTTP_X_MULTI": "1,2"},
    )

    # When it becomes an event
    event = build_event(request, "POST /api/auth/local", request_id="req-1", now=1_700_000_000.5)

    # Then it has API Gateway's payload format 2.0 shape
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /api/auth/local"
    assert event["rawPath"] == "/api/auth/local"
    assert event["rawQueryString"] == "a=1&a=2&b=x%20y"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x y"}
    assert event["cookies"] == ["refreshToken=abc", "theme=dark"]
    assert "cookie" not in event["headers"]  # API Gateway moves it to `cookies`
    assert event["headers"]["x-multi"] == "1,2"
    assert event["headers"]["content-type"] == "application/json"
    assert event["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert all(name == name.lower() for name in event["headers"])
    assert event["body"] == '{"identifier": "demo"}'
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["http"] == {
        "method": "POST",
        "path": "/api/auth/local",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "pytest",
    }
    assert context["requestId"] == "req-1"
    assert context["stage"] == "$default"
    assert context["routeKey"] == "POST /api/auth/local"
    assert context["domainName"] == "127.0.0.1:3000"
    assert context["timeEpoch"] == 1_700_000_000_500
    assert context["time"] == "14/Nov/2023:22:13:20 +0000"


def test_get_without_body_query_or_cookies_leaves_those_keys_out() -> None:
    # Given a bare GET with a path parameter
    request = make_request("/api/auth/sessions/s1", method="GET")

    # When it becomes an event
    event = build_event(request, "DELETE /api/auth/sessions/{id}", {"id": "s1"})

    # Then absent parts are absent, as API Gateway sends them, and the path parameter is there
    assert "body" not in event
    assert "cookies" not in event
    assert "queryStringParameters" not in event
    assert event["pathParameters"] == {"id": "s1"}
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize("content_type", ["application/octet-stream", "image/png", None])
def test_binary_bodies_are_base64_encoded(content_type: str | None) -> None:
    # Given a body whose content type is not text
    raw = b"\x89PNG\x00\xff"
    headers = [("Content-Type", content_type)] if content_type else []
    request = make_request(data=raw, headers=headers)

    # When it becomes an event
    event = build_event(request, "POST /api/auth/local")

    # Then the body is base64 and flagged so
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain; charset=utf-8",
        "application/json",
        "application/problem+json",
        "application/x-www-form-urlencoded",
    ],
)
def test_text_bodies_stay_text(content_type: str) -> None:
    # Given a text body
    request = make_request(data="héllo".encode(), headers=[("Content-Type", content_type)])

    # When it becomes an event
    event = build_event(request, "POST /api/auth/local")

    # Then it is passed as text
    assert (event["body"], event["isBase64Encoded"]) == ("héllo", False)


def test_structured_response_with_cookies_and_multi_value_headers() -> None:
    # Given a handler's 2.0 response with two cookies and a multi-value header
    result = {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store", "Content-Length": "999"},
        "multiValueHeaders": {"X-Trace": ["a", "b"]},
        "cookies": ["refreshToken=new; Path=/api; HttpOnly", "other=1; Path=/"],
        "body": json.dumps({"jwt": "x"}),
    }

    # When it becomes an HTTP response
    response = build_response(result)

    # Then every cookie is its own Set-Cookie header and the body is unchanged
    assert response.status_code == 200
    assert response.headers.getlist("Set-Cookie") == [
        "refreshToken=new; Path=/api; HttpOnly",
        "other=1; Path=/",
    ]
    assert response.headers.getlist("X-Trace") == ["a", "b"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Length"] == str(len(response.get_data()))  # not the handler's 999
    assert response.get_json() == {"jwt": "x"}


def test_base64_response_body_is_decoded() -> None:
    # Given a binary response
    result = {
        "statusCode": 200,
        "headers": {"content-type": "image/png"},
        "body": base64.b64encode(b"\x89PNG").decode(),
        "isBase64Encoded": True,
    }

    # When it becomes an HTTP response
    response = build_response(result)

    # Then the client gets the bytes
    assert response.get_data() == b"\x89PNG"
    assert response.content_type == "image/png"


@pytest.mark.parametrize(
    ("returned", "body"), [({"hello": "world"}, {"hello": "world"}), ("hi", "hi"), ([1, 2], [1, 2])]
)
def test_return_value_without_status_code_is_inferred(returned: object, body: object) -> None:
    # Given a handler that returns a plain value
    # When it becomes an HTTP response
    response = build_response(returned)

    # Then API Gateway 2.0's inference applies: 200, JSON, the value serialised
    assert response.status_code == 200
    assert response.content_type == "application/json"
    assert json.loads(response.get_data()) == body


def test_structured_response_without_body_or_content_type() -> None:
    # Given a bare 204
    # When it becomes an HTTP response
    response = build_response({"statusCode": 204})

    # Then it is empty
    assert response.status_code == 204
    assert response.get_data() == b""


@pytest.mark.parametrize("status", ["abc", None, 42, 700])
def test_invalid_status_code_is_an_integration_error(status: object) -> None:
    # Given a response with a status API Gateway cannot use
    # When it is converted, Then it is rejected (the gateway answers 500)
    with pytest.raises(InvalidIntegrationResponse):
        build_response({"statusCode": status, "body": ""})
