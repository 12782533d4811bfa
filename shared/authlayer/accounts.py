"""Creating users: shared by registration, the local runner's demo user and operator tools."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from authlayer import clock, passwords
from authlayer.dal import sessions as session_store
from authlayer.dal import users as store
from authlayer.models import Session, User, iso


def create_user(
    username: str,
    email: str,
    password: str,
    *,
    confirmed: bool = True,
    blocked: bool = False,
    user_id: str | None = None,
    with_session: Session | None = None,
) -> User:
    """Hash the password and store the user; ``dal.users.AlreadyTaken`` if a name is in use.

    ``with_session``: a first session of ``user_id``, written in the same transaction (registration)."""
    now = iso(clock.now())
    password_hash = passwords.hash_password(password)
    return import_user(
        user_id or new_user_id(),
        username,
        email,
        password_hash,
        confirmed=confirmed,
        blocked=blocked,
        created_at=now,
        updated_at=now,
        also=[session_store.put_request(with_session)] if with_session else (),
    )


def new_user_id() -> str:
    return str(uuid.uuid4())


# Hashes passwords.verify_password understands; anything else (a plaintext, an unknown scheme)
# would be a user who can never log in, or worse, so it is refused before it is stored.
_KNOWN_HASH_PREFIXES = ("$argon2id$", "$2a$", "$2b$", "$2y$")


def import_user(
    user_id: str,
    username: str,
    email: str,
    password_hash: str,
    *,
    provider: str = "local",
    confirmed: bool = True,
    blocked: bool = False,
    created_at: str,
    updated_at: str,
    also: Sequence[dict[str, Any]] = (),
) -> User:
    """Store a user from another system (a Strapi export) with its own id, hash and timestamps.

    A bcrypt hash verifies at login and is replaced by argon2id then (passwords.needs_rehash).
    ``dal.users.AlreadyTaken`` if the id, the username or the email is in use.
    """
    if not password_hash.startswith(_KNOWN_HASH_PREFIXES):
        raise ValueError("password_hash must be an argon2id or bcrypt hash")
    user = User(
        id=user_id,
        username=username,
        email=email.strip().lower(),
        password_hash=password_hash,
        provider=provider,
        confirmed=confirmed,
        blocked=blocked,
        created_at=created_at,
        updated_at=updated_at,
    )
    store.create(user, also)
    return user
