"""The DynamoDB client and the translation of its failures into domain errors.

boto3 honours AWS_ENDPOINT_URL_DYNAMODB, so `sam local` and the local runner need nothing here.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections.abc import Callable, Container, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import boto3
import botocore.session
from boto3.dynamodb.types import DYNAMODB_CONTEXT, TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from authlayer.errors import ServiceUnavailableError
from authlayer.observability import logger

# Short timeouts: a login should fail fast with 503 rather than hang until the Lambda timeout.
# parameter_validation off: every request is built by this package (and covered by the tests);
# DynamoDB validates it again anyway, and botocore's client-side pass is a third of refresh's CPU.
_CONFIG = Config(
    connect_timeout=2,
    read_timeout=3,
    retries={"mode": "standard", "total_max_attempts": 3},
    parameter_validation=False,
)


class _BytesDeserializer(TypeDeserializer):
    """Binary attributes (also inside lists) as plain bytes, not boto3's Binary wrapper."""

    def _deserialize_b(self, value: bytes) -> bytes:
        return bytes(value)


_serializer = TypeSerializer()
_deserializer = _BytesDeserializer()


# botocore's SSM model trimmed to GetParameter (tools/trim_botocore_model.py): parsing the whole
# 1.3 MB model cost about 60 ms of every cold start that loads the signing key from SSM.
TRIMMED_MODELS = Path(__file__).with_name("botocore_models")


@lru_cache(maxsize=1)
def session() -> Any:
    """The container's one boto3 session, for DynamoDB and SSM (dal.parameters) alike.

    Every session registers botocore's handlers and loads endpoint rules and service metadata
    again: a second one (Powertools' own, for SSM) cost about 60 ms of each cold start.
    Its models are looked up in TRIMMED_MODELS first (see there).
    """
    core = botocore.session.get_session()
    searched = [str(TRIMMED_MODELS), core.get_config_variable("data_path")]  # AWS_DATA_PATH stays honoured
    core.set_config_variable("data_path", os.pathsep.join(p for p in searched if p))
    return boto3.session.Session(botocore_session=core)


@lru_cache(maxsize=1)
def client() -> Any:
    return session().client("dynamodb", config=_CONFIG)


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: typed(v) for k, v in values.items() if v is not None}


def to_values(values: dict[str, Any]) -> dict[str, Any]:
    """Expression attribute values (":name" -> typed value)."""
    return {k: typed(v) for k, v in values.items()}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: plain(v) for k, v in item.items()}


# The tables hold str, int, bool, bytes and lists of them. For those, typed() and plain() give
# exactly what boto3's TypeSerializer and TypeDeserializer give (tests/unit/test_dynamo_types.py)
# without their chain of type checks per value, about 4% of a warm refresh; other values go to boto3.
_MAX_N = 10**38  # DynamoDB numbers have 38 digits; boto3 refuses longer ones, so does typed()


def typed(value: Any) -> dict[str, Any]:
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is int and -_MAX_N < value < _MAX_N:  # not bool: type() is exact
        return {"N": str(value)}
    if kind is bytes:
        return {"B": value}
    if kind is bool:
        return {"BOOL": value}
    if kind is list:
        return {"L": [typed(v) for v in value]}
    return dict(_serializer.serialize(value))


def plain(value: dict[str, Any]) -> Any:
    if len(value) == 1:
        kind, raw = next(iter(value.items()))
        if kind == "S" or kind == "BOOL":
            return raw
        if kind == "N":
            return DYNAMODB_CONTEXT.create_decimal(raw)
        if kind == "B":
            return bytes(raw)
        if kind == "L":
            return [plain(v) for v in raw]
    return _deserializer.deserialize(value)


def all_items(operation: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item of a Query or Scan ("query" or "scan"), page after page (LastEvaluatedKey).

    A plain loop rather than boto3's paginator, whose first use costs ~9 ms of a cold start.
    """
    call = getattr(client(), operation)
    items: list[dict[str, Any]] = []
    with unavailable_on_failure(operation):
        while True:
            page = call(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs = {**kwargs, "ExclusiveStartKey": page["LastEvaluatedKey"]}


def update_if(operation: str, **kwargs: Any) -> bool:
    """One conditional UpdateItem: True if applied, False if its condition did not hold."""
    try:
        write(operation, "update_item", kwargs)
    except ClientError:  # only ConditionalCheckFailed gets past write()
        return False
    return True


# A write that meets another transaction on one of its items is rejected whole (nothing applied),
# so it is safe to send again; the other one is usually done within milliseconds. Bounded, with
# full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter") so racers spread apart;
# after the bound, 503 as for any other transient failure (ASVS 5.0 16.5.2-16.5.3).
CONFLICT_ATTEMPTS = 3
CONFLICT_BASE_DELAY = 0.01  # seconds; attempt n waits uniform(0, base * 2**n): at most 10 ms, then 20 ms
_jitter = random.SystemRandom()
pause: Callable[[float], None] = time.sleep  # tests replace it: they wait for states, never for time


def write(operation: str, method: str, request: dict[str, Any]) -> Any:
    """One write ``request`` (``method``: "update_item", "put_item", "transact_write_items", ...),
    sent again while it loses only to concurrent writes: TransactionConflict at any index of a
    transaction, or TransactionConflictException on a plain write.

    Returns the client's answer. Raises the ClientError of a condition that did not hold;
    ServiceUnavailableError for throttling and outages, and once CONFLICT_ATTEMPTS conflicts in a
    row have used up the bound.
    """
    call = getattr(client(), method)
    for attempt in range(CONFLICT_ATTEMPTS):
        _back_off(attempt)
        try:
            with unavailable_on_failure(operation, passed={*_CONDITION_FAILURES, "TransactionConflictException"}):
                return call(**request)
        except ClientError as error:
            if not _lost_to_a_concurrent_write(error):
                raise
    logger.warning("dynamodb write kept conflicting", extra={"operation": operation, "attempts": CONFLICT_ATTEMPTS})
    raise ServiceUnavailableError()


def _back_off(attempt: int) -> None:
    """Before attempt n > 0: full jitter, uniform(0, base * 2**(n-1))."""
    if attempt:
        pause(_jitter.uniform(0, CONFLICT_BASE_DELAY * 2 ** (attempt - 1)))


BATCH_GET_KEYS = 100  # DynamoDB's limit of keys per BatchGetItem


def get_many(operation: str, table: str, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items of ``keys`` in ``table``, strongly consistent, in BatchGetItems of 100 keys; in no
    particular order, and without the keys whose item does not exist.

    A batch may leave keys unprocessed (throttled, or past 16 MB): they are sent again with the same
    bounded backoff as write(), as the API Reference asks (BatchGetItem: retry UnprocessedKeys
    with exponential backoff); still unprocessed after CONFLICT_ATTEMPTS, ServiceUnavailableError.
    """
    items: list[dict[str, Any]] = []
    for start in range(0, len(keys), BATCH_GET_KEYS):
        pending: dict[str, Any] = {table: {"Keys": keys[start : start + BATCH_GET_KEYS], "ConsistentRead": True}}
        for attempt in range(CONFLICT_ATTEMPTS):
            _back_off(attempt)
            with unavailable_on_failure(operation):
                answer = client().batch_get_item(RequestItems=pending)
            items.extend(answer.get("Responses", {}).get(table, []))
            pending = answer.get("UnprocessedKeys") or {}
            if not pending:
                break
        else:
            logger.warning("dynamodb keys unprocessed", extra={"operation": operation, "attempts": CONFLICT_ATTEMPTS})
            raise ServiceUnavailableError()
    return items


def transact_write(operation: str, items: list[dict[str, Any]]) -> None:
    """One TransactWriteItems through write(): conflicts retried, conditions passed to the caller."""
    write(operation, "transact_write_items", {"TransactItems": items})


def _lost_to_a_concurrent_write(error: ClientError) -> bool:
    if error_code(error) == "TransactionConflictException":
        return True
    codes = cancellation_codes(error)
    if "ConditionalCheckFailed" in codes:
        return False  # a condition decides; sending it again would not change that
    return "TransactionConflict" in codes


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def cancellation_codes(error: ClientError) -> list[str]:
    """Per-item reasons of a cancelled TransactWriteItems ('None', 'ConditionalCheckFailed', ...)."""
    return [str(r.get("Code", "None")) for r in error.response.get("CancellationReasons", [])]


_CONDITION_FAILURES = frozenset({"ConditionalCheckFailedException", "TransactionCanceledException"})


@contextlib.contextmanager
def unavailable_on_failure(operation: str, passed: Container[str] = _CONDITION_FAILURES) -> Iterator[None]:
    """Throttling, 5xx, timeouts and connection errors -> 503; the caller's own conditions pass through
    (``passed``: the error codes raised as they are; write() also takes TransactionConflictException).

    Nothing half-done escapes: each call is a single request or a single transaction.
    """
    try:
        yield
    except ClientError as error:
        code = error_code(error)
        if code in passed and not _throttled(error):
            raise
        logger.warning("dynamodb unavailable", extra={"operation": operation, "code": code})
        raise ServiceUnavailableError() from None
    except BotoCoreError as error:
        logger.warning("dynamodb unreachable", extra={"operation": operation, "error": type(error).__name__})
        raise ServiceUnavailableError() from None


def _throttled(error: ClientError) -> bool:
    return any(c in {"ThrottlingError", "ProvisionedThroughputExceeded"} for c in cancellation_codes(error))
