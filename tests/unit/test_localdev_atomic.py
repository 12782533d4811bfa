"""Serialised moto: a long-poll ReceiveMessage must not hold the lock it waits behind."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.sqs.models import Queue

from localdev.atomic import make_moto_atomic


def test_a_long_poll_receive_gets_a_message_sent_while_it_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given serialised moto, and a receiver long-polling an empty queue
    make_moto_atomic(monkeypatch.setattr)
    waiting = threading.Event()
    wait_for_messages = Queue.wait_for_messages

    def signalled_wait(self: Queue, timeout: int) -> None:
        waiting.set()  # the receive is inside moto now, waiting
        wait_for_messages(self, timeout)

    monkeypatch.setattr(Queue, "wait_for_messages", signalled_wait)
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="Jobs")["QueueUrl"]
        received: list[Any] = []
        receiver = threading.Thread(
            target=lambda: received.extend(
                sqs.receive_message(QueueUrl=url, WaitTimeSeconds=3).get("Messages", [])
            )
        )
        receiver.start()
        assert waiting.wait(5)

        # When another request sends a message during that wait
        sqs.send_message(QueueUrl=url, MessageBody="hello")
        receiver.join(10)

        # Then the waiting receive gets it (a lock held by the receive would have kept the send out)
        assert [m["Body"] for m in received] == ["hello"]
