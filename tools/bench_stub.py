"""botocore client plugin used by tools/bench.py: every AWS call gets a canned answer, no network.

Loaded by botocore itself for each client it creates (BOTOCORE_EXPERIMENTAL__PLUGINS=bench=bench_stub),
so the benchmarked process never imports boto3 earlier than the handler would. The answer comes
from a ``before-call`` hook, like botocore's Stubber: parameter validation and request
serialization still run, only the HTTP round trip (and signing) is skipped.

Canned answers are read from the JSON file named by BENCH_FIXTURES: ``{"responses": {name: parsed}}``
where name is the operation ("GetItem", "GetParameter", ...), "Query:<IndexName>" for queries, and
for a GetItem first "GetItem:<pk>" (one item by its key, e.g. a one-time code), then "GetItem";
for a GetParameter first "GetParameter:<Name>", then "GetParameter";
``{"$b64": "..."}`` stands for bytes (DynamoDB B values). Every call is appended to ``CALLS``.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

CALLS: list[str] = []
_responses: dict[str, Any] | None = None


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$b64"}:
            return base64.b64decode(value["$b64"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _canned() -> dict[str, Any]:
    global _responses
    if _responses is None:
        with open(os.environ["BENCH_FIXTURES"], encoding="utf-8") as handle:
            _responses = _decode(json.load(handle)["responses"])
    return _responses


def _answer(model: Any, params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
    from botocore.awsrequest import AWSResponse

    name = model.name
    if name == "Query":
        name += ":" + str(json.loads(params["body"]).get("IndexName", ""))
    CALLS.append(name)
    response = _canned().get(name)
    if name == "GetItem" and b"#" in params["body"]:  # a USER#/CODE# key; session ids have no "#"
        pk = json.loads(params["body"]).get("Key", {}).get("pk", {}).get("S", "")
        response = _canned().get(f"GetItem:{pk}", response)
    if name == "GetParameter":  # the private keys or the public JWK Set, by name
        response = _canned().get(f"GetParameter:{json.loads(params['body']).get('Name', '')}", response)
    if response is None:
        raise RuntimeError(f"bench stub: no canned response for {name}")
    return AWSResponse("https://stubbed.invalid", 200, {}, None), dict(response)


def initialize_client_plugin(client: Any) -> None:
    client.meta.events.register(f"before-call.{client.meta.service_model.service_id.hyphenize()}", _answer)
