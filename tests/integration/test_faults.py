"""Faults: DynamoDB or SSM throttled or down -> 503 with Retry-After, nothing issued, nothing
half-written, and a refresh whose write failed leaves the old token valid (ASVS 5.0 16.5.1-16.5.3)."""

import pytest
from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from authlayer.dal import dynamo
from tests.conftest import DEMO_PASSWORD, cookie_value

THROTTLES = ["ProvisionedThroughputExceededException", "ThrottlingException", "InternalServerError", "RequestLimitExceeded"]


def assert_unavailable(answer):
    assert answer.status == 503 and answer.error_name == "ServiceUnavailableError"
    assert int(answer.headers["Retry-After"]) >= 1
    assert answer.cookies == [] and "jwt" not in (answer.body or {})
    text = str(answer.body)
    assert "Exception" not in text and "Traceback" not in text and "botocore" not in text


class FailingCall:
    """Make one DynamoDB operation fail while the rest use moto (moto cannot inject faults,
    getmoto/moto#4062; a before-call hook answers in place of the service, like Stubber).

    ``reasons``: a cancelled transaction's per-item codes; ``times``: fail only the first calls."""

    def __init__(self, operation, error, reasons=None, times=None):
        self.operation, self.error, self.reasons, self.times = operation, error, reasons, times
        self.failed = 0

    def __enter__(self):
        self._handler = self._maybe_fail
        dynamo.client().meta.events.register_first("before-call.dynamodb", self._handler)
        return self

    def _maybe_fail(self, model, **_):
        if model.name != self.operation or (self.times is not None and self.failed >= self.times):
            return None
        self.failed += 1
        if isinstance(self.error, Exception):
            raise self.error
        parsed = {"Error": {"Code": self.error, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": 400}}
        if self.reasons is not None:
            parsed["CancellationReasons"] = [{"Code": code} for code in self.reasons]
        return (_HttpResponse(400), parsed)

    def __exit__(self, *exc):
        dynamo.client().meta.events.unregister("before-call.dynamodb", self._handler)


class _HttpResponse:
    def __init__(self, status):
        self.status_code = status
        self.headers = {}
        self.raw = None
        self.content = b""


@pytest.mark.parametrize("code", THROTTLES)
def test_asvs5_16_5_2_throttled_lookup_on_login_is_503_without_a_token(api, demo_user, aws, code):
    api.login("nobody", "x")  # warm: the client exists
    with FailingCall("GetItem", code):
        assert_unavailable(api.login())
    assert aws["dynamodb"].scan(TableName="SessionsTable")["Items"] == []


def test_unreachable_dynamodb_is_503(api, demo_user):
    api.login("nobody", "x")
    with FailingCall("GetItem", EndpointConnectionError(endpoint_url="http://127.0.0.1:1")):
        assert_unavailable(api.login())


def test_failed_session_write_on_login_issues_nothing(api, demo_user, aws):
    api.login("nobody", "x")
    with FailingCall("TransactWriteItems", "ThrottlingException"):
        assert_unavailable(api.login())
    assert aws["dynamodb"].scan(TableName="SessionsTable")["Items"] == []


@pytest.mark.parametrize(("operation", "code"), [("BatchGetItem", "ThrottlingException"), ("UpdateItem", "ProvisionedThroughputExceededException"), ("UpdateItem", "InternalServerError")])
def test_hydra_1831_refresh_whose_write_failed_leaves_the_old_token_valid(api, demo_user, operation, code):
    token = cookie_value(api.login())
    with FailingCall(operation, code):
        assert_unavailable(api.refresh_cookie(token))
    assert api.refresh_cookie(token).status == 200  # the client retries with the same token


def test_asvs5_16_5_2_failed_session_lookup_on_me_is_503_never_200(api, demo_user):
    jwt = api.login().body["jwt"]
    with FailingCall("BatchGetItem", "ThrottlingException"):
        assert_unavailable(api.me(jwt))


def test_no_half_created_user_when_registration_fails(api, aws):
    api.login("nobody", "x")
    with FailingCall("TransactWriteItems", "ThrottlingException"):
        assert_unavailable(api.call("register", "register.json", {"username": "newuser", "email": "n@example.com", "password": "long enough pw"}))
    items = aws["dynamodb"].scan(TableName="UsersTable")["Items"]
    assert [i["pk"]["S"].split("#")[0] for i in items] == ["THROTTLE"]  # only the login's counter (issue 14)


@pytest.mark.parametrize("code", ["ThrottlingException", "InternalServerError"])
def test_asvs5_16_5_3_ssm_failure_at_cold_start_is_503_with_no_fallback_key(api, demo_user, aws, code):
    parameters.clear_caches()
    ssm = parameters.ssm.SSMProvider()  # the provider Powertools creates; stub its client
    stubber = Stubber(ssm.client)
    for _ in range(5):
        stubber.add_client_error("get_parameter", service_error_code=code, http_status_code=400)
    stubber.activate()
    import aws_lambda_powertools.utilities.parameters.ssm as ssm_module

    original = ssm_module.DEFAULT_PROVIDERS.get("ssm")
    ssm_module.DEFAULT_PROVIDERS["ssm"] = ssm
    try:
        assert_unavailable(api.login())
    finally:
        stubber.deactivate()
        if original is None:
            ssm_module.DEFAULT_PROVIDERS.pop("ssm", None)
        else:
            ssm_module.DEFAULT_PROVIDERS["ssm"] = original
    assert aws["dynamodb"].scan(TableName="SessionsTable")["Items"] == []
    assert api.login("demo", DEMO_PASSWORD).status == 200  # recovers once SSM answers
