"""Keys derived from the signing key with HKDF (RFC 5869): no new secret to provision or rotate.

Each purpose has its own ``info`` string (RFC 5869 §3.2), so the keys are independent of each
other and of the RSA key: a MAC made for one purpose never verifies for another.
At a signing-key rotation (`authctl keys rotate`) the derived keys change with the current key;
``for_all`` lets a verifier accept what the previous (still published) keys made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from authlayer.keys import KeySet, SigningKey

LOGIN_THROTTLE = b"sam-refresh-auth/login-throttle/v1"  # HMAC of identifiers without an account
DEVICE_COOKIE = b"sam-refresh-auth/device-cookie/v1"  # MAC of device cookies

_derived: dict[tuple[str, bytes], bytes] = {}  # per container: one HKDF per key and purpose


def derive(key: SigningKey, info: bytes) -> bytes:
    """32 bytes for ``info`` from ``key`` (HKDF-SHA256 over its PKCS#8 DER encoding)."""
    cached = _derived.get((key.kid, info))
    if cached is None:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        material = key.private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        cached = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(material)
        _derived[(key.kid, info)] = cached
    return cached


def current(keys: KeySet, info: bytes) -> bytes:
    return derive(keys.current, info)


def for_all(keys: KeySet, info: bytes) -> list[bytes]:
    """The current key's first, then the previous keys' (verification during a rotation)."""
    return [derive(key, info) for key in keys.all]
