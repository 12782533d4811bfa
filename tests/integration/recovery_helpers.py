"""Helpers of the recovery tests: drain the mail queue into the mailer as Lambda's event source
mapping would, and read what moto's SES kept."""

from __future__ import annotations

import email
import re
from email.message import Message
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from tests.conftest import LambdaContext, load_handler

LINK = re.compile(r"https?://\S+")


def queue_url(aws: dict[str, Any], name: str = "MailQueue") -> str:
    return aws["sqs"].get_queue_url(QueueName=name)["QueueUrl"]


def sqs_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:MailQueue",
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def run_mailer(aws: dict[str, Any], handler: Any = None) -> dict[str, Any]:
    """Receive what is queued (one batch) and invoke the mailer; delete what it did not fail."""
    url = queue_url(aws)
    messages = aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
        "Messages", []
    )
    if not messages:
        return {"batchItemFailures": []}
    handler = handler or load_handler("mailer")
    answer = handler(sqs_event(messages), LambdaContext(function_name="MailerFunction"))
    failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
    for m in messages:
        if m["MessageId"] not in failed:
            aws["sqs"].delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return answer


def sent_mail() -> list[Message]:
    """Every message moto's SES accepted, parsed."""
    backend = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    return [email.message_from_string(m.raw_data) for m in backend.sent_messages]


def text_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    raise AssertionError("no text part")


def link_in(message: Message) -> str:
    found = LINK.search(text_part(message))
    assert found, "no link in the mail"
    return found.group(0)


def code_from(message: Message, name: str = "code") -> str:
    value = re.search(rf"[?&]{name}=([A-Za-z0-9_%-]+)", link_in(message))
    assert value
    return value.group(1)
