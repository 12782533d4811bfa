"""HTTP request -> API Gateway HTTP API event (payload format 2.0) -> HTTP response.

Follows https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.wrappers import Request, Response

from localdev.template import ACCOUNT_ID

API_ID = "localapi"
# Bodies of these types reach the handler as text; everything else base64, as API Gateway does.
_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
    "application/graphql",
)
_TEXT_SUFFIXES = ("+json", "+xml")
# Set by the HTTP layer, never copied from a handler's answer.
_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive"}


def is_text_content_type(content_type: str | None) -> bool:
    mimetype = (content_type or "").split(";", 1)[0].strip().lower()
    return mimetype.startswith(_TEXT_TYPES) or mimetype.endswith(_TEXT_SUFFIXES)


def _encode_body(raw: bytes, content_type: str | None) -> tuple[str, bool]:
    if is_text_content_type(content_type):
        try:
            return raw.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(raw).decode("ascii"), True


def build_event(
    request: Request,
    route_key: str,
    path_parameters: Mapping[str, str] | None = None,
    request_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The event API Gateway sends a Lambda proxy integration for this request."""
    now = time.time() if now is None else now
    request_id = request_id or str(uuid.uuid4())
    raw_path = request.environ.get("RAW_URI", request.full_path).split("?", 1)[0] or request.path
    raw_query = request.query_string.decode("latin-1")

    # Repeated headers arrive comma-joined (the WSGI server already does so); the Cookie header is
    # not passed on: its parts go to `cookies`, as API Gateway does.
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        name = name.lower()
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    # API Gateway appends the client's address to X-Forwarded-For and states proto and port.
    source_ip = request.remote_addr or "127.0.0.1"
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded}, {source_ip}" if forwarded else source_ip
    headers["x-forwarded-proto"] = request.scheme
    headers["x-forwarded-port"] = str(request.environ.get("SERVER_PORT", "80"))
    cookie_header = headers.pop("cookie", "")
    cookies = [c.strip() for c in cookie_header.split(";") if c.strip()]
    query = {key: ",".join(values) for key, values in request.args.lists()}

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": request.host,
            "domainPrefix": request.host.split(".", 1)[0],
            "http": {
                "method": request.method,
                "path": raw_path,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "sourceIp": source_ip,
                "userAgent": request.headers.get("User-Agent", ""),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    # API Gateway leaves these keys out rather than sending them empty.
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    raw_body = request.get_data(cache=True)
    if raw_body:
        event["body"], event["isBase64Encoded"] = _encode_body(raw_body, request.content_type)
    return event


def gateway_response(status: int, message: str, request_id: str | None = None) -> Response:
    """API Gateway's own answers (no route, integration failure): {"message": "..."}."""
    response = Response(json.dumps({"message": message}), status=status, content_type="application/json")
    if request_id:
        response.headers["apigw-requestid"] = request_id
    return response


class InvalidIntegrationResponse(ValueError):
    """The handler's return value is not something API Gateway can turn into HTTP."""


def _header_value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def build_response(result: Any) -> Response:
    """The HTTP response API Gateway makes of a handler's return value (format 2.0).

    Without a statusCode, 2.0 infers: status 200, content-type application/json, the return value
    serialised as JSON as the body (a str return becomes a JSON string, as the Python runtime
    serialises it).
    """
    if not (isinstance(result, dict) and "statusCode" in result):
        return Response(json.dumps(result), status=200, content_type="application/json")

    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError) as exc:
        raise InvalidIntegrationResponse(f"statusCode {result['statusCode']!r}") from exc
    if not 100 <= status <= 599:
        raise InvalidIntegrationResponse(f"statusCode {status}")

    headers = Headers()
    for name, value in (result.get("headers") or {}).items():
        headers.add(name, _header_value(value))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        if name not in headers:  # single-value headers win where both name a header
            for value in values:
                headers.add(name, _header_value(value))
    for cookie in result.get("cookies") or []:
        headers.add("Set-Cookie", str(cookie))
    for name in _HOP_BY_HOP:
        headers.remove(name)
    if "content-type" not in headers:
        headers["Content-Type"] = "application/json"

    body = result.get("body")
    if body is None:
        data = b""
    elif result.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except (TypeError, ValueError) as exc:
            raise InvalidIntegrationResponse("isBase64Encoded body is not base64") from exc
    else:
        data = (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")

    return Response(data, status=status, headers=headers)
