"""The runner's write-ahead journal against a real moto server: each answered write is on disk
before its answer, as the result it left, and a new runner loads exactly that."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from localdev.atomic import make_moto_atomic
from localdev.journal import install_journal
from localdev.state import StateStore
from localdev.template import REGION, create_queues, create_tables, load_template, table_definitions

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
DEFINITIONS = table_definitions(TEMPLATE)


def _clients(endpoint: str) -> dict[str, Any]:
    return {
        name: boto3.client(
            name, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
        )
        for name in ("dynamodb", "ssm", "sqs")
    }


def _reset(endpoint: str) -> None:
    """moto's own reset: what a new runner process starts from."""
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10)  # noqa: S310


@pytest.fixture
def runner_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[dict[str, Any], StateStore, str]]:
    """A moto server as the runner has it: serialised, its tables and queues, the state loaded."""
    make_moto_atomic(monkeypatch.setattr)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server.get_host_and_port()[1]}"
    clients = _clients(endpoint)
    create_tables(clients["dynamodb"], TEMPLATE)
    create_queues(clients["sqs"], TEMPLATE)
    store = StateStore(tmp_path / "aws")
    store.load(DEFINITIONS)
    assert store.journal is not None
    install_journal(store.journal, monkeypatch.setattr)
    try:
        yield clients, store, endpoint
    finally:
        store.release()
        _reset(endpoint)
        server.stop()


def journal(store: StateStore) -> list[dict[str, Any]]:
    return [json.loads(line) for line in store.journal_path.read_text().splitlines()]


def test_every_answered_write_is_in_the_journal_before_its_answer_as_the_item_it_left(
    runner_aws: tuple[dict[str, Any], StateStore, str],
) -> None:
    clients, store, _ = runner_aws
    dynamodb = clients["dynamodb"]
    key = {"pk": {"S": "USER#1"}}

    # When a put is answered, then an update, then a refused conditional update
    dynamodb.put_item(TableName="UsersTable", Item={**key, "username_key": {"S": "alice"}, "n": {"N": "1"}})
    after_put = journal(store)
    dynamodb.update_item(
        TableName="UsersTable", Key=key, UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "1"}}
    )
    after_update = journal(store)
    with pytest.raises(ClientError):
        dynamodb.update_item(
            TableName="UsersTable",
            Key=key,
            UpdateExpression="SET n = :x",
            ConditionExpression="attribute_not_exists(pk)",
            ExpressionAttributeValues={":x": {"N": "9"}},
        )

    # Then each answered write was already on disk when its answer came, as the resulting image
    # (a Streams record's Keys/NewImage), and the refused one left no line
    assert [c["NewImage"]["n"] for line in after_put for c in line["changes"]] == [{"N": "1"}]
    assert after_update[-1]["changes"] == [
        {"table": "UsersTable", "Keys": key, "NewImage": {**key, "username_key": {"S": "alice"}, "n": {"N": "2"}}}
    ]
    assert journal(store) == after_update


def test_transactions_batches_deletes_parameters_and_queues_survive_a_new_runner(
    runner_aws: tuple[dict[str, Any], StateStore, str],
) -> None:
    # Given writes of every kind the layer makes, answered by the server
    clients, store, endpoint = runner_aws
    dynamodb, ssm, sqs = clients["dynamodb"], clients["ssm"], clients["sqs"]
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "UsersTable", "Item": {"pk": {"S": "USER#2"}, "username_key": {"S": "bob"}}}},
            {"Put": {"TableName": "UsersTable", "Item": {"pk": {"S": "USERNAME#bob"}, "user_id": {"S": "2"}}}},
        ]
    )
    dynamodb.batch_write_item(
        RequestItems={
            "SessionsTable": [
                {"PutRequest": {"Item": {"pk": {"S": f"s-{i}"}, "user_id": {"S": "2"}, "created_at": {"N": "1"}}}}
                for i in range(3)
            ]
        }
    )
    dynamodb.delete_item(TableName="SessionsTable", Key={"pk": {"S": "s-0"}})
    ssm.put_parameter(Name="/app/signing-key", Value="first", Type="SecureString")
    ssm.put_parameter(Name="/app/signing-key", Value="second", Type="SecureString", Overwrite=True)
    ssm.put_parameter(Name="/app/jwks", Value='{"keys":[]}', Type="String")
    url = sqs.get_queue_url(QueueName="MailQueue")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="kept")
    sqs.send_message(QueueUrl=url, MessageBody="done")
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]:
        if message["Body"] == "done":
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    # When the process dies without a snapshot (kill -9) and a new runner loads the state
    _reset(endpoint)
    create_tables(dynamodb, TEMPLATE)
    create_queues(sqs, TEMPLATE)
    store.release()
    loaded = StateStore(store.directory).load(DEFINITIONS)

    # Then every write is back from the journal alone; the message in flight is visible again
    assert loaded is not None and loaded.journal_lines > 0
    assert loaded.items == {"UsersTable": 2, "SessionsTable": 2}
    sessions = dynamodb.scan(TableName="SessionsTable")["Items"]
    assert sorted(s["pk"]["S"] for s in sessions) == ["s-1", "s-2"]
    key = ssm.get_parameter(Name="/app/signing-key", WithDecryption=True)["Parameter"]
    assert (key["Value"], key["Version"]) == ("second", 2)
    assert ssm.get_parameter(Name="/app/jwks")["Parameter"]["Value"] == '{"keys":[]}'  # every parameter
    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    assert bodies == ["kept"]
