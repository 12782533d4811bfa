"""Brute force: attempts are counted per account atomically, then slowed (ASVS 4.0.3 2.2.1, 11.1.6)."""

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


def test_unknown_identifiers_are_never_rate_limited_per_account(api, demo_user):
    # Nothing to count against; API Gateway throttling limits a flood of identifiers.
    for _ in range(7):
        assert api.login("nobody", "wrong").status == 400
