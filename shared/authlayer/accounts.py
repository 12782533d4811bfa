"""Creating users: shared by registration, the local runner's demo user and operator tools."""

from __future__ import annotations

import uuid

from authlayer import clock, passwords
from authlayer.dal import users as store
from authlayer.models import User, iso


def create_user(
    username: str, email: str, password: str, *, confirmed: bool = True, blocked: bool = False
) -> User:
    """Hash the password and store the user; ``dal.users.AlreadyTaken`` if a name is in use."""
    now = iso(clock.now())
    user = User(
        id=str(uuid.uuid4()),
        username=username,
        email=email.strip().lower(),
        password_hash=passwords.hash_password(password),
        confirmed=confirmed,
        blocked=blocked,
        created_at=now,
        updated_at=now,
    )
    store.create(user)
    return user
