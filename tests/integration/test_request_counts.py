"""DynamoDB round trips per request on the common paths (design: refresh at most 2)."""

import pytest

from authlayer.dal import dynamo
from tests.conftest import cookie_value


@pytest.fixture
def dynamodb_calls(api):
    calls: list[str] = []
    client = dynamo.client()
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    return calls


def test_login_refresh_and_me_round_trips(api, demo_user, dynamodb_calls):
    login = api.login("demo@example.com")  # both guards at once, the counter (returns the user), the session
    assert dynamodb_calls == ["BatchGetItem", "UpdateItem", "TransactWriteItems"]
    dynamodb_calls.clear()
    refreshed = api.refresh_cookie(cookie_value(login))
    assert dynamodb_calls == ["GetItem", "TransactWriteItems"]
    dynamodb_calls.clear()
    api.me(refreshed.body["jwt"])
    assert dynamodb_calls == ["BatchGetItem"]


def test_asvs5_6_3_8_unknown_identifier_costs_the_same_requests_as_a_real_account(
    api, demo_user, dynamodb_calls, monkeypatch
):
    """Issue 14 item 5: every attempt claims one counter. A failure costs the same for a real
    account and an unknown identifier, of either shape: one key read, one conditional write, one
    hash verification.
    A login counted on a device cookie reads the user once more (the device's claim does not
    return it) and resets the device's counter in the session write."""
    from authlayer import passwords
    from tests.integration.test_login import Spy

    device = cookie_value(api.login(), "__Secure-deviceCookie")
    hashes: list[str] = []
    monkeypatch.setattr(passwords, "_hasher", Spy(passwords._hasher, hashes))
    for identifier, unknown, lookup in [
        ("demo", "nobody", "GetItem"),
        ("demo@example.com", "nobody@example.com", "BatchGetItem"),  # email and username guards at once
    ]:
        dynamodb_calls.clear()
        api.login(identifier, "wrong")
        real = list(dynamodb_calls)
        dynamodb_calls.clear()
        api.login(unknown, "wrong")
        assert real == dynamodb_calls == [lookup, "UpdateItem"]
    assert len(hashes) == 4  # one verification each
    dynamodb_calls.clear()
    api.login(cookies=[f"__Secure-deviceCookie={device}"])
    assert dynamodb_calls == ["GetItem", "UpdateItem", "GetItem", "TransactWriteItems"]  # guard, device, user, session


def test_recovery_flows_round_trips(api, aws, demo_user, dynamodb_calls):
    from authlayer.dal import mail, queue
    from tests.integration.recovery_helpers import code_from, run_mailer, sent_mail

    other: list[str] = []
    queue._client().meta.events.register("before-call.sqs", lambda model, **_: other.append(f"sqs:{model.name}"))
    mail._client().meta.events.register("before-call.sesv2", lambda model, **_: other.append(f"ses:{model.name}"))
    # forgot-password: one SendMessage (plus the queue's URL, looked up once per container), no table
    api.call("mail_request", "forgot-password.json", {"email": "demo@example.com"})
    assert dynamodb_calls == [] and other == ["sqs:GetQueueUrl", "sqs:SendMessage"]
    other.clear()
    api.call("mail_request", "forgot-password.json", {"email": "nobody@example.com"})
    assert dynamodb_calls == [] and other == ["sqs:SendMessage"]  # the same for any address
    other.clear()
    # the mailer, for the known address: find, count the mail, store the code, send
    mailer_calls: list[str] = []
    dynamo.client().meta.events.register("before-call.dynamodb", lambda model, **_: mailer_calls.append(model.name))
    run_mailer(aws)
    assert other == ["ses:SendEmail"]
    assert mailer_calls == ["Query", "UpdateItem", "UpdateItem", "TransactWriteItems", "Query"]
    dynamodb_calls.clear()
    # reset-password: code and user, spend, end the (one) session, read back, new session
    api.login()
    dynamodb_calls.clear()
    api.call(
        "reset_password",
        "reset-password.json",
        {"code": code_from(sent_mail()[0]), "password": "a new passphrase", "passwordConfirmation": "a new passphrase"},
    )
    # Code, user, then one transaction (code spent, new hash, the caller's session), then the old
    # session marked revoked for the list; no read after the commit (ASVS 5.0 16.5.2).
    assert dynamodb_calls == ["GetItem", "GetItem", "TransactWriteItems", "Query", "UpdateItem"]
