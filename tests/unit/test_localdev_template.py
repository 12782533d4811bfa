"""The local runner reads template.yaml as `sam local` does."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from localdev import settings
from localdev.template import (
    QueueEvent,
    Resolver,
    cors_configuration,
    create_queues,
    create_tables,
    functions,
    globals_environment,
    load_template,
    table_definitions,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")


def test_functions_routes_layers_and_environment_come_from_the_template() -> None:
    # Given the project's template and no overrides
    # When the runner reads its functions
    by_name = {f.name: f for f in functions(TEMPLATE, ROOT)}

    # Then each has its handler, code, the shared layer and its HttpApi routes
    login = by_name["LoginFunction"]
    assert login.handler == "login.handler"
    assert login.code_uri == ROOT / "functions" / "login"
    assert login.layers == (ROOT / "shared",)
    assert [r.route_key for r in login.routes] == ["POST /api/auth/local"]
    assert {r.route_key for r in by_name["RefreshFunction"].routes} == {
        "POST /api/token/refresh",
        "POST /api/auth/refresh",
    }
    # !Ref to a table is its logical id (sam local's convention), parameters give their defaults
    assert login.environment["USERS_TABLE"] == "UsersTable"
    assert login.environment["SESSIONS_TABLE"] == "SessionsTable"
    assert login.environment["REFRESH_REUSE_GRACE"] == "10s"
    assert login.environment["POWERTOOLS_SERVICE_NAME"] == "sam-refresh-auth"


def test_env_var_overrides_replace_parameter_defaults() -> None:
    # Given the local overrides with ACCESS_TOKEN_TTL set in the shell
    overrides = settings.overrides(3000, {"ACCESS_TOKEN_TTL": "20s", "USERS_TABLE": "Elsewhere"})

    # When the functions' environment is resolved
    env = functions(TEMPLATE, ROOT, overrides)[0].environment

    # Then the override and the local defaults win, tables stay on the embedded ones
    assert env["ACCESS_TOKEN_TTL"] == "20s"
    assert env["COOKIE_SECURE"] == "false"
    assert env["TOKEN_ISSUER"] == "http://127.0.0.1:3000"
    assert env["USERS_TABLE"] == "UsersTable"
    assert env["ALLOWED_ORIGINS"].split(",") == [*settings.LOCAL_WEB_ORIGINS, *settings.own_origins(3000)]


def test_cors_configuration_splits_allowed_origins() -> None:
    # Given ALLOWED_ORIGINS set in the shell
    overrides = settings.overrides(4000, {"ALLOWED_ORIGINS": "https://app.example.com"})

    # When the HttpApi's CORS configuration is resolved
    cors = cors_configuration(TEMPLATE, overrides)

    # Then !Split gives the list, with the runner's own origins added
    assert cors["AllowOrigins"] == [
        "https://app.example.com",
        "http://127.0.0.1:4000",
        "http://localhost:4000",
    ]
    assert cors["AllowCredentials"] is True
    assert cors["MaxAge"] == 600


def test_resolver_handles_sub_getatt_and_conditions() -> None:
    # Given the template's outputs
    resolve = Resolver(TEMPLATE, {"TokenIssuer": "https://issuer.example"})

    # When they are resolved
    # Then !If/!Not/!Equals, !Sub with attributes and pseudo parameters all evaluate
    assert resolve(TEMPLATE["Outputs"]["Issuer"]["Value"]) == "https://issuer.example"
    assert Resolver(TEMPLATE)(TEMPLATE["Outputs"]["Issuer"]["Value"]).startswith(
        "https://AuthApi.execute-api.us-east-1"
    )
    assert resolve({"Fn::Sub": "${UsersTable.Arn}/index/*"}) == (
        "arn:aws:dynamodb:us-east-1:123456789012:table/UsersTable/index/*"
    )


def test_create_tables_builds_the_templates_tables_with_ttl() -> None:
    # Given an empty (mocked) DynamoDB
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")

        # When the template's tables are created
        created = create_tables(client, TEMPLATE)

        # Then they exist with their indexes and TTL
        assert created == ["UsersTable", "SessionsTable"]
        users = client.describe_table(TableName="UsersTable")["Table"]
        assert {i["IndexName"] for i in users["GlobalSecondaryIndexes"]} == {"by-username", "by-email"}
        ttl = client.describe_time_to_live(TableName="SessionsTable")["TimeToLiveDescription"]
        assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


@pytest.mark.parametrize(
    ("phase", "indexes", "queried"),
    [
        ("none", {"by-user-keys": "KEYS_ONLY"}, "by-user-keys"),  # the default: new and upgraded stacks
        ("queried", {"by-user-keys": "KEYS_ONLY", "by-user": "ALL"}, "by-user"),  # upgrade, deployment 1
        ("kept", {"by-user-keys": "KEYS_ONLY", "by-user": "ALL"}, "by-user-keys"),  # deployment 2
    ],
)
def test_the_sessions_index_is_keys_only_and_an_upgrading_stack_keeps_the_former_one(phase, indexes, queried) -> None:
    # Given the template with LegacySessionsIndex at each step of the upgrade (docs/deploy.md)
    parameters = {"LegacySessionsIndex": phase}
    # When the tables and the functions' environment are resolved
    sessions = table_definitions(TEMPLATE, parameters)["SessionsTable"]
    # Then !Ref AWS::NoValue drops the former index as CloudFormation does, and the code queries
    # the former one only until by-user-keys has been created
    assert {i["IndexName"]: i["Projection"]["ProjectionType"] for i in sessions["GlobalSecondaryIndexes"]} == indexes
    assert globals_environment(TEMPLATE, parameters)["SESSIONS_USER_INDEX"] == queried


def test_resolver_drops_no_value_as_cloudformation_does() -> None:
    assert Resolver(TEMPLATE)({"a": {"Ref": "AWS::NoValue"}, "b": [1, {"Ref": "AWS::NoValue"}]}) == {"b": [1]}


def test_create_queues_builds_the_dead_letter_queue_first_and_redrives_to_it() -> None:
    # Given an empty (mocked) SQS
    with mock_aws():
        client = boto3.client("sqs", region_name="us-east-1")

        # When the template's queues are created
        created = create_queues(client, TEMPLATE)

        # Then they are named after their logical ids, the dead-letter queue first, with their attributes
        assert created == ["MailDeadLetterQueue", "MailQueue"]
        url = client.get_queue_url(QueueName="MailQueue")["QueueUrl"]
        attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes["VisibilityTimeout"] == "60"
        assert attributes["MessageRetentionPeriod"] == "86400"
        assert json.loads(attributes["RedrivePolicy"]) == {
            "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:MailDeadLetterQueue",
            "maxReceiveCount": 5,
        }


def test_the_mailer_polls_the_mail_queue_with_partial_batch_responses() -> None:
    # Given the project's template
    # When the runner reads its functions
    by_name = {f.name: f for f in functions(TEMPLATE, ROOT)}

    # Then the mailer's SQS event is an event source on MailQueue, and no HTTP function has one
    assert by_name["MailerFunction"].queue_events == (
        QueueEvent(queue="MailQueue", batch_size=10, report_batch_item_failures=True),
    )
    assert by_name["MailerFunction"].routes == ()
    assert [f.name for f in by_name.values() if f.queue_events] == ["MailerFunction"]
    # And !Ref MailQueue is its logical id, which the layer looks up as a queue name
    assert by_name["MailRequestFunction"].environment["MAIL_QUEUE_URL"] == "MailQueue"


def test_mail_links_lead_to_the_local_web_app_unless_the_shell_says_otherwise() -> None:
    # Given the local overrides on port 4000, once without and once with the shell's own settings
    local = functions(TEMPLATE, ROOT, settings.overrides(4000, {}))[0].environment
    shell = functions(
        TEMPLATE, ROOT, settings.overrides(4000, {"RESET_PASSWORD_URL": "https://app.example.com/reset"})
    )[0].environment

    # Then reset and confirmation links point at the runner's web app, confirmation stays off,
    # and the shell's value wins
    assert local["RESET_PASSWORD_URL"] == "http://127.0.0.1:4000/"
    assert local["EMAIL_CONFIRMATION_REDIRECT"] == "http://127.0.0.1:4000/?emailConfirmed=true"
    assert local["EMAIL_CONFIRMATION"] == "false"
    assert local["MAIL_FROM"] == "no-reply@example.com"
    assert shell["RESET_PASSWORD_URL"] == "https://app.example.com/reset"
