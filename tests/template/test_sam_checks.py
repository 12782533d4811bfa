"""The offline template checks pass on template.yaml and fail on broken copies of it.

Given a copy of template.yaml with one defect (a bad Ref, a bad runtime, a bad event type),
when each check runs on it, then it fails. One session fixture runs every check on every
copy, in three processes side by side (see conftest.py).

What each check can see (sam-cli 1.170, cfn-lint 1.58): cfn-lint >= 1 no longer runs the SAM
transform; it validates SAM resources against SAM's schema after merging Globals, so
`sam validate --lint` misses defects that only show once SAM expands a resource. Plain
`sam validate` runs the transform but does not lint its output. The transform followed by
cfn-lint on its output catches all of them; the strict xfails below record what the other two
miss, and turn into failures the day they catch it (then drop the xfail).
"""

from __future__ import annotations

import pytest

from tests.template.conftest import LINT_RUNS, MUTATIONS, CheckResults

pytestmark = pytest.mark.sam_tools

# Measured with sam-cli 1.170 / cfn-lint 1.58; only the LINT_RUNS ones are run every time.
LINT_MISSES = {
    "bad_ref_in_globals_environment": "cfn-lint does not resolve Refs merged in from Globals",
    "bad_ref_in_event_api_id": "event properties are not linted before the transform",
    "runtime_python3.99": "the SAM schema does not enumerate runtimes",
    "bad_event_type": "the SAM schema lets an unknown event type through",
}
VALIDATE_CATCHES = {"bad_ref_in_event_api_id", "bad_event_type"}  # what the transform itself rejects


def _params(catches: set[str], reasons: dict[str, str]) -> list[object]:
    return [
        name
        if name in catches
        else pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=reasons[name]))
        for name in MUTATIONS
    ]


def _name(param: object) -> str:
    return param if isinstance(param, str) else param.values[0]  # type: ignore[attr-defined]


def test_transform_and_cfn_lint_pass_on_the_real_template(check_results: CheckResults) -> None:
    code, output = check_results.transform_cfn_lint["real"]
    assert code == 0, output


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_transform_and_cfn_lint_fail_on_a_broken_copy(check_results: CheckResults, mutation: str) -> None:
    code, output = check_results.transform_cfn_lint[mutation]
    assert code != 0, f"the transform + cfn-lint passed a template with {mutation}"


def test_sam_validate_lint_passes_on_the_real_template(check_results: CheckResults) -> None:
    code, output = check_results.lint["real"]
    assert code == 0, output
    assert "is a valid SAM Template" in output


@pytest.mark.parametrize(
    "mutation", [p for p in _params(set(MUTATIONS) - set(LINT_MISSES), LINT_MISSES) if _name(p) in LINT_RUNS]
)
def test_sam_validate_lint_fails_on_a_broken_copy(check_results: CheckResults, mutation: str) -> None:
    code, output = check_results.lint[mutation]
    assert code != 0, f"sam validate --lint passed a template with {mutation}"


def test_sam_validate_passes_on_the_real_template(check_results: CheckResults) -> None:
    code, output = check_results.validate["real"]
    assert code == 0, output


@pytest.mark.parametrize(
    "mutation",
    _params(VALIDATE_CATCHES, {n: "plain sam validate only runs the transform" for n in MUTATIONS}),
)
def test_sam_validate_fails_on_a_broken_copy(check_results: CheckResults, mutation: str) -> None:
    code, output = check_results.validate[mutation]
    assert code != 0, f"sam validate passed a template with {mutation}"
