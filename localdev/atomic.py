"""DynamoDB applies each conditional write and each transaction atomically; moto does not (two
threads can both pass the same condition, the dynalite problem of localstack#108). One lock
around moto's item operations restores that guarantee, so races seen locally are the service's
own, as they would be on AWS."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

OPERATIONS = (
    "transact_write_items",
    "transact_get_items",
    "update_item",
    "put_item",
    "get_item",
    "delete_item",
    "batch_get_item",
    "batch_write_item",
    "query",
    "scan",
)
_lock = threading.RLock()


def serialise(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return method(*args, **kwargs)

    locked.__wrapped_by_atomic__ = True  # type: ignore[attr-defined]
    return locked


def make_dynamodb_atomic(setattr_: Callable[[Any, str, Any], None] = setattr) -> None:
    """Wrap moto's DynamoDB operations (idempotent). Tests pass monkeypatch.setattr to undo it."""
    for name in OPERATIONS:
        method = getattr(DynamoDBBackend, name, None)
        if method is not None and not getattr(method, "__wrapped_by_atomic__", False):
            setattr_(DynamoDBBackend, name, serialise(method))
