"""The one clock of the layer: tests freeze it (freezegun) to check lifetimes exactly."""

import time


def now() -> int:
    return int(time.time())


def now_ms() -> int:
    """Milliseconds, for ordering a session against a user's revocation instant."""
    return int(time.time() * 1000)
