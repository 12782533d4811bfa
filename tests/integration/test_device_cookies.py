"""Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies"): a lockout
triggered by strangers does not stop the owner's known browser; a device that fails too often is
locked itself; anything but a valid cookie for the user is ignored (untrusted), never an error."""

import base64

import pytest
from freezegun import freeze_time

from tests.conftest import DEMO_PASSWORD, cookie_value

T0 = "2026-11-29 12:00:00"
DEVICE = "__Secure-deviceCookie"


def device_of(answer):
    return cookie_value(answer, DEVICE)


def with_device(value):
    return {"cookies": [f"{DEVICE}={value}"]}


def items(aws, prefix):
    found = aws["dynamodb"].scan(TableName="UsersTable")["Items"]
    return [i for i in found if i["pk"]["S"].startswith(prefix)]


def lock_out_by_strangers(api, identifier="demo"):
    for _ in range(5):
        assert api.login(identifier, "stranger's guess").status == 400
    assert api.login(identifier, DEMO_PASSWORD).status == 429  # locked for every untrusted browser


def test_owasp_device_cookie_is_httponly_secure_strict_on_the_login_path_for_a_year(api, demo_user):
    answer = api.login()
    cookie = next(c for c in answer.cookies if c.startswith(f"{DEVICE}="))
    name_value, *attributes = [p.strip() for p in cookie.split(";")]
    assert set(attributes) == {"Path=/api/auth/local", "Max-Age=31536000", "HttpOnly", "SameSite=Strict", "Secure"}
    # It binds the user id (not the identifier typed) and a random nonce, under a MAC
    version, user_part, nonce, mac = name_value.split("=", 1)[1].split(".")
    assert version == "d1" and base64.urlsafe_b64decode(user_part + "==").decode() == demo_user.id
    assert len(nonce) >= 43 and len(mac) == 43
    assert device_of(api.login()) != device_of(answer)  # a new nonce at every login


def test_owasp_device_cookie_owner_passes_stranger_lockout(api, demo_user, aws):
    with freeze_time(T0):
        device = device_of(api.login("demo@example.com"))  # the owner signed in from this browser before
        lock_out_by_strangers(api)
        # The owner's browser gets in, by username or by email, during the strangers' lockout
        owner = api.login("demo", DEMO_PASSWORD, **with_device(device))
        assert owner.status == 200 and api.refresh_cookie(cookie_value(owner)).status == 200
        again = api.login("Demo@Example.com", DEMO_PASSWORD, **with_device(device_of(owner)))
        assert again.status == 200
        # The strangers' lockout stands: the owner's success reset only the device's counter
        assert api.login("demo", DEMO_PASSWORD).status == 429
    assert items(aws, "DEVICE#") == []


@pytest.mark.parametrize("cookie", ["tampered", "rebound to the owner", "foreign", "garbage", "unpublished key"])
def test_owasp_device_cookie_tampered_or_foreign_is_ignored(api, demo_user, aws, cookie):
    from authlayer import device_cookies
    from authlayer.accounts import create_user
    from authlayer.keys import parse_key_set
    from tests.conftest import private_key_pem

    with freeze_time(T0):
        create_user("mallory", "mallory@example.com", "mallory's password")
        own = device_of(api.login())
        mallorys = device_of(api.login("mallory", "mallory's password"))
        version, _, nonce, mac = mallorys.split(".")
        values = {
            "tampered": own[:-1] + ("A" if own[-1] != "A" else "B"),
            "rebound to the owner": ".".join([version, own.split(".")[1], nonce, mac]),  # the MAC covers the user id
            "foreign": mallorys,  # valid, but another user's
            "garbage": "d1.." + "x" * 300,
            "unpublished key": device_cookies.issue(parse_key_set(private_key_pem(1)), demo_user.id),
        }
        # Not locked: an ignored cookie is no error, the login works as from any browser
        assert api.login(**with_device(values[cookie])).status == 200
        lock_out_by_strangers(api)
        refused = api.login(**with_device(values[cookie]))
        assert refused.status == 429 and refused.headers["Retry-After"] == "60"  # counted as untrusted
    assert items(aws, "DEVICE#") == []


def test_owasp_device_cookie_from_the_events_sample_is_ignored(api, demo_user):
    with freeze_time(T0):
        lock_out_by_strangers(api, "demo@example.com")
        answer = api.call("login", "login-device-cookie.json")  # made under a key this stack never had
    assert answer.status == 429 and answer.cookies == []


def test_owasp_device_cookie_survives_a_key_rotation_while_the_old_key_is_published(api, aws, demo_user, settings_env):
    from tests.conftest import KEY_PARAMETER, private_key_pem

    with freeze_time(T0):
        device = device_of(api.login())
        rotated = private_key_pem(1) + private_key_pem(0)  # new current key, the old one still published
        aws["ssm"].put_parameter(Name=KEY_PARAMETER, Value=rotated, Type="SecureString", Overwrite=True)
        settings_env()
        lock_out_by_strangers(api)
        assert api.login(**with_device(device)).status == 200
        # Once the old key is no longer published, its cookies are ignored like any other
        aws["ssm"].put_parameter(Name=KEY_PARAMETER, Value=private_key_pem(1), Type="SecureString", Overwrite=True)
        settings_env()
        assert api.login(**with_device(device)).status == 429


def test_owasp_device_cookie_device_locked_out_after_its_own_failures(api, demo_user, aws):
    with freeze_time(T0) as clock:
        device = device_of(api.login())
        for _ in range(5):
            assert api.login("demo", "wrong", **with_device(device)).status == 400
        locked = api.login("demo", DEMO_PASSWORD, **with_device(device))
        assert locked.status == 429 and locked.headers["Retry-After"] == "60"
        # Its own counter, with a TTL; the account's counter did not move
        (item,) = items(aws, "DEVICE#")
        assert item["failed_logins"]["N"] == "5" and int(item["expires_at"]["N"]) > clock.time_to_freeze.timestamp()
        assert (
            aws["dynamodb"].get_item(TableName="UsersTable", Key={"pk": {"S": f"USER#{demo_user.id}"}})["Item"][
                "failed_logins"
            ]["N"]
            == "0"
        )
        assert api.login("demo", DEMO_PASSWORD).status == 200  # a browser without it is not affected
        clock.tick(60)
        assert api.login("demo", DEMO_PASSWORD, **with_device(device)).status == 200  # after its cool-down


def test_owasp_device_cookie_success_resets_the_counter_it_used(api, demo_user, aws):
    with freeze_time(T0):
        device = device_of(api.login())
        for _ in range(3):
            api.login("demo", "wrong", **with_device(device))
        assert [i["failed_logins"]["N"] for i in items(aws, "DEVICE#")] == ["3"]
        assert api.login(**with_device(device)).status == 200
        assert items(aws, "DEVICE#") == []  # forgotten: the next failure starts at one


def test_asvs5_7_4_3_device_login_fails_when_the_password_changes_meanwhile(api, demo_user, aws, monkeypatch):
    from authlayer import passwords
    from authlayer.dal import users as user_store

    device = device_of(api.login())
    sessions_before = aws["dynamodb"].scan(TableName="SessionsTable")["Count"]
    real_verify = passwords.verify_password

    def verify_then_reset(password, stored_hash):  # a reset lands between the check and the session
        result = real_verify(password, stored_hash)
        user_store.update(demo_user.id, "2026-11-29T12:00:00.000Z", password_hash=passwords.hash_password("new one"))
        return result

    monkeypatch.setattr(passwords, "verify_password", verify_then_reset)
    answer = api.login(**with_device(device))
    assert answer.status == 400 and answer.body["error"]["message"] == "Invalid identifier or password"
    assert aws["dynamodb"].scan(TableName="SessionsTable")["Count"] == sessions_before


def test_body_mode_login_sets_no_device_cookie(api, demo_user):
    answer = api.login(headers={"x-refresh-token-transport": "body"})
    assert answer.status == 200 and answer.cookies == []


def test_device_cookie_is_not_secure_prefixed_in_plain_http_development(api, demo_user, settings_env):
    settings_env(COOKIE_SECURE="false")
    cookie = next(c for c in api.login().cookies if c.startswith("deviceCookie="))
    assert "Secure" not in cookie and "Path=/api/auth/local" in cookie
