"""Brute force: attempts are counted per account atomically, then slowed (ASVS 4.0.3 2.2.1, 11.1.6)."""

import hashlib
import json
from datetime import UTC, datetime

import pytest
from freezegun import freeze_time

from tests.conftest import DEMO_PASSWORD, cookie_value

T0 = "2026-11-29 12:00:00"


def user_item(aws, user):
    return aws["dynamodb"].get_item(TableName="UsersTable", Key={"pk": {"S": f"USER#{user.id}"}})["Item"]


def test_asvs4_2_2_1_account_cools_down_after_five_failures_with_retry_after(api, demo_user, aws):
    with freeze_time(T0) as clock:
        for _ in range(5):
            assert api.login("demo", "wrong").status == 400
        assert int(user_item(aws, demo_user)["failed_logins"]["N"]) == 5
        throttled = api.login("demo", DEMO_PASSWORD)  # even the right password waits
        assert throttled.status == 429 and throttled.error_name == "RateLimitError"
        assert throttled.headers["Retry-After"] == "60" and throttled.cookies == []
        clock.tick(30)
        assert api.login("demo", DEMO_PASSWORD).headers["Retry-After"] == "30"
        clock.tick(30)
        # The real owner is not locked out for long: after the cool-down the right password works
        answer = api.login("demo", DEMO_PASSWORD)
        assert answer.status == 200 and api.refresh_cookie(cookie_value(answer)).status == 200
        assert int(user_item(aws, demo_user)["failed_logins"]["N"]) == 0  # success resets the count


def test_asvs4_2_2_1_never_more_than_100_failures_an_hour(api, demo_user):
    with freeze_time(T0) as clock:
        failures = 0
        for _ in range(3600 // 15):  # an attacker trying every 15 s for an hour
            if api.login("demo", "wrong").status == 400:
                failures += 1
            clock.tick(15)
        assert failures <= 100
        assert failures >= 60  # five quick ones, then one a minute: never locked for longer


def test_locked_account_spends_no_hash_on_guesses(api, demo_user, monkeypatch):
    from authlayer import passwords
    from tests.integration.test_login import Spy

    with freeze_time(T0):
        for _ in range(5):
            api.login("demo", "wrong")
        calls = []
        monkeypatch.setattr(passwords, "_hasher", Spy(passwords._hasher, calls))
        assert api.login("demo", "wrong").status == 429
        assert calls == []


def throttle_items(aws):
    items = aws["dynamodb"].scan(TableName="UsersTable")["Items"]
    return [i for i in items if i["pk"]["S"].startswith("THROTTLE#")]


def answers(api, identifier, clock, count=8):
    """Eight wrong passwords, one every 5 s, then one after the cool-down and one right after."""
    seen = []
    for _ in range(count):
        seen.append(api.login(identifier, "wrong"))
        clock.tick(5)
    clock.tick(60)
    seen += [api.login(identifier, "wrong"), api.login(identifier, "wrong")]
    return [(a.status, a.headers, a.body, a.cookies) for a in seen]


@pytest.fixture
def passwordless_user(aws):
    """A user who cannot log in with a password (e.g. imported from a provider: no hash)."""
    from authlayer.accounts import create_user
    from authlayer.dal import users as user_store

    user = create_user("sso-only", "sso@example.com", "unused password")
    user_store.update(user.id, "2026-11-29T00:00:00.000Z", password_hash="")
    return user


@pytest.mark.parametrize("unknown", ["nobody", "nobody@example.com", "sso-only"])
def test_asvs5_6_3_8_lockout_sequence_identical_for_unknown_identifier(api, demo_user, passwordless_user, unknown):
    # Given a real account and an identifier without a password account
    # When each gets eight wrong passwords (and more after the cool-down), under the same clock
    real_identifier = "demo@example.com" if "@" in unknown else "demo"
    with freeze_time(T0) as clock:
        real = answers(api, real_identifier, clock)
    with freeze_time(T0) as clock:
        made_up = answers(api, unknown, clock)
    # Then statuses, headers (Retry-After included), bodies and cookies are the same, answer by answer
    assert [a[0] for a in real] == [400] * 5 + [429] * 3 + [400, 429]
    assert [a[1].get("Retry-After") for a in real] == [None] * 5 + ["55", "50", "45", None, "60"]
    assert made_up == real


def test_asvs5_6_3_8_unknown_identifier_counter_is_a_ttl_item_keyed_by_hmac(api, demo_user, aws):
    with freeze_time(T0):
        api.login("Nobody@Example.COM", "wrong")
        api.login("nobody@example.com", "wrong")  # the same address: emails are case-insensitive
        api.login("NoBody", "wrong")
        api.login("nobody", "wrong")  # the same username key (casefolded, as find_by_identifier)
    items = throttle_items(aws)
    assert len(items) == 2 and {i["failed_logins"]["N"] for i in items} == {"2"}
    day = 24 * 3600
    t0 = int(datetime.fromisoformat(T0).replace(tzinfo=UTC).timestamp())
    assert {i["expires_at"]["N"] for i in items} == {str(t0 + 30 * day)}  # the table's TTL attribute
    for item in items:  # an HMAC (64 hex digits), not the identifier nor its plain hash
        digest = item["pk"]["S"].removeprefix("THROTTLE#")
        assert len(digest) == 64 and "nobody" not in json.dumps(item).lower()
        assert digest not in {hashlib.sha256(v.encode()).hexdigest() for v in ("email:nobody@example.com", "nobody")}
    assert "failed_logins" not in user_item(aws, demo_user)  # nobody else's counter moved


def test_asvs5_6_3_8_throttle_key_follows_the_signing_key_at_rotation(api, aws, settings_env):
    """Rotation (a new current key) starts unknown identifiers' counters afresh: documented."""
    from tests.conftest import KEY_PARAMETER, private_key_pem

    with freeze_time(T0):
        api.login("nobody", "wrong")
        aws["ssm"].put_parameter(
            Name=KEY_PARAMETER, Value=private_key_pem(1) + private_key_pem(0), Type="SecureString", Overwrite=True
        )
        settings_env()
        api.login("nobody", "wrong")
    assert sorted(i["failed_logins"]["N"] for i in throttle_items(aws)) == ["1", "1"]


@pytest.mark.parametrize("identifier", ["nobody", "demo"])
def test_asvs5_16_5_counter_write_failing_is_503_for_both_and_counts_nothing(api, demo_user, aws, identifier):
    from tests.integration.test_faults import FailingCall, assert_unavailable

    with FailingCall("UpdateItem", "ThrottlingException"):
        assert_unavailable(api.login(identifier, "wrong"))
    assert throttle_items(aws) == [] and "failed_logins" not in user_item(aws, demo_user)
