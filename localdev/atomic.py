"""DynamoDB applies each conditional write and each transaction atomically; moto does not: two
threads can both pass the same condition (the dynalite problem of localstack#108), and its shared
state can even change under a running request. Serialising moto's request handling restores
DynamoDB's guarantee, so races seen locally are the service's own, as they would be on AWS."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.core.botocore_stubber import BotocoreStubber
from moto.server import DomainDispatcherApplication

_lock = threading.RLock()
# Every request to moto passes one of these: in-process (mock_aws) or through the server.
_ENTRY_POINTS = ((BotocoreStubber, "__call__"), (DomainDispatcherApplication, "__call__"))
# A long-poll ReceiveMessage waits inside moto (up to WaitTimeSeconds) for a message that only
# another request can send: holding the lock meanwhile would stall every service, and that very
# SendMessage, for the whole wait. It touches only its queue's messages (which moto appends under
# the queue's own condition), and each local queue has one poller, so it runs unserialised.
_UNSERIALISED_TARGETS = frozenset({"AmazonSQS.ReceiveMessage"})


def _target(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """X-Amz-Target of a JSON-protocol request: a WSGI environ (server) or a botocore request
    (botocore's event hooks pass it by keyword)."""
    for arg in (*args[1:3], kwargs.get("request")):
        if isinstance(arg, dict):
            return str(arg.get("HTTP_X_AMZ_TARGET", ""))
        headers = getattr(arg, "headers", None)
        if headers is not None:
            value = headers.get("X-Amz-Target", "")
            return value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
    return ""


def serialised() -> threading.RLock:
    """The lock every moto request holds: whoever holds it sees moto's state between requests."""
    return _lock


def _serialised(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        if _target(args, kwargs) in _UNSERIALISED_TARGETS:
            return method(*args, **kwargs)
        with _lock:
            return method(*args, **kwargs)

    locked.__serialised__ = True  # type: ignore[attr-defined]
    return locked


def make_moto_atomic(setattr_: Callable[[Any, str, Any], None] = setattr) -> None:
    """One moto request at a time (idempotent). Tests pass monkeypatch.setattr to undo it."""
    for owner, name in _ENTRY_POINTS:
        method = getattr(owner, name)
        if not getattr(method, "__serialised__", False):
            setattr_(owner, name, _serialised(method))
