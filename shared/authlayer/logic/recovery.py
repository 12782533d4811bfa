"""Forgot/reset password and email confirmation (Strapi v4's contract, without its weaknesses).

The HTTP side (``request_mail``) only validates and enqueues: it does the same work for every
address, so neither the answer nor its timing tells whether an account exists (ASVS 5.0 6.3.8).
The mailer (``deliver``) looks the user up, applies the per-account mail limits, stores a new
code's hash and sends. Spending a code (``reset_password``, ``confirm_email``) is one
conditional transaction: single use, and a refused request does not spend it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from authlayer import clock, mail_templates, one_time_codes, passwords
from authlayer.config import Settings
from authlayer.dal import codes, mail, queue
from authlayer.dal import sessions as session_store
from authlayer.dal import users as user_store
from authlayer.errors import ValidationError
from authlayer.logic import sessions
from authlayer.logic.accounts import mark_revoked_after_commit
from authlayer.logic.sessions import Renewed
from authlayer.models import User, email_key, iso
from authlayer.observability import count, logger
from authlayer.one_time_codes import Purpose

INCORRECT_CODE = "Incorrect code provided"  # Strapi's message, for a wrong, spent or expired code
INVALID_CONFIRMATION = "Invalid token"  # Strapi's message for a bad confirmation token


@dataclass(frozen=True)
class MailRequest:
    """What travels on the queue: no code (the mailer makes it), nothing secret."""

    purpose: Purpose
    email: str
    api_url: str  # the API's origin, for the confirmation link

    def to_message(self) -> dict[str, Any]:
        return {"purpose": self.purpose.value, "email": self.email, "apiUrl": self.api_url}

    @classmethod
    def from_message(cls, data: Any) -> MailRequest:
        """ValueError for anything the HTTP side would not have enqueued (it is dead-lettered)."""
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("purpose", "email", "apiUrl")):
            raise ValueError("malformed mail request")
        return cls(Purpose(data["purpose"]), data["email"], data["apiUrl"])


def request_mail(purpose: Purpose, email: str, api_url: str) -> None:
    """forgot-password and send-email-confirmation: enqueue, whatever the address."""
    queue.enqueue(MailRequest(purpose, email_key(email), api_url).to_message())
    count("MailRequested")


# --- the mailer ---------------------------------------------------------------------------------


def deliver(settings: Settings, request: MailRequest, message_id: str) -> bool:
    """Send the mail a request asks for, if an account should get it. True if a mail went out.

    Raises mail.MailNotSent (or ServiceUnavailableError) to have the message retried.
    """
    user = user_store.find_by_email(request.email)
    why_not = _why_no_mail(user, request.purpose)
    if why_not or user is None:
        logger.info("no mail sent", extra={"purpose": request.purpose.value, "reason": why_not})
        return False
    now = clock.now()
    if not codes.claim_mail(user.id, request.purpose, now, message_id, settings.mail_interval, settings.mail_per_day):
        count("MailThrottled")
        logger.info("mail limit reached", extra={"user_id": user.id, "purpose": request.purpose.value})
        return False
    code = one_time_codes.new_code()
    hashed = one_time_codes.code_hash(code)
    assert hashed is not None  # new_code() always has the format
    ttl = settings.reset_token_ttl if request.purpose is Purpose.RESET else settings.email_confirmation_ttl
    if not codes.store(user.id, request.purpose, hashed, now + ttl, now):
        logger.info("no mail sent", extra={"user_id": user.id, "reason": "user gone or blocked"})
        return False
    if request.purpose is Purpose.RESET:
        link = mail_templates.reset_link(settings.reset_password_url, code)
        subject, text, html = mail_templates.reset_password(user.username, link, max(1, ttl // 60))
    else:
        link = mail_templates.confirmation_link(request.api_url, code)
        subject, text, html = mail_templates.confirm_email(user.username, link, max(1, ttl // 3600))
    mail.send(settings.mail_from, user.email, subject, text, html)
    count("MailSent")
    logger.info("mail sent", extra={"user_id": user.id, "purpose": request.purpose.value})
    return True


def _why_no_mail(user: User | None, purpose: Purpose) -> str:
    if user is None:
        return "no such account"
    if user.blocked:
        return "blocked"
    if purpose is Purpose.CONFIRM and user.confirmed:
        return "already confirmed"
    return ""


# --- spending codes -------------------------------------------------------------------------------


def reset_password(
    settings: Settings, code: str, password: str, confirmation: str, user_agent: str, ip: str
) -> tuple[User, Renewed]:
    """Set the password of the code's user, end all of their sessions (ASVS 5.0 7.4.3) and start
    the caller's, in the transaction that spends the code: a 503 leaves the code unspent for the
    retry, a 200 is all of it (ASVS 5.0 16.5.2). ValidationError, with nothing spent, for a
    mismatch or a wrong, spent, replaced, expired or blocked user's code.
    """
    if password != confirmation:
        raise ValidationError("Passwords do not match")
    hashed = one_time_codes.code_hash(code)
    now = clock.now()
    user_id = codes.find(Purpose.RESET, hashed, now) if hashed else None
    user = user_store.get(user_id) if user_id else None
    if hashed is None or user is None or user.blocked or user.reset_code != hashed:
        count("ResetRefused")
        raise ValidationError(INCORRECT_CODE)
    new_hash = passwords.hash_password(password)
    not_before = clock.now_ms()
    renewed = sessions.new_session(settings, user.id, user_agent, ip, created_ms=not_before)
    spent = codes.spend(
        user.id,
        Purpose.RESET,
        hashed,
        iso(now),
        also=[session_store.put_request(renewed.session)],
        password_hash=new_hash,
        tokens_not_before=not_before,
        failed_logins=0,  # the owner proved control of the mailbox: the login lockout starts over
    )
    if not spent:  # a racing request spent it first, or the user was blocked meanwhile
        count("ResetRefused")
        raise ValidationError(INCORRECT_CODE)
    mark_revoked_after_commit(user.id, "password reset", not_before)
    count("PasswordReset")
    logger.info("password reset", extra={"user_id": user.id, "session_id": renewed.session.id})
    # What the transaction wrote, without a read that could fail after the commit.
    return replace(user, password_hash=new_hash, updated_at=iso(now), reset_code="", failed_logins=0), renewed


def confirm_email(token: str) -> None:
    """Mark the token's account confirmed. ValidationError for a bad, spent or expired token."""
    hashed = one_time_codes.code_hash(token)
    now = clock.now()
    user_id = codes.find(Purpose.CONFIRM, hashed, now) if hashed else None
    if hashed is None or user_id is None or not codes.spend(user_id, Purpose.CONFIRM, hashed, iso(now), confirmed=True):
        count("ConfirmationRefused")
        raise ValidationError(INVALID_CONFIRMATION)
    count("EmailConfirmed")
    logger.info("email confirmed", extra={"user_id": user_id})
