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
    login = api.login("demo@example.com")
    assert dynamodb_calls == ["Query", "UpdateItem", "TransactWriteItems"]
    dynamodb_calls.clear()
    refreshed = api.refresh_cookie(cookie_value(login))
    assert dynamodb_calls == ["GetItem", "TransactWriteItems"]
    dynamodb_calls.clear()
    api.me(refreshed.body["jwt"])
    assert dynamodb_calls == ["BatchGetItem"]
