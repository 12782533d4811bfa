"""openapi.yaml describes exactly template.yaml's routes, is valid OpenAPI, and the runner serves it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
import yaml
from openapi_spec_validator import validate
from pydantic.fields import FieldInfo
from werkzeug.test import Client

from authlayer import schemas
from authlayer.models import MAX_CODE
from localdev.cors import Cors
from localdev.server import OPENAPI, Gateway
from localdev.template import functions, load_template

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
_KEYWORDS = (("min_length", "minLength"), ("max_length", "maxLength"), ("pattern", "pattern"))
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _schema(ref_or_schema: dict[str, Any]) -> dict[str, Any]:
    ref = ref_or_schema.get("$ref")
    if ref is None:
        return ref_or_schema
    node: Any = DOCUMENT
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return _schema(node)


def _constraints(field: FieldInfo) -> dict[str, Any]:
    """JSON Schema keywords of a pydantic field, from its metadata (later ones win, as in pydantic).

    Not model_json_schema(): it drops `pattern` when an AfterValidator wraps the type.
    """
    found: dict[str, Any] = {}
    for item in field.metadata:
        for attribute, keyword in (
            ("min_length", "minLength"),
            ("max_length", "maxLength"),
            ("pattern", "pattern"),
        ):
            if getattr(item, attribute, None) is not None:
                found[keyword] = getattr(item, attribute)
    if get_origin(field.annotation) is Literal:
        found["enum"] = list(get_args(field.annotation))
    return found


def test_document_is_valid_openapi() -> None:
    # Given openapi.yaml
    # When it is validated against the OpenAPI 3.1 meta-schema
    # Then it is valid (validate raises otherwise)
    validate(DOCUMENT)


def test_document_paths_and_methods_are_exactly_the_templates_http_api_routes() -> None:
    # Given the routes the runner (and sam local) read from template.yaml
    routes = {
        (route.method, route.path)
        for function in functions(load_template(ROOT / "template.yaml"), ROOT)
        for route in function.routes
    }

    # When the document's operations are listed
    documented = {
        (method.upper(), path) for path, item in DOCUMENT["paths"].items() for method in item if method in HTTP_METHODS
    }

    # Then they are the same set: no route undocumented, no documented route that does not exist
    assert documented == routes


@pytest.mark.parametrize(
    ("component", "model"),
    [
        ("LoginRequest", schemas.LoginRequest),
        ("RegisterRequest", schemas.RegisterRequest),
        ("RefreshRequest", schemas.RefreshRequest),
        ("LogoutRequest", schemas.LogoutRequest),
        ("ChangePasswordRequest", schemas.ChangePasswordRequest),
        ("EmailRequest", schemas.EmailRequest),
        ("ResetPasswordRequest", schemas.ResetPasswordRequest),
    ],
)
def test_request_schemas_match_the_handlers_models(component: str, model: type[Any]) -> None:
    # Given a request schema of the document and the pydantic model the handler parses with
    documented = DOCUMENT["components"]["schemas"][component]

    # Then both refuse unknown fields and agree on the fields, the required ones and their constraints
    assert documented["additionalProperties"] is False
    assert model.model_config["extra"] == "forbid"
    assert set(documented["properties"]) == set(model.model_fields)
    required = {name for name, field in model.model_fields.items() if field.is_required()}
    assert set(documented.get("required", [])) == required
    for name, field in model.model_fields.items():
        doc_schema = _schema(documented["properties"][name])
        doc_schema = next((_schema(s) for s in doc_schema.get("oneOf", []) if "$ref" in s), doc_schema)
        keywords = ("minLength", "maxLength", "pattern", "enum")
        assert {k: doc_schema[k] for k in keywords if k in doc_schema} == _constraints(field), (component, name)
        # Optional fields accept JSON null (pydantic's `str | None`), so the document must too
        nullable = type(None) in get_args(field.annotation)
        alternatives = documented["properties"][name].get("oneOf", [])
        assert nullable == any(s.get("type") == "null" for s in alternatives), (component, name)


def test_request_bodies_are_the_models_the_handlers_parse_with() -> None:
    # Given the component each request body names and the model of each handler's body
    # (authlayer.bodies: the fast path's `model` is the pydantic contract)
    from authlayer import bodies

    expected = {
        ("post", "/api/auth/local"): bodies.LoginBody.model,
        ("post", "/api/auth/local/register"): bodies.RegisterBody.model,
        ("post", "/api/auth/change-password"): bodies.ChangePasswordBody.model,
        ("post", "/api/auth/forgot-password"): bodies.EmailBody.model,
        ("post", "/api/auth/send-email-confirmation"): bodies.EmailBody.model,
        ("post", "/api/auth/reset-password"): bodies.ResetPasswordBody.model,
    }

    # When the document's request bodies are read
    documented = {
        key: DOCUMENT["paths"][key[1]][key[0]]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        for key in expected
    }

    # Then each body is the component of the same name as the model
    assert documented == {key: f"#/components/schemas/{model}" for key, model in expected.items()}


def test_email_confirmation_token_parameter_has_the_handlers_limits() -> None:
    # Given the query parameter of GET /api/auth/email-confirmation
    operation = DOCUMENT["paths"]["/api/auth/email-confirmation"]["get"]
    (parameter,) = operation["parameters"]

    # Then it is required and as long as the handler allows (an empty or longer token is a 400)
    assert (parameter["name"], parameter["in"], parameter["required"]) == ("confirmation", "query", True)
    assert _schema(parameter["schema"])["minLength"] == 1
    assert _schema(parameter["schema"])["maxLength"] == MAX_CODE
    # And the answer is a redirect without a body, as the handler gives
    assert "content" not in operation["responses"]["302"]
    assert operation["responses"]["302"]["headers"]["Location"]["required"] is True


def test_runner_serves_the_document_as_yaml_and_json() -> None:
    # Given the local gateway with no routes
    client = Client(Gateway([], {}, Cors({})))

    # When the document is fetched in both forms
    as_yaml = client.get("/openapi.yaml")
    as_json = client.get("/openapi.json")

    # Then both are openapi.yaml, the JSON one converted
    assert as_yaml.status_code == 200
    assert as_yaml.mimetype == "application/yaml"
    assert as_yaml.get_data(as_text=True) == OPENAPI.read_text(encoding="utf-8")
    assert as_json.status_code == 200
    assert as_json.mimetype == "application/json"
    assert json.loads(as_json.get_data()) == DOCUMENT


def test_runner_without_a_document_answers_404(tmp_path: Path) -> None:
    # Given a gateway whose document is missing
    client = Client(Gateway([], {}, Cors({}), openapi=tmp_path / "missing.yaml"))

    # When it is fetched, or posted to
    # Then API Gateway's own 404 comes back
    assert client.get("/openapi.json").status_code == 404
    assert client.post("/openapi.yaml").get_json() == {"message": "Not Found"}
