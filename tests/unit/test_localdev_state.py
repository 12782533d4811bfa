"""The runner's kept state: snapshot + journal round trip, and the rules that stop a start."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.backends import get_backend
from moto.dynamodb.models.dynamo_type import LimitedSizeDict

from localdev.state import CLEAN_HINT, StateError, StateStore, clean
from localdev.template import REGION, create_queues, create_tables, load_template, table_definitions

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
DEFINITIONS = table_definitions(TEMPLATE)
USER = {"pk": {"S": "USER#1"}, "username_key": {"S": "alice"}, "email_key": {"S": "a@example.com"}}
SESSION = {"pk": {"S": "s-1"}, "user_id": {"S": "1"}, "created_at": {"N": "1"}, "token_hash": {"B": b"\x00\xff"}}


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    """A fresh moto with the template's tables and queues, as the runner creates them at start."""
    with mock_aws():
        clients = {name: boto3.client(name, region_name=REGION) for name in ("dynamodb", "ssm", "sqs")}
        create_tables(clients["dynamodb"], TEMPLATE)
        create_queues(clients["sqs"], TEMPLATE)
        yield clients


def restart(aws: dict[str, Any]) -> None:
    """What a new runner process starts from: moto empty again, the template's tables and queues."""
    for service in ("dynamodb", "ssm", "sqs"):
        get_backend(service).reset()
    create_tables(aws["dynamodb"], TEMPLATE)
    create_queues(aws["sqs"], TEMPLATE)


def kept_state(aws: dict[str, Any], directory: Path) -> StateStore:
    """Given a state directory holding a user, a session, a key with two versions and a message."""
    store = StateStore(directory)
    store.load(DEFINITIONS)
    aws["dynamodb"].put_item(TableName="UsersTable", Item=USER)
    aws["dynamodb"].put_item(TableName="SessionsTable", Item=SESSION)
    for value in ("key one", "key two"):
        aws["ssm"].put_parameter(Name="/app/key", Value=value, Type="SecureString", Overwrite=True)
    url = aws["sqs"].get_queue_url(QueueName="MailQueue")["QueueUrl"]
    aws["sqs"].send_message(QueueUrl=url, MessageBody='{"kind":"reset"}')
    store.compact(DEFINITIONS)
    store.release()
    return store


def test_a_snapshot_round_trip_keeps_items_binary_values_parameter_versions_and_messages(
    aws: dict[str, Any], tmp_path: Path
) -> None:
    # Given a kept state
    kept_state(aws, tmp_path)

    # When a new runner loads it
    restart(aws)
    loaded = StateStore(tmp_path).load(DEFINITIONS)

    # Then everything is back, down to the binary attribute and the parameter's version
    assert loaded is not None
    assert loaded.items == {"UsersTable": 1, "SessionsTable": 1}
    assert LimitedSizeDict.__setitem__ is not dict.__setitem__  # moto's size check is back
    session = aws["dynamodb"].get_item(TableName="SessionsTable", Key={"pk": {"S": "s-1"}})["Item"]
    assert session["token_hash"] == {"B": b"\x00\xff"}
    aws["dynamodb"].update_item(  # the refresh's condition on the stored hash still holds
        TableName="SessionsTable",
        Key={"pk": {"S": "s-1"}},
        UpdateExpression="SET rotated = :yes",
        ConditionExpression="token_hash = :hash",
        ExpressionAttributeValues={":hash": {"B": b"\x00\xff"}, ":yes": {"BOOL": True}},
    )
    by_username = aws["dynamodb"].query(
        TableName="UsersTable",
        IndexName="by-username",
        KeyConditionExpression="username_key = :u",
        ExpressionAttributeValues={":u": {"S": "alice"}},
    )
    assert by_username["Items"] == [USER]  # indexes are rebuilt from the items
    parameter = aws["ssm"].get_parameter(Name="/app/key", WithDecryption=True)["Parameter"]
    assert (parameter["Value"], parameter["Version"], parameter["Type"]) == ("key two", 2, "SecureString")
    url = aws["sqs"].get_queue_url(QueueName="MailQueue")["QueueUrl"]
    messages = aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in messages] == ['{"kind":"reset"}']


def test_journal_lines_after_the_snapshot_are_replayed_in_order(aws: dict[str, Any], tmp_path: Path) -> None:
    # Given a snapshot, then journal lines: the user changed, the session removed, a new item
    kept_state(aws, tmp_path)
    changed = {**USER, "blocked": {"BOOL": True}}
    snapshot_seq = json.loads((tmp_path / "snapshot.jsonl").read_text().splitlines()[0])["seq"]
    lines = [
        {
            "seq": snapshot_seq + 1,
            "changes": [{"table": "UsersTable", "Keys": {"pk": USER["pk"]}, "NewImage": changed}],
        },
        {"seq": snapshot_seq + 2, "changes": [{"table": "SessionsTable", "Keys": {"pk": SESSION["pk"]}}]},
    ]
    (tmp_path / "journal.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))

    # When a new runner loads the state
    restart(aws)
    loaded = StateStore(tmp_path).load(DEFINITIONS)

    # Then the journal's results are what it holds
    assert loaded is not None and loaded.journal_lines == 2
    user = aws["dynamodb"].get_item(TableName="UsersTable", Key={"pk": USER["pk"]})["Item"]
    assert user["blocked"] == {"BOOL": True}
    assert "Item" not in aws["dynamodb"].get_item(TableName="SessionsTable", Key={"pk": SESSION["pk"]})


@pytest.mark.parametrize(
    ("file", "damage", "says"),
    [
        ("snapshot.jsonl", lambda text: text.replace('"end"', '"en'), "not a state record"),
        ("snapshot.jsonl", lambda text: text.rsplit("\n", 2)[0] + "\n", "ends early"),
        ("snapshot.jsonl", lambda text: "garbage" + text, "not a state record"),
        ("journal.jsonl", lambda text: text + '{"seq": 99, "changes": [', "incomplete"),
    ],
    ids=["corrupt-line", "truncated-snapshot", "garbled-header", "torn-journal-line"],
)
def test_a_corrupt_or_half_written_state_file_stops_the_start_and_is_left_as_it_is(
    aws: dict[str, Any], tmp_path: Path, file: str, damage: Any, says: str
) -> None:
    # Given a kept state whose file was damaged
    kept_state(aws, tmp_path)
    path = tmp_path / file
    path.write_text(damage(path.read_text() if path.exists() else ""))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    # When a new runner loads it
    restart(aws)
    store = StateStore(tmp_path)
    with pytest.raises(StateError) as error:
        store.load(DEFINITIONS)

    # Then it stops with a message that names the file and the way out, and starts nothing empty
    assert says in str(error.value)
    assert str(path) in str(error.value)
    assert CLEAN_HINT in str(error.value)
    store.compact(DEFINITIONS)  # what the runner's shutdown does: a no-op for a state never loaded
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_key_schema_change_in_the_template_stops_the_start_and_names_make_dev_clean(
    aws: dict[str, Any], tmp_path: Path
) -> None:
    # Given a kept state, and a template whose SessionsTable gained a sort key
    kept_state(aws, tmp_path)
    changed = copy.deepcopy(DEFINITIONS)
    changed["SessionsTable"]["KeySchema"] = [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "created_at", "KeyType": "RANGE"},
    ]

    # When a runner with that template loads the state
    restart(aws)
    with pytest.raises(StateError) as error:
        StateStore(tmp_path).load(changed)

    # Then it refuses, naming the table and `make dev-clean`
    assert "key schema of table SessionsTable changed" in str(error.value)
    assert "make dev-clean" in str(error.value)


def test_a_removed_table_stops_the_start_rather_than_dropping_its_items(aws: dict[str, Any], tmp_path: Path) -> None:
    kept_state(aws, tmp_path)
    without_sessions = {name: d for name, d in DEFINITIONS.items() if name != "SessionsTable"}
    restart(aws)
    with pytest.raises(StateError, match="table SessionsTable is in the state .* but no longer in template.yaml"):
        StateStore(tmp_path).load(without_sessions)


def test_a_table_added_to_the_template_is_created_empty_and_the_rest_loads(aws: dict[str, Any], tmp_path: Path) -> None:
    # Given a kept state, and a template with one more table
    kept_state(aws, tmp_path)
    restart(aws)
    extra = {
        "TableName": "AuditTable",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    aws["dynamodb"].create_table(**extra)

    # When the state loads
    loaded = StateStore(tmp_path).load({**DEFINITIONS, "AuditTable": extra})

    # Then the old tables are back and the new one is there, empty
    assert loaded is not None
    assert loaded.items == {"UsersTable": 1, "SessionsTable": 1, "AuditTable": 0}


def test_make_dev_clean_removes_the_state_and_says_what(aws: dict[str, Any], tmp_path: Path) -> None:
    # Given a state directory with kept state, mail and the runner's files, and a file of the user's
    kept_state(aws, tmp_path / "aws")
    (tmp_path / "outbox").mkdir()
    (tmp_path / "outbox" / "1.eml").write_text("Subject: hi\n\nhello\n")
    (tmp_path / "demo-user.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("mine")

    # When it is cleaned
    removed = clean(tmp_path)

    # Then the runner's state is gone, each removal is reported, and nothing else is touched
    assert [line.split(" ")[0] for line in removed] == [
        str(tmp_path / "aws"),
        str(tmp_path / "outbox"),
        str(tmp_path / "demo-user.json"),
    ]
    assert "(1 mails)" in removed[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_make_dev_clean_refuses_while_a_runner_holds_the_state(tmp_path: Path) -> None:
    running = StateStore(tmp_path / "aws")
    running.acquire()
    try:
        with pytest.raises(StateError, match="in use by another runner"):
            clean(tmp_path)
        assert (tmp_path / "aws").exists()
    finally:
        running.release()


def test_a_state_kept_with_the_former_by_user_index_loads_under_by_user_keys(tmp_path: Path) -> None:
    # Given a state written by a runner whose template still had by-user (ALL) as SessionsTable's index
    before = copy.deepcopy(TEMPLATE)
    (index,) = table_definitions(TEMPLATE)["SessionsTable"]["GlobalSecondaryIndexes"]
    before["Resources"]["SessionsTable"]["Properties"]["GlobalSecondaryIndexes"] = [
        {**index, "IndexName": "by-user", "Projection": {"ProjectionType": "ALL"}}
    ]
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_tables(client, before)
        store = StateStore(tmp_path)
        store.load(table_definitions(before))
        client.put_item(TableName="SessionsTable", Item=SESSION)
        store.compact(table_definitions(before))
        store.release()
        # When a runner with today's template starts on it (the key schema is unchanged)
        get_backend("dynamodb").reset()
        create_tables(client, TEMPLATE)
        loaded = StateStore(tmp_path).load(DEFINITIONS)
        # Then the session is back and moto's by-user-keys index holds it
        assert loaded is not None and loaded.items["SessionsTable"] == 1
        found = client.query(
            TableName="SessionsTable", IndexName="by-user-keys", KeyConditionExpression="user_id = :u",
            ExpressionAttributeValues={":u": {"S": "1"}},
        )["Items"]  # fmt: skip
        assert found == [{"pk": SESSION["pk"], "user_id": SESSION["user_id"], "created_at": SESSION["created_at"]}]
