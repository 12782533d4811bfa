"""Login and registration (Strapi's /api/auth/local and /api/auth/local/register)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from authlayer import accounts, clock, passwords
from authlayer.config import Settings
from authlayer.dal import users as user_store
from authlayer.errors import ApplicationError, RateLimitError, ServiceUnavailableError, invalid_credentials
from authlayer.logic import sessions
from authlayer.models import Session, User, iso
from authlayer.observability import count, logger

if TYPE_CHECKING:
    from authlayer.bodies import LoginBody, RegisterBody


def login(settings: Settings, body: LoginBody, user_agent: str, ip: str) -> tuple[User, sessions.Renewed]:
    user = user_store.find_by_identifier(body.identifier)
    if user is None or not user.password_hash:
        passwords.burn_verification(body.password)  # same cost as a real user (ASVS 5.0 6.3.8)
        count("LoginFailed")
        logger.info("login failed", extra={"reason": "unknown identifier"})
        raise invalid_credentials()
    # The claim's write returns the user strongly consistent: the index read above may predate
    # a password change or reset, and the password is checked against the hash of now.
    claimed = user_store.claim_login_attempt(user.id, clock.now(), settings.login_max_failures, settings.login_lockout)
    if claimed is None:
        count("LoginThrottled")
        logger.warning("login throttled", extra={"user_id": user.id})
        retry_after = max(1, user.last_failed_at + settings.login_lockout - clock.now())
        raise RateLimitError("Too many login attempts, please try again later", retry_after)
    user = claimed
    if not passwords.verify_password(body.password, user.password_hash):
        count("LoginFailed")
        logger.info("login failed", extra={"user_id": user.id, "reason": "wrong password"})
        raise invalid_credentials()
    # Checked only after the password, and before any token exists (the tutorial issued first).
    if not user.confirmed:
        raise ApplicationError("Your account email is not confirmed")
    if user.blocked:
        raise ApplicationError("Your account has been blocked by an administrator")
    if passwords.needs_rehash(user.password_hash):
        new_hash = passwords.hash_password(body.password)
        if user_store.replace_password_hash(user.id, user.password_hash, new_hash, iso(clock.now())):
            user.password_hash = new_hash
            logger.info("password hash upgraded", extra={"user_id": user.id})
    try:
        renewed = sessions.start(settings, user.id, user_agent, ip, verified_hash=user.password_hash)
    except user_store.PasswordChanged:
        # A change or reset landed after the check: the password verified is no longer the
        # account's, so no session may come of it (ASVS 5.0 7.4.3).
        count("LoginFailed")
        logger.info("login failed", extra={"user_id": user.id, "reason": "password changed meanwhile"})
        raise invalid_credentials() from None
    count("LoginSucceeded")
    logger.info("login succeeded", extra={"user_id": user.id, "session_id": renewed.session.id})
    return user, renewed


def _create(settings: Settings, body: RegisterBody, confirmed: bool, session: Session | None = None) -> User:
    if not settings.registration_enabled:
        raise ApplicationError("Register action is currently disabled")
    try:
        return accounts.create_user(
            body.username,
            body.email,
            body.password,
            confirmed=confirmed,
            user_id=session.user_id if session else None,
            with_session=session,
        )
    except user_store.AlreadyTaken:
        raise ApplicationError("Email or Username are already taken") from None


def register_unconfirmed(settings: Settings, body: RegisterBody, api_url: str) -> User:
    """EMAIL_CONFIRMATION=true: an unconfirmed account and a confirmation mail, no session."""
    from authlayer.logic import recovery
    from authlayer.one_time_codes import Purpose

    user = _create(settings, body, confirmed=False)
    try:
        recovery.request_mail(Purpose.CONFIRM, user.email, api_url)
    except ServiceUnavailableError:
        # The account exists now: a 503 would be untrue, and its retry "already taken" (ASVS 5.0
        # 16.5.2). The user asks for the mail again with send-email-confirmation.
        logger.warning("confirmation mail not queued", extra={"user_id": user.id})
    count("UserRegistered")
    logger.info("user registered, confirmation pending", extra={"user_id": user.id})
    return user


def register(settings: Settings, body: RegisterBody, user_agent: str, ip: str) -> tuple[User, sessions.Renewed]:
    """The user and their first session in one transaction: a 503 means nothing was written, so
    the client's retry registers rather than finding the name taken (ASVS 5.0 16.5.2)."""
    renewed = sessions.new_session(settings, accounts.new_user_id(), user_agent, ip)
    user = _create(settings, body, confirmed=True, session=renewed.session)
    count("UserRegistered")
    logger.info("user registered", extra={"user_id": user.id, "session_id": renewed.session.id})
    return user, renewed
