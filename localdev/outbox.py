"""The local outbox: every mail moto's SES accepts becomes an RFC 5322 `.eml` file and one line.

moto keeps sent mail in memory only, where nobody can click a reset link. A file per message opens
in any mail client, is what the end-to-end tests read, and outlives the runner. moto delivers
nothing, so no mail ever leaves the machine. Wrapping SESBackend catches SES v1 and v2 alike:
sesv2's SendEmail calls its send_raw_email (Raw) or send_email (Simple).
"""

from __future__ import annotations

import email.policy
import email.utils
import functools
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from moto.ses.models import SESBackend

_LINK = re.compile(r"https?://[^\s<>\"')\]]+")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class Outbox:
    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def write(self, message_id: str, raw: bytes) -> Path:
        """One file, named so that names sort by time; atomic, so a reader never sees half a mail."""
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        path = self.directory / f"{stamp}-{_UNSAFE.sub('_', message_id)}.eml"
        tmp = path.with_name(f".{path.name}.tmp")  # hidden and not *.eml until complete
        with tmp.open("wb") as out:
            out.write(raw)
            out.flush()
            os.fsync(out.fileno())  # SES answered 200: the mail must survive even a power cut
        os.replace(tmp, path)
        return path

    def deliver(self, message_id: str, raw: bytes) -> Path:
        path = self.write(message_id, raw)
        print(summary(raw), flush=True)
        return path


def first_link(message: EmailMessage) -> str:
    """The first http(s) link of the text part (the HTML part when there is no text)."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    match = _LINK.search(part.get_content())  # type: ignore[attr-defined]
    return match.group(0) if match else ""


def summary(raw: bytes) -> str:
    """`mail to <recipient>: <subject> <link>`: enough to follow a reset link from the console."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)  # what policy.default builds
    return f"mail to {message.get('To', '')}: {message.get('Subject', '')} {first_link(message)}".rstrip()


def simple_message(source: str, destinations: dict[str, list[str]], subject: str, body: str) -> bytes:
    """An .eml for Simple content. moto keeps one body only: the HTML one when both were given."""
    message = EmailMessage()
    message["From"] = source
    for header, key in (("To", "ToAddresses"), ("Cc", "CcAddresses")):
        if destinations.get(key):
            message[header] = ", ".join(destinations[key])
    message["Subject"] = subject
    message["Date"] = email.utils.formatdate(usegmt=True)
    html = body.lstrip().startswith("<")
    message.set_content(body, subtype="html" if html else "plain")
    return message.as_bytes()


def _writing_raw(original: Callable[..., Any], outbox: Outbox) -> Callable[..., Any]:
    @functools.wraps(original)
    def send_raw_email(self: Any, *args: Any, **kwargs: Any) -> Any:
        sent = original(self, *args, **kwargs)  # refuses unverified senders: then nothing is written
        outbox.deliver(sent.id, sent.raw_data.encode("utf-8"))  # moto decoded the bytes as UTF-8
        return sent

    return send_raw_email


def _writing_simple(original: Callable[..., Any], outbox: Outbox) -> Callable[..., Any]:
    @functools.wraps(original)
    def send_email(self: Any, *args: Any, **kwargs: Any) -> Any:
        sent = original(self, *args, **kwargs)
        outbox.deliver(sent.id, simple_message(sent.source, sent.destinations, sent.subject, sent.body))
        return sent

    return send_email


_ENTRY_POINTS = (("send_raw_email", _writing_raw), ("send_email", _writing_simple))


def install_outbox(directory: Path, setattr_: Callable[[Any, str, Any], None] = setattr) -> Outbox:
    """Write every mail moto's SES accepts into `directory`, before SendEmail answers.

    Idempotent: a second call wraps moto's own methods again (a new directory replaces the old),
    so a mail is never written twice. Tests pass monkeypatch.setattr to undo it.
    """
    outbox = Outbox(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, wrap in _ENTRY_POINTS:
        method = getattr(SESBackend, name)
        original = getattr(method, "__outbox_original__", method)
        wrapped = wrap(original, outbox)
        wrapped.__outbox_original__ = original  # type: ignore[attr-defined]
        setattr_(SESBackend, name, wrapped)
    return outbox
