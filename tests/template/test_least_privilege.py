"""Least privilege and deployment settings of template.yaml, read straight from the file (no tools).

Given template.yaml, when every IAM statement that a function can use is collected (its own
role's inline policies, RolePolicy resources on it, customer managed policies attached to it,
and SAM `Policies` if a function ever goes back to a SAM-generated role), then no Action and
no Resource is "*" or a wildcard (dynamodb:*, .../index/*), and every function has a role
of its own.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from localdev import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = cfn_yaml.load(ROOT / "template.yaml")
FUNCTION = "AWS::Serverless::Function"


def _resources(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res.get("Type") == type_}


def _ref_name(value: Any) -> str | None:
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    return None


def _statements(document: Any) -> list[Any]:
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    statements = statements if isinstance(statements, list) else [statements]
    result = []
    for statement in statements:
        if (
            isinstance(statement, dict) and "Fn::If" in statement
        ):  # conditional statement: check both branches
            result += [s for s in statement["Fn::If"][1:] if isinstance(s, dict) and "Ref" not in s]
        else:
            result.append(statement)
    return result


def function_statements(template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Function logical id -> every IAM statement its role carries."""
    result: dict[str, list[dict[str, Any]]] = {}
    for name, fn in _resources(template, FUNCTION).items():
        props = fn.get("Properties", {})
        statements: list[dict[str, Any]] = []
        for policy in props.get("Policies", []) or []:
            if isinstance(policy, dict) and "Statement" in policy:
                statements += _statements(policy)
            elif isinstance(policy, str | dict):
                statements.append({"Action": f"<SAM policy {policy}>", "Resource": "*"})
        role_name = _ref_name(props.get("Role"))
        if role_name:
            role = template["Resources"][role_name]["Properties"]
            for policy in role.get("Policies", []):
                statements += _statements(policy["PolicyDocument"])
            for arn in role.get("ManagedPolicyArns", []):
                managed = _ref_name(arn)
                if managed is None:  # an AWS managed policy: unknown content, counts as "*"
                    statements.append({"Action": f"<managed policy {arn}>", "Resource": "*"})
                else:
                    statements += _statements(template["Resources"][managed]["Properties"]["PolicyDocument"])
            for res in template["Resources"].values():
                if res.get("Type") in {"AWS::IAM::RolePolicy", "AWS::IAM::Policy"}:
                    targets = [res["Properties"].get("RoleName")] + res["Properties"].get("Roles", [])
                    if any(_ref_name(t) == role_name for t in targets if t):
                        statements += _statements(res["Properties"]["PolicyDocument"])
        result[name] = statements
    return result


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def wildcard_findings(template: dict[str, Any]) -> list[str]:
    findings = []
    for fn, statements in function_statements(template).items():
        for statement in statements:
            for key in ("NotAction", "NotResource"):
                if key in statement:
                    findings.append(f"{fn}: {key} grants everything else")
            for action in _as_list(statement.get("Action", [])):
                if not isinstance(action, str) or "*" in action or action.startswith("<"):
                    findings.append(f"{fn}: Action {action!r}")
            for resource in _as_list(statement.get("Resource", [])):
                literal = (
                    resource
                    if isinstance(resource, str)
                    else resource.get("Fn::Sub")
                    if isinstance(resource, dict)
                    else None
                )
                if isinstance(literal, list):
                    literal = literal[0]
                if isinstance(literal, str) and "*" in literal:
                    findings.append(f"{fn}: Resource {literal!r}")
    return findings


def test_no_function_policy_has_a_wildcard_action_or_resource() -> None:
    assert wildcard_findings(TEMPLATE) == []


def test_the_check_finds_wildcards() -> None:
    broken = copy.deepcopy(TEMPLATE)
    role = broken["Resources"]["LoginFunctionRole"]["Properties"]
    role["Policies"][0]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}
    )
    role["ManagedPolicyArns"].append("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
    findings = wildcard_findings(broken)
    assert "LoginFunction: Action 'dynamodb:*'" in findings
    assert "LoginFunction: Resource '*'" in findings
    assert any("AWSLambdaBasicExecutionRole" in f for f in findings)


def test_every_function_has_a_role_of_its_own() -> None:
    roles = {
        name: _ref_name(fn["Properties"].get("Role")) for name, fn in _resources(TEMPLATE, FUNCTION).items()
    }
    assert all(roles.values()), roles
    assert len(set(roles.values())) == len(roles), roles
    for role in roles.values():
        assert TEMPLATE["Resources"][role]["Type"] == "AWS::IAM::Role"


PRIVATE_KEYS = "parameter${SigningKeyParameterName}"
PUBLIC_JWKS = "parameter${SigningKeyParameterName}-jwks"


def _ssm_readers(resource_suffix: str) -> set[str]:
    """Functions with ssm:GetParameter on exactly that parameter (ARN ending in resource_suffix)."""
    return {
        fn
        for fn, statements in function_statements(TEMPLATE).items()
        for s in statements
        if "ssm:GetParameter" in _as_list(s["Action"]) and s["Resource"]["Fn::Sub"].endswith(resource_suffix)
    }


def _functions_whose_code(uses: str) -> set[str]:
    """Logical ids of the functions whose handler module calls ``uses`` (read from functions/)."""
    return {
        name
        for name, fn in _resources(TEMPLATE, FUNCTION).items()
        if any(uses in path.read_text() for path in (ROOT / fn["Properties"]["CodeUri"]).glob("*.py"))
    }


def test_ssm_is_read_only_on_the_signing_key_and_public_jwks_parameters() -> None:
    for fn, statements in function_statements(TEMPLATE).items():
        for statement in statements:
            actions = _as_list(statement["Action"])
            if any(a.startswith("ssm:") for a in actions):
                assert actions == ["ssm:GetParameter"], fn
                assert statement["Resource"]["Fn::Sub"].endswith((PRIVATE_KEYS, PUBLIC_JWKS)), fn


def test_r2_9_least_privilege_only_the_functions_that_sign_read_the_private_keys() -> None:
    signers = {
        "LoginFunction",
        "RegisterFunction",
        "RefreshFunction",
        "ChangePasswordFunction",
        "ResetPasswordFunction",
    }
    # the template grants exactly those, and exactly those load the private keys in their code
    assert _ssm_readers(PRIVATE_KEYS) == signers
    assert _functions_whose_code("load_key_set(") == signers
    decrypters = {
        fn
        for fn, statements in function_statements(TEMPLATE).items()
        for s in statements
        if "kms:Decrypt" in _as_list(s["Action"])
    }
    assert decrypters == signers


def test_r2_9_least_privilege_the_public_jwks_is_read_apart_by_the_jwks_function_and_the_verifiers() -> None:
    # the bearer-token verifiers (authlayer.bearer.authenticate, the authorizer's authorize) and the JWKS function
    verifiers = _functions_whose_code("authenticate(") | _functions_whose_code("authorize(")
    assert verifiers == {"MeFunction", "SessionsFunction", "ChangePasswordFunction", "SessionAuthorizerFunction"}
    assert _ssm_readers(PUBLIC_JWKS) == verifiers | {"KeysFunction"}
    # and logout holds no key policy at all
    logout = function_statements(TEMPLATE)["LogoutFunction"]
    assert not [a for s in logout for a in _as_list(s["Action"]) if a.startswith(("ssm:", "kms:"))]


def test_the_session_authorizer_only_reads_sessions_and_user_items_in_one_batch() -> None:
    statements = function_statements(TEMPLATE)["SessionAuthorizerFunction"]
    data = [s for s in statements if any(a.startswith("dynamodb:") for a in _as_list(s["Action"]))]
    assert {a for s in data for a in _as_list(s["Action"])} == {"dynamodb:BatchGetItem"}
    on_users = [s for s in data if s["Resource"] == {"Fn::GetAtt": ["UsersTable", "Arn"]}]
    # never the uniqueness guards, one-time codes or login counters of the users table
    assert [s["Condition"] for s in on_users] == [{"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["USER#*"]}}]
    assert [s["Resource"] for s in data if s not in on_users] == [{"Fn::GetAtt": ["SessionsTable", "Arn"]}]


def test_the_whoami_example_only_writes_its_logs() -> None:
    actions = {a for s in function_statements(TEMPLATE)["WhoamiFunction"] for a in _as_list(s["Action"])}
    assert actions == {"logs:CreateLogStream", "logs:PutLogEvents"}


def test_example_routes_can_be_left_out_but_the_authorizer_stays_and_is_exported() -> None:
    resources = TEMPLATE["Resources"]
    conditional = {name for name, res in resources.items() if res.get("Condition") == "WithExampleRoutes"}
    assert {"AppApi", "WhoamiFunction", "WhoamiFunctionRole", "WhoamiFunctionLogGroup"} <= conditional
    assert not {n for n in conditional if n.startswith("SessionAuthorizer")}
    assert TEMPLATE["Outputs"]["AppApiUrl"]["Condition"] == "WithExampleRoutes"
    exported = TEMPLATE["Outputs"]["SessionAuthorizerArn"]
    assert exported["Value"] == {"Fn::GetAtt": ["SessionAuthorizerFunction", "Arn"]}
    assert exported["Export"]["Name"] == {"Fn::Sub": "${AWS::StackName}-SessionAuthorizerArn"}


def test_app_api_routes_are_behind_its_authorizers() -> None:
    auth = TEMPLATE["Resources"]["AppApi"]["Properties"]["Auth"]
    assert auth["DefaultAuthorizer"] == "AccessToken"
    live = auth["Authorizers"]["LiveSession"]
    assert live["Identity"]["ReauthorizeEvery"] == {"Ref": "AuthorizerCacheTtl"}
    assert live["EnableSimpleResponses"] is True and live["AuthorizerPayloadFormatVersion"] == "2.0"
    events = TEMPLATE["Resources"]["WhoamiFunction"]["Properties"]["Events"]
    assert "Auth" not in events["Whoami"]["Properties"]  # the default: the JWT authorizer
    assert events["WhoamiLive"]["Properties"]["Auth"] == {"Authorizer": "LiveSession"}


def test_mail_is_sent_only_by_the_mailer_and_only_from_the_configured_identity() -> None:
    senders = {
        fn: s
        for fn, statements in function_statements(TEMPLATE).items()
        for s in statements
        if any(a.startswith("ses:") for a in _as_list(s["Action"]))
    }
    assert list(senders) == ["MailerFunction"]
    resources = _as_list(senders["MailerFunction"]["Resource"])
    assert len(resources) == 2  # the MailFrom address, or its domain: whichever is the verified identity
    assert "identity/${MailFrom}" in resources[0]["Fn::Sub"]
    assert "identity/${Domain}" in resources[1]["Fn::Sub"][0]


def test_only_the_mail_queue_is_written_and_only_by_who_enqueues() -> None:
    writers = sorted(
        fn
        for fn, statements in function_statements(TEMPLATE).items()
        for s in statements
        if "sqs:SendMessage" in _as_list(s["Action"]) and s["Resource"] == {"Fn::GetAtt": ["MailQueue", "Arn"]}
    )
    assert writers == ["MailRequestFunction", "RegisterFunction"]
    assert all(
        s["Resource"] == {"Fn::GetAtt": ["MailQueue", "Arn"]}
        for statements in function_statements(TEMPLATE).values()
        for s in statements
        if any(a.startswith("sqs:") for a in _as_list(s["Action"]))
    )


def test_asvs5_6_3_8_the_enqueuing_function_cannot_read_any_table() -> None:
    # forgot-password cannot tell accounts apart: it has no access to them at all
    actions = [a for s in function_statements(TEMPLATE)["MailRequestFunction"] for a in _as_list(s["Action"])]
    assert actions and not [a for a in actions if a.startswith("dynamodb:")]


def test_the_mail_dead_letter_queue_has_an_alarm() -> None:
    alarms = _resources(TEMPLATE, "AWS::CloudWatch::Alarm").values()
    assert any(
        a["Properties"]["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["MailDeadLetterQueue", "QueueName"]} for a in alarms
    )
    redrive = TEMPLATE["Resources"]["MailQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["MailDeadLetterQueue", "Arn"]}


@pytest.mark.parametrize("function", sorted(_resources(TEMPLATE, FUNCTION)))
def test_every_function_logs_to_its_own_group_with_retention(function: str) -> None:
    groups = [
        res["Properties"]
        for res in _resources(TEMPLATE, "AWS::Logs::LogGroup").values()
        if res["Properties"].get("LogGroupName") == {"Fn::Sub": f"/aws/lambda/${{{function}}}"}
    ]
    assert len(groups) == 1
    assert groups[0]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


def test_tables_are_on_demand_recoverable_encrypted_and_retained() -> None:
    for name, table in _resources(TEMPLATE, "AWS::DynamoDB::Table").items():
        props = table["Properties"]
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain", name
        assert props["BillingMode"] == "PAY_PER_REQUEST", name
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, name
        assert props["SSESpecification"]["SSEEnabled"] is True, name
        assert props["DeletionProtectionEnabled"] is True, name
    assert TEMPLATE["Resources"]["SessionsTable"]["Properties"]["TimeToLiveSpecification"]["Enabled"] is True


def test_functions_are_arm64_python311_and_api_is_throttled_and_logged() -> None:
    function_globals = TEMPLATE["Globals"]["Function"]
    assert function_globals["Architectures"] == ["arm64"]
    assert function_globals["Runtime"] == "python3.11"
    api = TEMPLATE["Resources"]["AuthApi"]["Properties"]
    assert set(api["DefaultRouteSettings"]) >= {"ThrottlingRateLimit", "ThrottlingBurstLimit"}
    assert "$context.requestId" in api["AccessLogSettings"]["Format"]


def test_every_parameter_is_described_and_constrained() -> None:
    for name, parameter in TEMPLATE["Parameters"].items():
        assert parameter.get("Description"), name
        constrained = {"AllowedValues", "AllowedPattern", "MinValue", "MaxValue"} & set(parameter)
        assert constrained, f"{name} accepts anything"
