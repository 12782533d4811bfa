"""Read and write the embedded moto's data in AWS's own JSON shapes, through moto's backends.

The runner's state files hold DynamoDB items in DynamoDB JSON (as DynamoDB's export to S3 and
its streams write them), SSM parameters as their version history and SQS messages as bodies
with their attributes. Going through moto's backend models (`moto.backends.get_backend`, the
same calls its request handlers make) rather than its HTTP API makes this cheap enough to run
on every write: a GetItem over moto's HTTP API costs ~2.7 ms here, a backend read ~10 µs, and
loading 20,000 items takes ~1 s instead of ~5 s (a full Scan over HTTP: ~11 s).
These are moto internals: moto is pinned in uv.lock, and tests/unit/test_localdev_state.py and
tests/integration/test_localdev_journal.py cover every call made here: an upgrade that changes
them fails there first.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from moto.backends import get_backend
from moto.dynamodb.models.dynamo_type import LimitedSizeDict
from moto.dynamodb.models.utilities import DynamoJsonEncoder

from localdev.template import ACCOUNT_ID, REGION

Item = dict[str, Any]  # DynamoDB JSON: {"pk": {"S": "USER#1"}, ...}


def _dynamodb() -> Any:
    return get_backend("dynamodb")[ACCOUNT_ID][REGION]


def _ssm() -> Any:
    return get_backend("ssm")[ACCOUNT_ID][REGION]


def _sqs() -> Any:
    return get_backend("sqs")[ACCOUNT_ID][REGION]


def dumps(record: Any) -> str:
    """One JSON line as moto answers it: binary attributes (kept as bytes inside) in base64."""
    return json.dumps(record, cls=DynamoJsonEncoder, separators=(",", ":"))


# --- DynamoDB ---


def key_of(table: str, item: Mapping[str, Any]) -> Item:
    """The primary key attributes of an item of `table` (in DynamoDB JSON)."""
    found = _dynamodb().get_table(table)
    names = [found.hash_key_attr] + ([found.range_key_attr] if found.range_key_attr else [])
    return {name: item[name] for name in names}


def get_item(table: str, key: Mapping[str, Any]) -> Item | None:
    found = _dynamodb().get_item(table, dict(key))
    return None if found is None else dict(found.to_json()["Attributes"])


def _binary_decoded(value: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB JSON as moto's request parser hands it to the backend: B and BS as bytes.

    A base64 text where moto keeps bytes would never equal the same value in a condition.
    """
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64decode(inner) if isinstance(inner, str) else inner}
    if kind == "BS":
        return {"BS": [base64.b64decode(v) if isinstance(v, str) else v for v in inner]}
    if kind == "M":
        return {"M": {k: _binary_decoded(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_binary_decoded(v) for v in inner]}
    return value


@contextmanager
def bulk_load() -> Iterator[None]:
    """Skip moto's 400 KB item-size check while loading items it accepted once already.

    moto re-sums the item's size on every attribute it sets (quadratic in the attributes): a
    third of the loading time of 40,000 items. Only while nothing else talks to moto (start-up).
    """
    original = LimitedSizeDict.__setitem__
    LimitedSizeDict.__setitem__ = dict.__setitem__  # type: ignore[assignment]
    try:
        yield
    finally:
        LimitedSizeDict.__setitem__ = original  # type: ignore[method-assign]


def put_item(table: str, item: Item) -> None:
    _dynamodb().put_item(table, {name: _binary_decoded(value) for name, value in item.items()})


def delete_item(table: str, key: Item) -> None:
    _dynamodb().delete_item(table, key)


def items(table: str) -> Iterator[Item]:
    for item in _dynamodb().get_table(table).all_items():
        yield dict(item.to_json()["Attributes"])


def table_names() -> list[str]:
    return list(_dynamodb().tables)


# --- SSM: a parameter is its history, oldest version first, values decrypted ---


def parameter_names() -> list[str]:
    return list(_ssm()._parameters.keys())


def parameter_history(name: str) -> list[dict[str, Any]] | None:
    """Each version's PutParameter arguments, oldest first; None once it is deleted."""
    parameters = _ssm()._parameters
    versions = parameters.get(parameters.normalize_name(name))  # .get: it is a defaultdict
    if not versions:
        return None
    return [
        {
            "Value": p.decrypt(p.value) if p.parameter_type == "SecureString" else p.value,
            "Type": p.parameter_type,
            "Description": p.description,
            "KeyId": p.keyid,
            "AllowedPattern": p.allowed_pattern,
            "DataType": p.data_type,
            "Tier": p.tier,
        }
        for p in versions
    ]


def put_parameter_history(name: str, history: Iterable[Mapping[str, Any]]) -> None:
    """Write each version again, in order, so versions and the current value are as they were."""
    backend = _ssm()
    for number, version in enumerate(history):
        backend.put_parameter(
            name=name,
            description=version.get("Description"),
            value=version["Value"],
            parameter_type=version["Type"],
            allowed_pattern=version.get("AllowedPattern"),
            keyid=version.get("KeyId"),
            overwrite=number > 0,
            tags=[],
            data_type=version.get("DataType") or "text",
            tier=version.get("Tier"),
            policies=None,
        )


# --- SQS: every message a queue holds, in flight or not ---


def queue_names() -> list[str]:
    return list(_sqs().queues)


def queue_messages(queue: str) -> list[dict[str, Any]]:
    found = _sqs().queues.get(queue)
    if found is None:
        return []
    return [
        {"MessageId": m.id, "Body": m.body, "MessageAttributes": m.message_attributes or {}} for m in found._messages
    ]


def send_messages(queue: str, messages: Iterable[Mapping[str, Any]]) -> None:
    backend = _sqs()
    for message in messages:
        backend.send_message(queue, message["Body"], message_attributes=dict(message.get("MessageAttributes", {})))
