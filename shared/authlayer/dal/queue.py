"""The mail request queue (SQS): the HTTP side of the recovery flows only enqueues.

MAIL_QUEUE_URL is the queue's URL on AWS (!Ref of an AWS::SQS::Queue); under `sam local` and
the local runner !Ref gives the logical id, so a value without "://" is looked up as a queue name.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from botocore.config import Config

from authlayer.config import get_settings
from authlayer.dal import dynamo
from authlayer.errors import ServiceUnavailableError

_CONFIG = Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "total_max_attempts": 3})


@lru_cache(maxsize=1)
def _client() -> Any:
    return dynamo.session().client("sqs", config=_CONFIG)


@lru_cache(maxsize=1)
def _queue_url() -> str:
    configured = get_settings().mail_queue_url
    if not configured:
        raise ServiceUnavailableError()  # fail closed: a deployment without its queue sends nothing
    if "://" in configured:
        return configured
    with dynamo.unavailable_on_failure("get_queue_url"):
        return str(_client().get_queue_url(QueueName=configured)["QueueUrl"])


def enqueue(message: dict[str, Any]) -> None:
    """One SendMessage; throttling or an outage is a 503 for every address alike."""
    with dynamo.unavailable_on_failure("enqueue_mail"):
        _client().send_message(QueueUrl=_queue_url(), MessageBody=json.dumps(message, separators=(",", ":")))


def clear_caches() -> None:
    """Tests: the next call builds a new client and looks the queue up again."""
    _client.cache_clear()
    _queue_url.cache_clear()
