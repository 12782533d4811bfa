"""Lambda's SQS event source mapping, emulated: poll a queue in moto, invoke with a batch, delete.

What Lambda does, and so this (docs.aws.amazon.com/lambda/latest/dg/with-sqs.html):
- long-polls the queue and invokes the function with up to BatchSize messages, gathered for up
  to MaximumBatchingWindowInSeconds, as an event of Lambda's own shape (not ReceiveMessage's);
- deletes the batch when the invocation succeeds; with ReportBatchItemFailures it deletes all but
  the records the response names in batchItemFailures; after a function error it deletes nothing;
- nothing more: a record not deleted becomes visible again after the queue's visibility timeout,
  and the queue's redrive policy moves it to the dead-letter queue after maxReceiveCount
  receives (moto applies it in ReceiveMessage, as SQS does).
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from localdev.template import Function, QueueEvent

log = logging.getLogger("localdev")

WAIT_SECONDS = 1  # per ReceiveMessage: short enough for a prompt stop, long enough to stay idle
MAX_MESSAGES = 10  # SQS's limit per ReceiveMessage and per DeleteMessageBatch
ERROR_PAUSE = 1.0  # seconds before polling again after a failed poll (moto busy, a bug)
STOP_TIMEOUT = 5.0  # seconds for all pollers together; a batch still running then is left behind


class Invoker(Protocol):
    """What runs the function: a FunctionPool, or a fake in tests."""

    def invoke(self, event: dict[str, Any], request_id: str | None = None) -> Any: ...


@dataclass(frozen=True)
class Batch:
    """What one poll did: the records delivered, deleted and left for a retry."""

    message_ids: tuple[str, ...]
    deleted: tuple[str, ...]
    retried: tuple[str, ...]
    invocation_failed: bool = False


def failed_message_ids(response: Any, message_ids: Collection[str]) -> set[str]:
    """The records to retry after a partial batch response, by Lambda's rules.

    Complete success: a null or empty response, a null or empty batchItemFailures. Complete
    failure: anything else malformed, an itemIdentifier that is missing, empty, or not the
    messageId of a record of this batch.
    """
    everything = set(message_ids)
    if response is None:
        return set()
    if not isinstance(response, dict):
        return everything
    failures = response.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return everything
    failed = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in everything:
            return everything
        failed.add(identifier)
    return failed


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """ReceiveMessage's {"StringValue", "DataType"} in the event's camelCase, binary as base64."""
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    attribute.update({"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]})
    return attribute


def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of Lambda's SQS event from one message of ReceiveMessage's answer."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        # ApproximateReceiveCount, SentTimestamp, SenderId, ApproximateFirstReceiveTimestamp, and
        # any other system attribute the message has (AWSTraceHeader...), all strings as in Lambda.
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


class QueuePoller:
    """One event source mapping: a thread that polls one queue for one function."""

    def __init__(
        self,
        function_name: str,
        source: QueueEvent,
        invoker: Invoker,
        sqs: Any,
        wait_seconds: int = WAIT_SECONDS,
    ):
        self.function_name = function_name
        self.source = source
        self._invoker = invoker
        self._sqs = sqs
        self._wait_seconds = wait_seconds
        self.queue_url: str = sqs.get_queue_url(QueueName=source.queue)["QueueUrl"]
        self.queue_arn: str = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self._region: str = sqs.meta.region_name
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"sqs-{self.source.queue}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end after its current poll or batch."""
        self._stopping.set()

    def join(self, timeout: float) -> bool:
        """True once the thread has ended (or never started)."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once()
            except Exception:  # Lambda keeps polling too; at shutdown moto may be gone
                if self._stopping.is_set():
                    return
                log.exception("%s -> %s: polling failed", self.source.queue, self.function_name)
                self._stopping.wait(ERROR_PAUSE)

    def _receive(self, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        answer = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait_seconds,
            # Not VisibilityTimeout: Lambda uses the queue's own, and so do the retries here.
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(answer.get("Messages", []))

    def _receive_batch(self) -> list[dict[str, Any]]:
        """Up to BatchSize messages: one long poll, then more until the batching window closes."""
        size = self.source.batch_size
        batch = self._receive(min(MAX_MESSAGES, size), self._wait_seconds)
        deadline = time.monotonic() + self.source.batching_window
        while batch and len(batch) < size and not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            more = self._receive(min(MAX_MESSAGES, size - len(batch)), 1 if left >= 1 else 0)
            if not more:
                self._stopping.wait(min(left, 0.05))  # a short poll came back empty: do not spin
            batch += more
        return batch

    def _delete(self, messages: Iterable[Mapping[str, Any]]) -> None:
        messages = list(messages)
        for start in range(0, len(messages), MAX_MESSAGES):
            chunk = messages[start : start + MAX_MESSAGES]
            answer = self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
            for failure in answer.get("Failed", []):  # the record comes back after its visibility timeout
                log.warning("%s: could not delete a message (%s)", self.source.queue, failure.get("Code"))

    def poll_once(self) -> Batch | None:
        """Receive one batch, invoke the function with it, delete what succeeded. None when idle."""
        messages = self._receive_batch()
        if not messages:
            return None
        ids = tuple(m["MessageId"] for m in messages)
        event = {"Records": [sqs_record(m, self.queue_arn, self._region) for m in messages]}
        invocation_failed = False
        try:
            response = self._invoker.invoke(event)
        except Exception:  # InvocationError or anything else: the whole batch failed
            invocation_failed = True
            failed = set(ids)
        else:
            failed = failed_message_ids(response, ids) if self.source.report_batch_item_failures else set()
        done = [m for m in messages if m["MessageId"] not in failed]
        self._delete(done)
        batch = Batch(
            message_ids=ids,
            deleted=tuple(m["MessageId"] for m in done),
            retried=tuple(i for i in ids if i in failed),
            invocation_failed=invocation_failed,
        )
        # Counts only: bodies hold email addresses, and the function logs its own errors.
        outcome = (
            "invocation failed (see the function's log)"
            if invocation_failed
            else f"{len(batch.deleted)} done, {len(batch.retried)} failed"
        )
        retry = ", left for a retry after the visibility timeout" if batch.retried else ""
        log.info("%s -> %s: batch of %d, %s%s", self.source.queue, self.function_name, len(ids), outcome, retry)
        return batch


def start_pollers(funcs: Iterable[Function], pools: Mapping[str, Invoker], sqs: Any) -> list[QueuePoller]:
    """One poller per SQS event source of each function, each invoking through the function's pool."""
    pollers = [QueuePoller(f.name, source, pools[f.name], sqs) for f in funcs for source in f.queue_events]
    for poller in pollers:
        poller.start()
    return pollers


def stop_pollers(pollers: Iterable[QueuePoller], timeout: float = STOP_TIMEOUT) -> list[QueuePoller]:
    """Stop all at once and wait for them together (bounded); returns those still running.

    A batch still running at the deadline is left to its daemon thread: its records, not deleted,
    stay in the queue as after a Lambda timeout.
    """
    pollers = list(pollers)
    for poller in pollers:
        poller.stop()
    deadline = time.monotonic() + timeout
    return [p for p in pollers if not p.join(max(0.0, deadline - time.monotonic()))]
