"""Outgoing mail through Amazon SES v2 (SendEmail with a raw RFC 5322 message).

Raw rather than Simple content: the message is built once here with both parts (text and HTML),
and is the same bytes SES sends, moto keeps and the local runner writes to its outbox.
"""

from __future__ import annotations

import email.utils
from email.message import EmailMessage
from functools import lru_cache
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from authlayer.dal import dynamo
from authlayer.observability import logger

_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 3})


class MailNotSent(Exception):
    """SES refused or could not be reached: the queue message is retried, then dead-lettered."""


@lru_cache(maxsize=1)
def _client() -> Any:
    return dynamo.session().client("sesv2", config=_CONFIG)


def build(sender: str, to: str, subject: str, text: str, html: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = email.utils.formatdate(usegmt=True)
    message["Message-ID"] = email.utils.make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message.as_bytes()


def send(sender: str, to: str, subject: str, text: str, html: str) -> str:
    """Send one message; returns SES's message id. MailNotSent on any failure (never its text)."""
    raw = build(sender, to, subject, text, html)
    try:
        answer = _client().send_email(FromEmailAddress=sender, Content={"Raw": {"Data": raw}})
    except ClientError as error:
        logger.warning("mail not sent", extra={"code": dynamo.error_code(error)})
        raise MailNotSent() from None
    except BotoCoreError as error:
        logger.warning("mail service unreachable", extra={"error": type(error).__name__})
        raise MailNotSent() from None
    return str(answer.get("MessageId", ""))
