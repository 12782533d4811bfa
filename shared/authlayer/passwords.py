"""Password hashing: argon2id at OWASP's minimum (m=19 MiB, t=2, p=1, ASVS 5.0 11.4.2 / App. C).

bcrypt hashes imported from Strapi verify too and are replaced by argon2id at the next login.
Passwords are verified exactly as received: no trimming, folding or truncation (ASVS 5.0 6.2.8),
except that an imported bcrypt hash can only check the 72 bytes bcryptjs hashed (see _verify_bcrypt).
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16)
_BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
BCRYPT_MAX_BYTES = 72  # what bcrypt (and Strapi's bcryptjs) reads of a password


def hash_password(password: str) -> str:
    return _hasher.hash(password)


# The hash of a random password nobody knows, made with _hasher's parameters. A constant, not
# hashed on first use: that would make a container's first unknown-user login cost two hashes.
DUMMY_HASH = "$argon2id$v=19$m=19456,t=2,p=1$i0mi50yS7oZc9pStAMl72A$DfgAhNuTHqP6R8jkzWhwWI7qSvtzyLbw7Aw0Yno3mT8"


def burn_verification(password: str) -> None:
    """Spend one verification on an unknown user, so timing does not reveal it (ASVS 5.0 6.3.8)."""
    verify_password(password, DUMMY_HASH)


def verify_password(password: str, stored_hash: str) -> bool:
    if stored_hash.startswith(_BCRYPT_PREFIXES):
        return _verify_bcrypt(password, stored_hash)
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True for bcrypt imports and for argon2 hashes made with other parameters."""
    if stored_hash.startswith(_BCRYPT_PREFIXES):
        return True
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def _verify_bcrypt(password: str, stored_hash: str) -> bool:
    """Only hashes imported from Strapi are bcrypt. Strapi's bcryptjs hashed the first 72 bytes of
    the UTF-8 password and ignored the rest, so those 72 bytes are what such a hash can check: a
    longer password is cut exactly as bcryptjs cut it (even inside a character), or its owner could
    never log in. Login then rehashes the whole password with argon2id (needs_rehash), after which
    every byte counts again."""
    import bcrypt  # imported on first use: only imported Strapi users need it

    secret = password.encode("utf-8")[:BCRYPT_MAX_BYTES]
    # Strapi's bcryptjs writes $2a$/$2b$; the bcrypt package accepts those and $2y$.
    try:
        return bcrypt.checkpw(secret, stored_hash.encode("ascii"))
    except ValueError:
        return False
