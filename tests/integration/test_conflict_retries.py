"""Writes that lose to a concurrent transaction on their items are sent again, bounded and with
jitter, not answered 503 (ASVS 5.0 16.5; catalogue R2-7). A refresh whose condition failed is
never resent: another request changed the session, and the failed write answers it as it now is
(issue 17). After the bound, 503 as for any outage, with nothing half-written (ASVS 5.0 16.5.2)."""

import pytest

from authlayer.dal import dynamo
from tests.conftest import cookie_value
from tests.integration.test_faults import FailingCall, assert_unavailable

CANCELLED = "TransactionCanceledException"
CONFLICT_ON_USER = ["None", "TransactionConflict"]  # index 1: the user's ConditionCheck / Update


@pytest.fixture
def pauses(monkeypatch):
    """The backoff delays write() asked for, instead of sleeping them (tests wait for states)."""
    asked: list[float] = []
    monkeypatch.setattr(dynamo, "pause", asked.append)
    return asked


@pytest.fixture
def dynamodb_calls(api):
    """Every request sent, the injected failures included (they answer at before-call)."""
    calls: list[str] = []
    dynamo.client().meta.events.register("before-parameter-build.dynamodb", lambda model, **_: calls.append(model.name))
    return calls


def session_items(aws):
    return aws["dynamodb"].scan(TableName="SessionsTable", ConsistentRead=True)["Items"]


def user_item(aws, user_id):
    return aws["dynamodb"].get_item(TableName="UsersTable", Key={"pk": {"S": f"USER#{user_id}"}}, ConsistentRead=True)[
        "Item"
    ]


def assert_full_jitter(pauses):
    # Full jitter: each delay uniform in [0, base * 2**n], n = 0, 1 (at most 10 ms, then 20 ms)
    for n, delay in enumerate(pauses):
        assert 0 <= delay <= dynamo.CONFLICT_BASE_DELAY * 2**n


def test_asvs5_16_5_r2_7_refresh_whose_write_meets_a_transaction_is_retried_not_503(api, demo_user, pauses, dynamodb_calls):
    # Given a session whose item is busy in another transaction for two attempts
    # (TransactionConflictException: a plain write meeting a transaction on its item)
    token = cookie_value(api.login())
    dynamodb_calls.clear()
    with FailingCall("UpdateItem", "TransactionConflictException", times=2) as fault:
        # When the client refreshes
        answer = api.refresh_cookie(token)
    # Then the rotation is sent again (same read, no re-read) and succeeds on the third attempt
    assert answer.status == 200, answer.body
    assert fault.failed == 2 and dynamodb_calls == ["BatchGetItem"] + ["UpdateItem"] * 3
    assert len(pauses) == 2
    assert_full_jitter(pauses)
    assert api.refresh_cookie(cookie_value(answer)).status == 200


def test_asvs5_16_5_r2_7_persistent_conflict_on_refresh_is_503_after_the_bound_with_nothing_written(
    api, demo_user, aws, pauses
):
    token = cookie_value(api.login())
    before = session_items(aws)
    with FailingCall("UpdateItem", "TransactionConflictException") as fault:
        assert_unavailable(api.refresh_cookie(token))
    assert fault.failed == dynamo.CONFLICT_ATTEMPTS == 3 and len(pauses) == 2
    assert session_items(aws) == before  # nothing rotated, nothing revoked
    assert api.refresh_cookie(token).status == 200  # the client's retry with the same token works


def test_issue17_a_refresh_whose_session_changed_is_judged_on_the_item_its_failed_write_returned(
    api, demo_user, pauses, dynamodb_calls
):
    from tests.integration.test_grace_race import JustBeforeNextWrite

    # Given a session, and another tab that rotates its token between this refresh's read and write
    token = cookie_value(api.login())
    other_tab: list = []
    dynamodb_calls.clear()
    with JustBeforeNextWrite(lambda: other_tab.append(api.refresh_cookie(token))):
        # When this tab refreshes with the same token
        answer = api.refresh_cookie(token)
    # Then its conditional write fails and answers the item as it now is (ReturnValuesOnConditionCheckFailure):
    # the parent inside the grace window, so it replays the one live token without another read
    assert answer.status == 200 and other_tab[0].status == 200
    assert cookie_value(answer) == cookie_value(other_tab[0])
    # (this tab's read and write, the other tab's read and write in between, this tab's touch)
    assert dynamodb_calls == ["BatchGetItem", "UpdateItem", "BatchGetItem", "UpdateItem", "UpdateItem"]
    assert pauses == []


def test_asvs5_16_5_r2_7_login_counter_conflicting_with_a_transaction_is_retried(
    api, demo_user, aws, pauses, dynamodb_calls
):
    # Given the login counter's UpdateItem meets a transaction on the user item twice
    # (another login's session write: TransactionConflictException on a plain write)
    dynamodb_calls.clear()
    with FailingCall("UpdateItem", "TransactionConflictException", times=2) as fault:
        answer = api.login()
    assert answer.status == 200 and answer.body["jwt"]
    assert fault.failed == 2 and dynamodb_calls == [
        "GetItem",  # the USERNAME# guard: login's lookup by key (item 5)
        "UpdateItem",
        "UpdateItem",
        "UpdateItem",
        "TransactWriteItems",
    ]
    assert_full_jitter(pauses)
    assert user_item(aws, demo_user.id)["failed_logins"] == {"N": "0"}  # counted once, reset by the success


def test_asvs5_16_5_r2_7_login_session_write_conflicting_on_the_user_is_retried(api, demo_user, aws, pauses):
    # The session Put next to the counter reset (index 1, the user) meets a racing transaction on the user
    with FailingCall("TransactWriteItems", CANCELLED, reasons=CONFLICT_ON_USER, times=1):
        answer = api.login()
    assert answer.status == 200
    assert len(session_items(aws)) == 1 and len(pauses) == 1


def test_asvs5_16_5_r2_7_persistent_login_counter_conflict_is_503_with_nothing_counted(api, demo_user, aws, pauses):
    before = user_item(aws, demo_user.id)
    with FailingCall("UpdateItem", "TransactionConflictException") as fault:
        assert_unavailable(api.login())
    assert fault.failed == dynamo.CONFLICT_ATTEMPTS
    assert user_item(aws, demo_user.id) == before and session_items(aws) == []
    assert api.login().status == 200


def test_a_failed_condition_is_never_resent(api, demo_user, pauses, dynamodb_calls):
    # A ConditionalCheckFailed next to a conflict decides: sending it again would not change it
    token = cookie_value(api.login())
    dynamodb_calls.clear()
    with FailingCall(
        "TransactWriteItems", CANCELLED, reasons=["TransactionConflict", "ConditionalCheckFailed"], times=1
    ):
        assert api.login().status == 400  # the password check of the session write failed: not resent
    assert pauses == [] and dynamodb_calls.count("TransactWriteItems") == 1
    # and a refresh's failed condition is not resent either: it answers what the session now is
    dynamodb_calls.clear()
    with FailingCall("UpdateItem", "ConditionalCheckFailedException", times=1):
        assert api.refresh_cookie(token).status == 401  # no item in the answer: the session is gone
    assert pauses == [] and dynamodb_calls.count("UpdateItem") == 1
