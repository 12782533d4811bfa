"""POST /api/auth/local/register: Strapi's registration, atomic uniqueness, and the off switch."""

import pytest

from tests.conftest import cookie_value

NEW = {"username": "newuser", "email": "New.User@Example.com", "password": "a long enough passphrase"}


def user_items(aws):
    return aws["dynamodb"].scan(TableName="UsersTable")["Items"]


def test_register_answers_jwt_user_and_cookie_and_stores_argon2id(api, aws):
    answer = api.call("register", "register.json", NEW)
    assert answer.status == 200 and set(answer.body) == {"jwt", "user"}
    assert answer.body["user"]["email"] == "new.user@example.com" and answer.body["user"]["confirmed"] is True
    assert api.refresh_cookie(cookie_value(answer)).status == 200
    stored = [i for i in user_items(aws) if i["pk"]["S"].startswith("USER#")][0]
    assert stored["password_hash"]["S"].startswith("$argon2id$") and NEW["password"] not in repr(user_items(aws))
    assert api.login("NEW.USER@example.com", NEW["password"]).status == 200


@pytest.mark.parametrize("clash", [{"username": "NewUser"}, {"email": "new.user@EXAMPLE.com"}])
def test_asvs5_15_4_2_usernames_and_emails_are_unique_and_nothing_is_half_written(api, aws, clash):
    assert api.call("register", "register.json", NEW).status == 200
    before = len(user_items(aws))
    answer = api.call("register", "register.json", {**NEW, "username": "other", "email": "other@example.com", **clash})
    assert answer.status == 400 and answer.error_name == "ApplicationError"
    assert answer.body["error"]["message"] == "Email or Username are already taken"
    assert len(user_items(aws)) == before  # no user, no guard left behind


@pytest.mark.parametrize(
    "body",
    [
        {**NEW, "password": "short"},
        {**NEW, "username": "has@at"},
        {**NEW, "username": "ab"},
        {**NEW, "email": "not-an-email"},
        {**NEW, "confirmed": True},
        {**NEW, "blocked": False},
        {"username": "newuser", "email": "new.user@example.com"},
    ],
)
def test_asvs5_15_3_3_invalid_or_extra_fields_are_refused(api, aws, body):
    answer = api.call("register", "register.json", body)
    assert answer.status == 400 and answer.error_name == "ValidationError"
    assert user_items(aws) == []


def test_registration_can_be_switched_off(api, aws, settings_env):
    settings_env(REGISTRATION_ENABLED="false")
    answer = api.call("register", "register.json", NEW)
    assert answer.status == 400 and answer.body["error"]["message"] == "Register action is currently disabled"
    assert user_items(aws) == []
