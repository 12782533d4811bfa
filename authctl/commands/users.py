"""users create | list | show | block | unblock | confirm | delete | set-password | send-reset.

Blocking, deleting and setting a password end the user's sessions at once (logic.accounts).
send-reset enqueues the same mail request as POST /api/auth/forgot-password (logic.recovery):
the mailer makes the code and sends the link, within the per-account mail limits.
"""

from __future__ import annotations

import argparse
from typing import Any

from authctl import prompt
from authctl.errors import CliError, NotFound
from authctl.output import Output, fields, table
from authlayer import accounts
from authlayer.config import get_settings
from authlayer.dal import users as user_store
from authlayer.logic import accounts as account_logic
from authlayer.logic import recovery
from authlayer.logic.sessions import active_for_user
from authlayer.models import User
from authlayer.one_time_codes import Purpose
from authlayer.schemas import RegisterRequest, parse

COLUMNS = [
    ("id", "ID"),
    ("username", "USERNAME"),
    ("email", "EMAIL"),
    ("confirmed", "CONFIRMED"),
    ("blocked", "BLOCKED"),
    ("createdAt", "CREATED"),
]


def resolve_user(identifier: str) -> User:
    """A user by username, email or id. Refuses a name that is also another user's id."""
    by_name = user_store.find_by_identifier(identifier)
    by_id = user_store.get(identifier)
    if by_name and by_id and by_name.id != by_id.id:
        raise CliError(
            f"{identifier!r} is the username or email of user {by_name.id} and the id of another user;"
            " name the user by email instead"
        )
    user = by_name or by_id
    if user is None:
        raise NotFound(f"user {identifier!r} not found")
    return user


def _active_count(user: User) -> int:
    return len(active_for_user(user.id, user.tokens_not_before))


def _password_scheme(user: User) -> str:
    if user.password_hash.startswith("$argon2id$"):
        return "argon2id"
    if user.password_hash.startswith("$2"):
        return "bcrypt (imported; argon2id after the next login)"
    return "none"


def create(args: argparse.Namespace) -> Output:
    # Registration's rules for names; the password is checked by the prompt (asked only once
    # the names are known to be acceptable).
    parse(
        RegisterRequest,
        {"username": args.username, "email": args.email, "password": "-" * prompt.MIN_PASSWORD},
    )
    password = prompt.new_password(args.password_stdin)
    try:
        user = accounts.create_user(
            args.username, args.email, password, confirmed=not args.unconfirmed, blocked=args.blocked
        )
    except user_store.AlreadyTaken:
        raise CliError("username or email already taken") from None
    return Output(user.sanitized(), f"created user {user.username} ({user.id})\n{fields(user.sanitized())}")


def list_users(args: argparse.Namespace) -> Output:
    users = [u.sanitized() for u in user_store.list_all()]
    return Output(users, table(users, COLUMNS, {"email": 40}))


def show(args: argparse.Namespace) -> Output:
    user = resolve_user(args.user)
    data: dict[str, Any] = {
        **user.sanitized(),
        "password": _password_scheme(user),  # the scheme only, never the hash
        "activeSessions": _active_count(user),
    }
    return Output(data, fields(data))


def block(args: argparse.Namespace) -> Output:
    return _set_blocked(args, True)


def unblock(args: argparse.Namespace) -> Output:
    return _set_blocked(args, False)


def _set_blocked(args: argparse.Namespace, blocked: bool) -> Output:
    user = resolve_user(args.user)
    ended = _active_count(user) if blocked else 0
    user = account_logic.set_blocked(user.id, blocked)
    data = {**user.sanitized(), "sessionsEnded": ended}
    if blocked:
        return Output(data, f"blocked {user.username} ({user.id}); {ended} session(s) ended")
    return Output(data, f"unblocked {user.username} ({user.id})")


def confirm(args: argparse.Namespace) -> Output:
    user = resolve_user(args.user)
    if user.confirmed:  # idempotent, like revoking an ended session: the goal is met
        return Output(user.sanitized(), f"{user.username} ({user.id}) was already confirmed")
    user = account_logic.set_confirmed(user.id)  # also voids a pending confirmation link
    still = " (still blocked)" if user.blocked else ": they can log in now"
    return Output(user.sanitized(), f"confirmed {user.username} ({user.id}){still}")


def send_reset(args: argparse.Namespace) -> Output:
    user = resolve_user(args.user)
    if user.blocked:
        # The mailer sends nothing to a blocked account (and reset-password refuses its codes).
        raise CliError(f"{user.username} ({user.id}) is blocked: no reset mail is sent; unblock them first")
    recovery.request_mail(Purpose.RESET, user.email, args.target.api_url)
    settings = get_settings()  # the per-account mail limits are fixed in the layer
    data = {"id": user.id, "username": user.username, "email": user.email, "queued": True}
    return Output(
        data,
        f"reset mail for {user.username} ({user.id}) queued to {user.email}",
        notes=[
            "the mailer sends it unless this account already got a reset mail in the last"
            f" {settings.mail_interval} s or {settings.mail_per_day} today; the link works once, within"
            " RESET_TOKEN_TTL (1 hour by default)"
        ],
    )


def delete(args: argparse.Namespace) -> Output:
    user = resolve_user(args.user)
    prompt.confirm(f"Delete user {user.username} ({user.email}, id {user.id})?", user.username, args.yes)
    ended = _active_count(user)
    account_logic.delete_user(user.id)
    data = {"id": user.id, "username": user.username, "deleted": True, "sessionsEnded": ended}
    return Output(data, f"deleted {user.username} ({user.id}); {ended} session(s) ended")


def set_password(args: argparse.Namespace) -> Output:
    user = resolve_user(args.user)
    password = prompt.new_password(args.password_stdin)
    ended = _active_count(user)
    account_logic.set_password(user.id, password)
    data = {"id": user.id, "username": user.username, "passwordSet": True, "sessionsEnded": ended}
    return Output(data, f"password of {user.username} ({user.id}) set; {ended} session(s) ended")
