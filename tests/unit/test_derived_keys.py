"""HKDF-derived keys (RFC 5869): one per purpose, stable for a key, new with a new key."""

from authlayer import derived_keys
from authlayer.keys import parse_key_set
from tests.conftest import private_key_pem


def test_rfc5869_distinct_info_gives_distinct_keys_from_one_signing_key() -> None:
    keys = parse_key_set(private_key_pem(0))
    throttle = derived_keys.current(keys, derived_keys.LOGIN_THROTTLE)
    device = derived_keys.current(keys, derived_keys.DEVICE_COOKIE)
    assert len(throttle) == len(device) == 32 and throttle != device


def test_derived_key_is_stable_for_a_key_and_changes_with_the_key() -> None:
    first = derived_keys.current(parse_key_set(private_key_pem(0)), derived_keys.DEVICE_COOKIE)
    derived_keys._derived.clear()  # a new container: derived again from the same PEM
    assert derived_keys.current(parse_key_set(private_key_pem(0)), derived_keys.DEVICE_COOKIE) == first
    rotated = parse_key_set(private_key_pem(1) + private_key_pem(0))
    assert derived_keys.current(rotated, derived_keys.DEVICE_COOKIE) != first
    assert derived_keys.for_all(rotated, derived_keys.DEVICE_COOKIE)[1] == first  # the previous key's, still checked
