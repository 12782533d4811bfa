"""DynamoDB round trips and capacity units per flow on the common paths (design: refresh at most
2 requests; issue 17: at most 2 read units and 1 write unit on the table for a normal session).

Units are computed by DynamoDB's published rules (tools/capacity.py) from each request's type,
consistency and the sizes of the items it touched, read from moto before and after it. moto's own
ReturnConsumedCapacity is a constant per operation (moto 5.2.5: GetItem and UpdateItem 0.5
whatever the consistency or size, BatchGetItem 1 per key, TransactWriteItems none): only
BatchGetItem's is the right figure for our items (under 4 KB, strongly consistent), and there the
test checks that they agree.

With CAPACITY_REPORT=<file> the measured flows are also written there (tools/bench.py prints them).
"""

import json
import os

import boto3
import pytest
from freezegun import freeze_time

from authlayer.dal import dynamo
from localdev.template import load_template, table_definitions
from tests.conftest import ROOT, LambdaContext, cookie_value, load_event, load_handler
from tools import capacity

FLOWS: dict[str, dict] = {}  # flow -> requests and units, for CAPACITY_REPORT


@pytest.fixture(scope="module", autouse=True)
def capacity_report():
    yield
    if os.environ.get("CAPACITY_REPORT") and FLOWS:
        with open(os.environ["CAPACITY_REPORT"], "w", encoding="utf-8") as out:
            json.dump(FLOWS, out, indent=1)


TEMPLATE = load_template(ROOT / "template.yaml")
# The tables of a stack between the two upgrade deployments (docs/deploy.md): SessionsTable keeps its
# former by-user index (projection ALL) next to by-user-keys; the rules price the former shapes on it.
LEGACY_TABLES = capacity.tables_of(table_definitions(TEMPLATE, {"LegacySessionsIndex": "kept"}))


@pytest.fixture
def meter(api):
    """Every DynamoDB request of the handlers, with its capacity units."""
    peeker = boto3.client("dynamodb", region_name="us-east-1")  # not metered
    tables = capacity.tables_of(table_definitions(TEMPLATE))
    metered = capacity.Meter(tables, lambda table, key: peeker.get_item(TableName=table, Key=key).get("Item"))
    metered.attach(dynamo.client())
    yield metered
    metered.detach(dynamo.client())


def record(flow: str, meter: capacity.Meter, **extra) -> capacity.Units:
    total = meter.total
    FLOWS[flow] = {
        "requests": meter.operations,
        "read": total.read,
        "write": total.write,
        "index_write": total.index_write,
        **extra,
    }
    meter.clear()
    return total


def item(aws, table, pk):
    return aws["dynamodb"].get_item(TableName=table, Key={"pk": {"S": pk}}, ConsistentRead=True)["Item"]


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
    assert dynamodb_calls == ["BatchGetItem", "UpdateItem"]  # issue 17: session and user at once, then the session
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
    # session marked revoked for the list (by-user-keys gives its key, BatchGetItem its item); no
    # read of what the transaction wrote (ASVS 5.0 16.5.2).
    assert dynamodb_calls == ["GetItem", "GetItem", "TransactWriteItems", "Query", "BatchGetItem", "UpdateItem"]


@pytest.fixture
def frozen():
    with freeze_time("2026-11-29 12:00:00") as clock:
        yield clock


def test_issue17_capacity_units_per_flow(api, aws, demo_user, meter, frozen, monkeypatch):
    """Refresh: at most 2 read units and 1 write unit on the table (today's shapes: 1 + 4)."""
    from tests.integration.recovery_helpers import run_mailer

    # Given a user who logs in
    login = api.login("demo@example.com")
    assert meter.operations == ["BatchGetItem", "UpdateItem", "TransactWriteItems"]
    # guards 2 x 1 (strong), the counter 1, the session Put + counter reset 2 x 2 (transaction);
    # indexes: the user's two (ALL) for the counter, twice, and the session's by-user-keys entry 1
    assert record("login", meter) == capacity.Units(read=2, write=5, index_write=5)
    session_id = cookie_value(login).split(".")[0]
    session_before = item(aws, "SessionsTable", session_id)
    user = item(aws, "UsersTable", f"USER#{demo_user.id}")

    # When it refreshes, a minute later
    frozen.tick(60)
    refreshed = api.refresh_cookie(cookie_value(login))
    assert refreshed.status == 200
    # Then one BatchGetItem (session + user, 1 unit each) and one UpdateItem (1 unit: under 1 KB),
    # and no index write: by-user-keys is KEYS_ONLY and a rotation changes no key (docs/cost.md)
    assert meter.operations == ["BatchGetItem", "UpdateItem"]
    batch, write = meter.requests
    assert batch.reported == batch.units.read == 2  # moto's 1 per key is the rule's figure here
    assert write.reported == 0.5  # moto's constant for UpdateItem: no write costs half a unit
    session_after = item(aws, "SessionsTable", session_id)
    assert capacity.item_size(session_after) < capacity.WRITE_UNIT_BYTES  # a normal-size session item
    # Before issue 17: GetItem + (update + ConditionCheck) x 2, and the by-user (ALL) entry rewritten
    legacy = capacity.legacy_refresh_units(session_before, session_after, user, LEGACY_TABLES["SessionsTable"])
    assert legacy == capacity.Units(read=1, write=4, index_write=1)
    units = record(
        "refresh",
        meter,
        before={
            "requests": ["GetItem", "TransactWriteItems"],
            "read": legacy.read,
            "write": legacy.write,
            "index_write": legacy.index_write,
        },
        session_bytes=capacity.item_size(session_after),
        user_bytes=capacity.item_size(user),
    )
    assert units == capacity.Units(read=2, write=1, index_write=0)

    # A replay of the parent inside the grace window: the same read, one UpdateItem (touch)
    frozen.tick(2)
    assert api.refresh_cookie(cookie_value(login)).status == 200
    assert meter.operations == ["BatchGetItem", "UpdateItem"]
    assert record("grace replay", meter) == capacity.Units(read=2, write=1, index_write=0)

    assert api.me(refreshed.body["jwt"]).status == 200
    assert meter.operations == ["BatchGetItem"]
    me = record("me", meter)
    assert me == capacity.Units(read=2)
    # The revocation-aware authorizer (SessionAuthorizerFunction) judging a request to AppApi:
    # me's one BatchGetItem, and the units the rule gives that session and user
    monkeypatch.setenv("AUTH_API_ORIGIN", "https://" + load_event("me.json")["requestContext"]["domainName"])
    authorizer_handler = load_handler("authorizer")
    meter.clear()
    event = load_event("authorizer-request.json")
    event["identitySource"] = [f"Bearer {refreshed.body['jwt']}"]
    event["headers"]["authorization"] = event["identitySource"][0]
    assert authorizer_handler(event, LambdaContext())["isAuthorized"] is True
    assert meter.operations == ["BatchGetItem"]
    authorizer = record("authorizer", meter)
    assert authorizer == me == capacity.session_and_user_read_units(session_after, user)

    live = item(aws, "SessionsTable", session_id)
    assert api.logout(cookie_value(refreshed)).status == 204
    assert meter.operations == ["GetItem", "UpdateItem"]  # the session, then revoked
    # A revocation sets revoked_at and revoked_reason, no key: no index write (by-user, ALL: 1)
    revoked = item(aws, "SessionsTable", session_id)
    assert LEGACY_TABLES["SessionsTable"].index_writes(live, revoked) == 1
    assert record("logout", meter) == capacity.Units(read=1, write=1, index_write=0)

    # forgot-password: one SQS message, no table; the mailer then finds, counts, stores the code
    api.call("mail_request", "forgot-password.json", {"email": "demo@example.com"})
    assert record("forgot-password", meter) == capacity.Units()
    run_mailer(aws)
    assert meter.operations == ["Query", "UpdateItem", "UpdateItem", "TransactWriteItems"]
    mailer = record("mailer", meter)
    assert mailer == capacity.Units(read=0.5, write=6, index_write=4)  # by-email Query; limit, code + user (x2)


def test_issue17_a_session_item_with_its_whole_history_still_rotates_in_one_write_unit(
    api, aws, demo_user, meter, frozen
):
    # Given a session rotated more often than it remembers (16 hashes, 3 earlier hops)
    token = cookie_value(api.login())
    for _ in range(20):
        frozen.tick(60)
        token = cookie_value(api.refresh_cookie(token))
    session = item(aws, "SessionsTable", token.split(".")[0])
    assert len(session["history"]["L"]) == 16 and len(session["hops"]["L"]) == 3
    # Then it is still under 1 KB, with room for a User-Agent this long (the events' is shorter)
    size = capacity.item_size(session)
    user_agent = len(session["user_agent"]["S"].encode())
    room = capacity.WRITE_UNIT_BYTES - (size - user_agent)
    assert size < capacity.WRITE_UNIT_BYTES and room >= 120, (size, user_agent)
    meter.clear()
    frozen.tick(60)
    assert api.refresh_cookie(token).status == 200
    assert meter.total == capacity.Units(read=2, write=1, index_write=0)
    # and no index write: the by-user (ALL) entry of before would have been rewritten (docs/cost.md)
    rotated = item(aws, "SessionsTable", token.split(".")[0])
    assert LEGACY_TABLES["SessionsTable"].index_writes(session, rotated) == 1
    FLOWS.setdefault("refresh", {}).update(session_bytes_full=size, user_agent_room=room)



def test_keys_only_index_the_flows_that_list_sessions_query_keys_then_read_the_items(
    api, aws, demo_user, meter, frozen
):
    """by-user-keys is KEYS_ONLY: a list is a Query of keys (½ unit, eventually consistent) and one
    strongly consistent BatchGetItem of the items (1 unit each), and ending sessions writes no index."""
    from tests.integration.recovery_helpers import code_from, run_mailer, sent_mail
    from tests.integration.test_sessions import NEW_PASSWORD, change_password

    # Given a user with two sessions, a minute apart
    api.login()
    frozen.tick(60)
    second = api.login("demo@example.com")
    meter.clear()

    # When the second lists them: the caller (session + user), the keys, then the two items
    listed = api.sessions(second.body["jwt"])
    assert listed.status == 200
    assert meter.operations == ["BatchGetItem", "Query", "BatchGetItem"]
    assert [s["current"] for s in listed.body["data"]] == [True, False]  # still newest first
    assert meter.total == capacity.Units(read=2 + 0.5 + 2)
    meter.clear()

    # When it changes the password: the caller, the attempt counter, the new hash with a new
    # session (transaction), the three sessions' keys and items, the two old ones revoked
    frozen.tick(60)
    changed = change_password(api, second.body["jwt"])
    assert changed.status == 200
    assert meter.operations == [
        "BatchGetItem", "UpdateItem", "TransactWriteItems", "Query", "BatchGetItem", "UpdateItem", "UpdateItem"
    ]  # fmt: skip
    revocations = meter.requests[-2:]
    assert [r.units for r in revocations] == [capacity.Units(write=1)] * 2  # no index write
    assert meter.total == capacity.Units(read=2 + 0.5 + 3, write=1 + 4 + 2, index_write=2 + 3)
    meter.clear()

    # When, from another login, the user logs out everywhere: the session and its user, the user's
    # not-before, the four sessions' keys and items, the two still live revoked
    frozen.tick(60)
    other = api.login(password=NEW_PASSWORD)
    meter.clear()
    assert api.logout(cookie_value(other), everywhere=True).status == 204
    assert meter.operations == ["GetItem", "GetItem", "UpdateItem", "Query", "BatchGetItem", "UpdateItem", "UpdateItem"]
    assert meter.total == capacity.Units(read=1 + 1 + 0.5 + 4, write=1 + 2, index_write=2)
    meter.clear()

    # When the password is reset from a mailed code, with one session live
    api.call("mail_request", "forgot-password.json", {"email": "demo@example.com"})
    run_mailer(aws)
    frozen.tick(60)
    api.login(password=NEW_PASSWORD)
    frozen.tick(60)
    meter.clear()
    body = {"code": code_from(sent_mail()[0]), "password": "a third passphrase", "passwordConfirmation": "a third passphrase"}
    assert api.call("reset_password", "reset-password.json", body).status == 200
    # Then: code, user, the transaction (code spent, new hash, new session), the six sessions' keys
    # and items (the new one kept: created at the not-before), the one still live revoked
    assert meter.operations == ["GetItem", "GetItem", "TransactWriteItems", "Query", "BatchGetItem", "UpdateItem"]
    assert meter.requests[-1].units == capacity.Units(write=1)
    assert meter.total == capacity.Units(read=1 + 1 + 0.5 + 6, write=6 + 1, index_write=3)
