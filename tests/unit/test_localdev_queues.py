"""The local runner's SQS event source mapping: Lambda's event, deletes and retries, against moto."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localdev.queues import QueuePoller, failed_message_ids, stop_pollers
from localdev.template import Function, QueueEvent, create_queues, functions
from localdev.workers import InvocationError

MAX_RECEIVES = 3
# Listed before its dead-letter queue on purpose: create_queues must order them.
TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Jobs": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "VisibilityTimeout": 0,  # a failed record is visible again at once: fast retries
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["JobsDeadLetters", "Arn"]},
                    "maxReceiveCount": MAX_RECEIVES,
                },
            },
        },
        "JobsDeadLetters": {"Type": "AWS::SQS::Queue", "Properties": {"MessageRetentionPeriod": 1209600}},
        "Worker": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "Handler": "worker.handler",
                "CodeUri": ".",
                "Runtime": "python3.11",
                "Events": {
                    "Jobs": {
                        "Type": "SQS",
                        "Properties": {
                            "Queue": {"Fn::GetAtt": ["Jobs", "Arn"]},
                            "BatchSize": 5,
                            "FunctionResponseTypes": ["ReportBatchItemFailures"],
                        },
                    }
                },
            },
        },
    }
}


class FakeFunction:
    """Records each event; fails the records whose body is in `failing`, or the whole invocation."""

    def __init__(self, failing: tuple[str, ...] = (), error: bool = False):
        self.events: list[dict[str, Any]] = []
        self.failing = failing
        self.error = error

    def invoke(self, event: dict[str, Any], request_id: str | None = None) -> Any:
        self.events.append(event)
        if self.error:
            raise InvocationError("boom")
        failures = [r["messageId"] for r in event["Records"] if r["body"] in self.failing]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failures]}

    def bodies(self, invocation: int) -> list[str]:
        return [r["body"] for r in self.events[invocation]["Records"]]


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("sqs", region_name="us-east-1")
        create_queues(client, TEMPLATE)
        yield client


def worker(tmp_path: Path) -> Function:
    return functions(TEMPLATE, tmp_path)[0]


def poller(sqs: Any, fake: FakeFunction, source: QueueEvent, wait_seconds: int = 0) -> QueuePoller:
    return QueuePoller("Worker", source, fake, sqs, wait_seconds=wait_seconds)


def send(sqs: Any, *bodies: str, **kwargs: Any) -> list[str]:
    url = sqs.get_queue_url(QueueName="Jobs")["QueueUrl"]
    return [sqs.send_message(QueueUrl=url, MessageBody=b, **kwargs)["MessageId"] for b in bodies]


def visible(sqs: Any, queue: str) -> int:
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_the_template_gives_the_function_its_queue_event(tmp_path: Path) -> None:
    # Given a function with an SQS event on a queue of the template
    # When the runner reads it
    (source,) = worker(tmp_path).queue_events

    # Then the event names the queue by logical id, with its batch settings
    assert source == QueueEvent(queue="Jobs", batch_size=5, report_batch_item_failures=True)


def test_only_the_failed_record_of_a_batch_is_retried(sqs: Any, tmp_path: Path) -> None:
    # Given three messages, and a function that fails the second one (a partial batch response)
    ids = send(sqs, "a", "b", "c")
    fake = FakeFunction(failing=("b",))
    mapping = poller(sqs, fake, worker(tmp_path).queue_events[0])

    # When the mapping polls twice
    first = mapping.poll_once()
    second = mapping.poll_once()

    # Then the first batch has all three, and only the failed one comes back
    assert first is not None and second is not None
    assert sorted(fake.bodies(0)) == ["a", "b", "c"]
    assert set(first.deleted) == {ids[0], ids[2]}
    assert first.retried == (ids[1],)
    assert fake.bodies(1) == ["b"]
    assert fake.events[1]["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"


def test_an_invocation_error_keeps_the_whole_batch(sqs: Any, tmp_path: Path) -> None:
    # Given two messages and a function that fails (an exception, a timeout, a crash)
    send(sqs, "a", "b")
    fake = FakeFunction(error=True)
    mapping = poller(sqs, fake, worker(tmp_path).queue_events[0])

    # When the mapping polls twice
    first = mapping.poll_once()
    second = mapping.poll_once()

    # Then nothing was deleted: both records come back together
    assert first is not None and first.invocation_failed and first.deleted == ()
    assert second is not None and sorted(second.retried) == sorted(first.message_ids)
    assert sorted(fake.bodies(1)) == ["a", "b"]


def test_without_report_batch_item_failures_a_success_deletes_the_whole_batch(sqs: Any) -> None:
    # Given a mapping without ReportBatchItemFailures, and a response naming a failure anyway
    send(sqs, "a", "b")
    fake = FakeFunction(failing=("b",))
    mapping = poller(sqs, fake, QueueEvent(queue="Jobs", batch_size=10))

    # When it polls
    batch = mapping.poll_once()

    # Then Lambda ignores the response: the invocation succeeded, so every record is deleted
    assert batch is not None and len(batch.deleted) == 2 and batch.retried == ()
    assert mapping.poll_once() is None


def test_a_record_that_always_fails_ends_in_the_dead_letter_queue(sqs: Any, tmp_path: Path) -> None:
    # Given a message the function always fails, on a queue with maxReceiveCount 3
    (message_id,) = send(sqs, "poison")
    fake = FakeFunction(failing=("poison",))
    mapping = poller(sqs, fake, worker(tmp_path).queue_events[0], wait_seconds=1)

    # When the mapping's thread runs until the dead-letter queue holds it
    mapping.start()
    try:
        deadline = time.monotonic() + 8
        while visible(sqs, "JobsDeadLetters") == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        still_running = stop_pollers([mapping], timeout=5)

    # Then it was tried maxReceiveCount times, then moved by the redrive policy, and the thread stopped
    assert visible(sqs, "JobsDeadLetters") == 1
    counts = [e["Records"][0]["attributes"]["ApproximateReceiveCount"] for e in fake.events]
    assert counts == [str(n) for n in range(1, MAX_RECEIVES + 1)]
    assert {e["Records"][0]["messageId"] for e in fake.events} == {message_id}
    assert still_running == []


def test_the_event_has_lambdas_sqs_record_shape(sqs: Any, tmp_path: Path) -> None:
    # Given a message with a string and a binary message attribute
    (message_id,) = send(
        sqs,
        '{"kind":"reset"}',
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "reset"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    fake = FakeFunction()

    # When the mapping delivers it
    mapping = poller(sqs, fake, worker(tmp_path).queue_events[0])
    mapping.poll_once()

    # Then the record has every field of Lambda's SQS event, in Lambda's spelling
    (record,) = fake.events[0]["Records"]
    assert set(record) == {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "md5OfMessageAttributes",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert record["messageId"] == message_id
    assert record["receiptHandle"]
    assert record["body"] == '{"kind":"reset"}'
    assert record["md5OfBody"] == hashlib.md5(b'{"kind":"reset"}').hexdigest()  # noqa: S324 - SQS's checksum
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:Jobs"
    assert record["awsRegion"] == "us-east-1"
    attributes = record["attributes"]
    assert {"ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(
        attributes
    )
    assert attributes["ApproximateReceiveCount"] == "1"
    assert all(isinstance(v, str) for v in attributes.values())
    assert record["messageAttributes"] == {
        "kind": {"stringValue": "reset", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "blob": {
            "binaryValue": base64.b64encode(b"\x00\x01").decode(),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }


@pytest.mark.parametrize(
    ("response", "retried"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, {"m2"}),
        ({"batchItemFailures": [{"itemIdentifier": "unknown"}]}, {"m1", "m2"}),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, {"m1", "m2"}),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, {"m1", "m2"}),
        ({"batchItemFailures": [{"id": "m2"}]}, {"m1", "m2"}),
        ({"batchItemFailures": "m2"}, {"m1", "m2"}),
        ("not an object", {"m1", "m2"}),
    ],
)
def test_partial_batch_responses_follow_lambdas_rules(response: Any, retried: set[str]) -> None:
    # Given a batch of m1 and m2
    # When the function answers `response`
    # Then an empty answer is a complete success, a malformed one a complete failure
    assert failed_message_ids(response, ["m1", "m2"]) == retried
