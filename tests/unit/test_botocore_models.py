"""The layer's trimmed SSM model (dal/botocore_models): botocore's own, kept in step with it."""

import sys
from pathlib import Path

import pytest

from authlayer.dal import dynamo

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import trim_botocore_model  # noqa: E402


@pytest.fixture
def layer_session(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_DATA_PATH", raising=False)
    dynamo.session.cache_clear()
    yield dynamo.session()
    dynamo.session.cache_clear()


def test_trimmed_model_is_what_the_installed_botocore_gives():
    # Given the committed model / When regenerated from the locked botocore / Then nothing differs
    # (after a botocore upgrade: .venv/bin/python tools/trim_botocore_model.py)
    assert trim_botocore_model.main(["--check"]) == 0


def test_the_layer_ssm_client_is_built_from_the_trimmed_model_and_dynamodb_from_botocore(layer_session):
    ssm = layer_session.client("ssm")
    assert ssm.meta.service_model.operation_names == ["GetParameter"]
    assert ssm.meta.endpoint_url == "https://ssm.us-east-1.amazonaws.com"  # endpoint rules: botocore's own
    full = trim_botocore_model.trimmed("ssm", ("GetParameter",))[1]
    assert ssm.meta.service_model.operation_model("GetParameter").output_shape.members.keys() == {"Parameter"}
    assert full["operations"]["GetParameter"]["errors"]  # ParameterNotFound etc. keep their error shapes
    assert "PutItem" in layer_session.client("dynamodb").meta.service_model.operation_names


def test_a_users_aws_data_path_is_still_searched_after_ours(layer_session, monkeypatch, tmp_path):
    dynamo.session.cache_clear()
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    paths = dynamo.session()._session.get_component("data_loader").search_paths
    assert paths[:2] == [str(dynamo.TRIMMED_MODELS), str(tmp_path)]
