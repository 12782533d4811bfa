"""Login and registration (Strapi's /api/auth/local and /api/auth/local/register)."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, NoReturn

from authlayer import accounts, clock, derived_keys, device_cookies, passwords
from authlayer.config import Settings
from authlayer.dal import attempts
from authlayer.dal import users as user_store
from authlayer.errors import ApplicationError, ServiceUnavailableError, invalid_credentials
from authlayer.logic import sessions
from authlayer.logic.attempts import count_attempt
from authlayer.models import Session, User, iso
from authlayer.observability import count, logger

if TYPE_CHECKING:
    from authlayer.bodies import LoginBody, RegisterBody
    from authlayer.keys import KeySet


def login(
    settings: Settings, body: LoginBody, user_agent: str, ip: str, keys: KeySet, device_cookie: str | None = None
) -> tuple[User, sessions.Renewed, str]:
    """Check the password, start a session; also the browser's new device cookie value.

    Every attempt is counted before the password is checked, on exactly one counter: the device
    cookie's (a valid one, for this user), else the account's, else, when no user has the
    identifier, the identifier's throttle item; so an unknown identifier answers exactly like a
    real one (statuses, headers, one key read and one conditional write, one hash verification;
    ASVS 5.0 6.3.8). A user without a password is counted on its account and fails the same way.
    """
    now = clock.now()
    user_id = user_store.find_id_for_login(body.identifier)
    if user_id is None:
        mac = hmac.new(derived_keys.current(keys, derived_keys.LOGIN_THROTTLE), _normalised(body), hashlib.sha256)
        count_attempt(settings, attempts.throttle_key(mac.hexdigest()), now, None)
        _fail_without_account(body)
    device = device_cookies.verify(keys, device_cookie)
    device_counter = attempts.device_key(device.counter_id) if device and device.user_id == user_id else None
    if device_counter is not None:
        count_attempt(settings, device_counter, now, user_id)
        # As the account's claim does with its write: a strongly consistent read, so the password
        # is checked against the hash of now.
        user = user_store.get(user_id)
    else:
        user = user_store.to_user(count_attempt(settings, user_store.user_key(user_id), now, user_id, account=True))
    if user is None or not user.password_hash:  # deleted meanwhile, or no password to log in with
        _fail_without_account(body)
    if not passwords.verify_password(body.password, user.password_hash):
        count("LoginFailed")
        logger.info(
            "login failed", extra={"user_id": user.id, "reason": "wrong password", "device": bool(device_counter)}
        )
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
        renewed = sessions.start(
            settings, user.id, user_agent, ip, verified_hash=user.password_hash, device_counter=device_counter
        )
    except user_store.PasswordChanged:
        # A change or reset landed after the check: the password verified is no longer the
        # account's, so no session may come of it (ASVS 5.0 7.4.3).
        count("LoginFailed")
        logger.info("login failed", extra={"user_id": user.id, "reason": "password changed meanwhile"})
        raise invalid_credentials() from None
    count("LoginSucceeded")
    logger.info(
        "login succeeded", extra={"user_id": user.id, "session_id": renewed.session.id, "device": bool(device_counter)}
    )
    # A new nonce at every success (OWASP: "issue new device cookie"); the old one's counter is gone.
    return user, renewed, device_cookies.issue(keys, user.id)


def _fail_without_account(body: LoginBody) -> NoReturn:
    passwords.burn_verification(body.password)  # same cost as a real user (ASVS 5.0 6.3.8)
    count("LoginFailed")
    logger.info("login failed", extra={"reason": "unknown identifier"})
    raise invalid_credentials()


def _normalised(body: LoginBody) -> bytes:
    return user_store.identifier_key(body.identifier).encode("utf-8", "surrogatepass")


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
