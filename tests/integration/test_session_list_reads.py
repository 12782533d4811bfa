"""A user's sessions are listed from the KEYS_ONLY by-user-keys index, then read by key
(dal.sessions.list_for_user, dal.dynamo.get_many): in BatchGetItems of at most 100 keys, strongly
consistent, newest first, without the items gone in between. Keys a batch leaves unprocessed are
sent again with bounded backoff (BatchGetItem API reference: retry UnprocessedKeys with
exponential backoff); past the bound, 503 with nothing changed (ASVS 5.0 16.5.2)."""

import pytest

from authlayer.dal import dynamo
from authlayer.dal import sessions as store
from authlayer.errors import ServiceUnavailableError
from tests.conftest import cookie_value
from tests.integration.test_conflict_retries import assert_full_jitter, pauses  # noqa: F401 (fixture)
from tests.integration.test_faults import assert_unavailable


class UnprocessedSessions:
    """DynamoDB answering a BatchGetItem of session items in part (throttled, or past 16 MB):
    moto reads every key; this after-call hook hands the last item back as UnprocessedKeys,
    for the first ``times`` batches of SessionsTable alone (the caller's session + user batch passes)."""

    def __init__(self, times):
        self.times, self.partial = times, 0

    def _answer_in_part(self, parsed, **_):
        found = parsed.get("Responses", {})
        if set(found) != {"SessionsTable"} or self.partial >= self.times or not found["SessionsTable"]:
            return
        self.partial += 1
        kept, left = found["SessionsTable"][:-1], found["SessionsTable"][-1:]
        found["SessionsTable"] = kept
        parsed["UnprocessedKeys"] = {"SessionsTable": {"Keys": [{"pk": i["pk"]} for i in left], "ConsistentRead": True}}

    def __enter__(self):
        dynamo.client().meta.events.register("after-call.dynamodb.BatchGetItem", self._answer_in_part)
        return self

    def __exit__(self, *exc):
        dynamo.client().meta.events.unregister("after-call.dynamodb.BatchGetItem", self._answer_in_part)


@pytest.fixture
def batches(api):
    """The keys of every BatchGetItem of SessionsTable alone, as sent."""
    sent: list[list[str]] = []

    def keep(params, **_):
        if set(params["RequestItems"]) == {"SessionsTable"}:
            sent.append([k["pk"]["S"] for k in params["RequestItems"]["SessionsTable"]["Keys"]])

    dynamo.client().meta.events.register("provide-client-params.dynamodb.BatchGetItem", keep)
    return sent


def test_the_items_are_read_in_batches_of_100_keys_and_missing_ones_are_left_out(aws, batches):
    # Given 150 session items, and 5 keys whose items do not exist (expired or deleted)
    ids = [f"session-{n:03}" for n in range(150)]
    for pk in ids:
        aws["dynamodb"].put_item(TableName="SessionsTable", Item={"pk": {"S": pk}, "user_id": {"S": "u"}})
    keys = [{"pk": {"S": pk}} for pk in [*ids, *(f"gone-{n}" for n in range(5))]]
    # When they are read by key
    items = dynamo.get_many("test", "SessionsTable", keys)
    # Then two batches (DynamoDB's limit is 100 keys), every existing item once, no missing one
    assert [len(b) for b in batches] == [100, 55]
    assert sorted(i["pk"]["S"] for i in items) == ids
    assert dynamo.get_many("test", "SessionsTable", []) == [] and len(batches) == 2  # nothing to read: no request


def test_list_for_user_is_newest_first_without_a_session_deleted_after_the_query(api, aws, demo_user, monkeypatch):
    # Given three sessions of the user, the middle one deleted between the Query and the read
    # (TTL or a deleted user: the index still named it)
    ids = [cookie_value(api.login()).split(".")[0] for _ in range(3)]
    for n, pk in enumerate(ids):  # created_at apart, so "newest first" has one answer
        aws["dynamodb"].update_item(
            TableName="SessionsTable", Key={"pk": {"S": pk}}, UpdateExpression="SET created_at = :t",
            ExpressionAttributeValues={":t": {"N": str(1_700_000_000_000 + n)}},
        )  # fmt: skip
    query = dynamo.all_items

    def query_then_delete(*args, **kwargs):
        found = query(*args, **kwargs)
        aws["dynamodb"].delete_item(TableName="SessionsTable", Key={"pk": {"S": ids[1]}})
        return found

    def in_another_order(parsed, **_):  # BatchGetItem answers in no particular order (API reference)
        for found in parsed.get("Responses", {}).values():
            found.reverse()

    monkeypatch.setattr(dynamo, "all_items", query_then_delete)
    dynamo.client().meta.events.register("after-call.dynamodb.BatchGetItem", in_another_order)
    # When the user's sessions are listed
    listed = store.list_for_user(demo_user.id)
    dynamo.client().meta.events.unregister("after-call.dynamodb.BatchGetItem", in_another_order)
    # Then the two left, newest first, whole items (KEYS_ONLY gives keys; the batch gives the rest)
    assert [s.id for s in listed] == [ids[2], ids[0]]
    assert all(s.token_hash and s.user_agent for s in listed)


def test_unprocessed_keys_are_sent_again_with_bounded_jitter(api, demo_user, batches, pauses):  # noqa: F811
    # Given three sessions, and DynamoDB leaving one key unprocessed twice
    ids = [cookie_value(api.login()).split(".")[0] for _ in range(3)]
    with UnprocessedSessions(times=2) as partial:
        # When they are listed
        listed = store.list_for_user(demo_user.id)
    # Then the unprocessed key only is sent again, after full-jitter pauses, and all three come back
    assert partial.partial == 2 and [len(b) for b in batches] == [3, 1, 1]
    assert len(pauses) == 2
    assert_full_jitter(pauses)
    assert sorted(s.id for s in listed) == sorted(ids)


def test_asvs5_16_5_2_keys_still_unprocessed_after_the_bound_are_503(api, demo_user, batches, pauses):  # noqa: F811
    # Given two sessions, and DynamoDB leaving a key unprocessed every time
    first, second = api.login(), api.login()
    with UnprocessedSessions(times=dynamo.CONFLICT_ATTEMPTS) as partial:
        # When the store lists them, Then it gives up after the bound
        with pytest.raises(ServiceUnavailableError):
            store.list_for_user(first.body["user"]["id"])
        assert partial.partial == len(batches) == dynamo.CONFLICT_ATTEMPTS
        # and over HTTP the session list answers 503, leaving both sessions as they were
        partial.partial = 0
        assert_unavailable(api.sessions(second.body["jwt"]))
    assert api.refresh_cookie(cookie_value(first)).status == 200
    assert api.sessions(second.body["jwt"]).status == 200


def test_during_the_upgrade_the_code_lists_from_the_former_index_until_by_user_keys_is_active(
    api, aws, demo_user, settings_env
):
    # Given SessionsTable as the first upgrade deployment leaves it (by-user-keys added, by-user
    # kept) and the functions told to query by-user (LegacySessionsIndex=queried, docs/deploy.md)
    from localdev.template import load_template, table_definitions
    from tests.conftest import ROOT

    aws["dynamodb"].delete_table(TableName="SessionsTable")
    upgrading = table_definitions(load_template(ROOT / "template.yaml"), {"LegacySessionsIndex": "queried"})
    aws["dynamodb"].create_table(**upgrading["SessionsTable"])
    settings_env(SESSIONS_USER_INDEX="by-user")
    ids = [cookie_value(api.login()).split(".")[0] for _ in range(2)]
    queried: list[str] = []
    dynamo.client().meta.events.register(
        "provide-client-params.dynamodb.Query", lambda params, **_: queried.append(params["IndexName"])
    )
    # When the user's sessions are listed, Then from by-user, whole items as before
    listed = store.list_for_user(demo_user.id)
    assert queried == ["by-user"]
    assert sorted(s.id for s in listed) == sorted(ids) and all(s.token_hash for s in listed)
