"""Signing keys: PEM from SIGNING_KEY, else an SSM SecureString named by SIGNING_KEY_PARAMETER.

The value holds one or more PEM private keys: the first signs, the others (a key about to sign,
or the previous one) are only published, so tokens they sign or signed verify during a rotation.
Only the functions that sign read it; verifiers and the JWKS endpoint read the public JWK Set
kept apart (authlayer.jwks).
A missing or empty key fails closed: no fallback key, ever (ASVS 5.0 16.5.3).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from authlayer.config import Settings

# cryptography and pyjwt are imported where a key is loaded or published, not here: every handler
# imports this module (authlayer.http needs KeyConfigError), logout never touches a key.
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.+?-----END [A-Z ]*PRIVATE KEY-----", re.S)
MIN_RSA_BITS = 2048  # RFC 7518 §3.3


class KeyConfigError(RuntimeError):
    """The signing key is missing or unusable: the function refuses to issue or verify tokens."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    def jwk(self) -> dict[str, Any]:
        from jwt.algorithms import RSAAlgorithm

        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self.public_key, as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}


@dataclass(frozen=True)
class KeySet:
    current: SigningKey
    all: tuple[SigningKey, ...]

    def by_kid(self, kid: str) -> SigningKey | None:
        return next((k for k in self.all if k.kid == kid), None)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.jwk() for k in self.all]}


def thumbprint(public_key: rsa.RSAPublicKey) -> str:
    """RFC 7638 JWK thumbprint: a stable kid derived from the key itself."""
    import hashlib
    import json

    numbers = public_key.public_numbers()
    members = {
        "e": _b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
        "kty": "RSA",
        "n": _b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
    }
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
    return _b64url(digest)


def _b64url(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 §2), as jwt.utils.base64url_encode."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@lru_cache(maxsize=4)
def parse_key_set(pem_text: str) -> KeySet:
    """PEM text -> KeySet, once per container (cached)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    blocks = _PEM_BLOCK.findall(pem_text.replace("\\n", "\n"))
    if not blocks:
        raise KeyConfigError("signing key is empty or not a PEM private key")
    keys = []
    for block in blocks:
        # OpenSSL's full RSA check (primality of p and q) is ~45 ms a key, on every cold start. The key
        # is our own (SSM SecureString or env, written by `authctl keys`), and what matters at run time
        # is checked instead: that it signs verifiably (pairwise consistency test, FIPS 140-3 IG 10.3.A).
        # A faulty CRT result never leaves OpenSSL (it verifies each signature with e and recomputes
        # without CRT), so a damaged key gives no fault-attack signature; it fails the test below.
        key = serialization.load_pem_private_key(block.encode(), password=None, unsafe_skip_rsa_key_validation=True)
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < MIN_RSA_BITS:
            raise KeyConfigError(f"signing keys must be RSA of at least {MIN_RSA_BITS} bits (RS256)")
        _check_pairwise_consistency(key)
        keys.append(SigningKey(kid=thumbprint(key.public_key()), private_key=key))
    return KeySet(current=keys[0], all=tuple(keys))


def _check_pairwise_consistency(key: rsa.RSAPrivateKey) -> None:
    """Sign and verify one message (RS256's padding and hash): a key that cannot never signs a token."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    message = b"sam-refresh-auth pairwise consistency test"
    try:
        signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        key.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError) as error:
        raise KeyConfigError("signing key is damaged: its signatures do not verify") from error


def load_key_set(settings: Settings) -> KeySet:
    """Env first, then SSM (cached by Powertools parameters across invocations)."""
    if settings.signing_key_pem:
        return parse_key_set(settings.signing_key_pem)
    if not settings.signing_key_parameter:
        raise KeyConfigError("set SIGNING_KEY (PEM) or SIGNING_KEY_PARAMETER (SSM parameter name)")
    from authlayer.dal.parameters import get_secure_parameter

    value = get_secure_parameter(settings.signing_key_parameter)  # 503 when SSM fails
    if not value or not value.strip():
        raise KeyConfigError(f"SSM parameter {settings.signing_key_parameter} is empty")
    return parse_key_set(value)


def generate_private_key_pem(bits: int = 2048) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
