"""The local outbox: every mail moto's SES accepts is an .eml file and one console line."""

from __future__ import annotations

import email
import email.policy
import email.utils
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from localdev.outbox import install_outbox

SENDER = "no-reply@example.com"
LINK = "http://127.0.0.1:3000/?code=abc123"
FILE_NAME = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-[A-Za-z0-9._-]+\.eml$")


@pytest.fixture
def ses(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    install_outbox(tmp_path / "outbox", monkeypatch.setattr)
    with mock_aws():
        client = boto3.client("sesv2", region_name="us-east-1")
        client.create_email_identity(EmailIdentity=SENDER)
        yield client


def raw_mail(to: str = "alice@example.com", subject: str = "Reset your password") -> bytes:
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = email.utils.formatdate(usegmt=True)
    message.set_content(f"Hello,\n\nreset it here: {LINK}\n")
    message.add_alternative(f'<p>Reset it <a href="{LINK}&amp;html=1">here</a>.</p>', subtype="html")
    return message.as_bytes()


def read(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_a_raw_multipart_mail_becomes_an_eml_file_and_a_console_line(
    ses: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the outbox, and a multipart mail as the mailer builds it
    # When it is sent through SES v2 with Raw content
    answer = ses.send_email(FromEmailAddress=SENDER, Content={"Raw": {"Data": raw_mail()}})

    # Then one time-named .eml holds it, headers and both parts intact
    (path,) = (tmp_path / "outbox").iterdir()
    assert FILE_NAME.match(path.name)
    assert path.name.endswith(f"-{answer['MessageId']}.eml")
    message = read(path)
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "Reset your password"
    assert message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert LINK in message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    # And the console names recipient, subject and the text part's link
    assert capsys.readouterr().out.splitlines() == [f"mail to alice@example.com: Reset your password {LINK}"]


def test_mail_from_an_unverified_sender_is_refused_and_not_written(ses: Any, tmp_path: Path) -> None:
    # Given a sender that is not a verified identity
    # When it sends
    with pytest.raises(ClientError) as refused:
        ses.send_email(FromEmailAddress="someone@elsewhere.test", Content={"Raw": {"Data": raw_mail()}})

    # Then SES refuses it, as on AWS, and the outbox stays empty
    assert refused.value.response["Error"]["Code"] == "MessageRejected"
    assert list((tmp_path / "outbox").iterdir()) == []


def test_simple_content_is_written_as_an_eml_too(ses: Any, tmp_path: Path) -> None:
    # Given the outbox
    # When a mail with Simple content is sent
    ses.send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": ["bob@example.com"]},
        Content={"Simple": {"Subject": {"Data": "Confirm"}, "Body": {"Text": {"Data": f"Go to {LINK}"}}}},
    )

    # Then the .eml has its sender, recipient, subject, date and body
    (path,) = (tmp_path / "outbox").iterdir()
    message = read(path)
    assert (message["From"], message["To"], message["Subject"]) == (SENDER, "bob@example.com", "Confirm")
    assert message["Date"]
    assert LINK in message.get_content()  # type: ignore[attr-defined]


def test_installing_twice_still_writes_each_mail_once(
    monkeypatch: pytest.MonkeyPatch, ses: Any, tmp_path: Path
) -> None:
    # Given the outbox installed a second time, into another folder
    install_outbox(tmp_path / "second", monkeypatch.setattr)

    # When a mail is sent
    ses.send_email(FromEmailAddress=SENDER, Content={"Raw": {"Data": raw_mail()}})

    # Then it is written once, where the last installation says
    assert list((tmp_path / "outbox").iterdir()) == []
    assert len(list((tmp_path / "second").iterdir())) == 1
