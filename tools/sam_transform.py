"""Run the AWS SAM transform offline and write the CloudFormation template it produces.

    python tools/sam_transform.py [template.yaml] [-o .aws-sam/transformed/template.json]

Runs in the SAM tool environment (.tools/uv-tools/aws-sam-cli/bin/python, see `make tools`),
which has samtranslator. Why: cfn-lint and `sam validate` see a SAM resource before SAM expands
it; linting the expanded template checks what CloudFormation will really receive (the
functions, roles, permissions, API routes and integrations SAM generates).

Offline by construction: local CodeUri/ContentUri/DefinitionUri paths are replaced by
placeholder S3 URIs (what `sam package` would upload), and managed policies named in
`Policies` are resolved by a stub instead of IAM ListPolicies; it answers nothing, so a
policy given by name stays a bare name and cfn-lint reports it (use ARNs in this template).
The region and partition come from --region (default us-east-1), no credentials are used.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

# cfn_yaml needs only PyYAML, so the SAM tool environment can import it from localdev/ too.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "localdev"))

import cfn_yaml  # noqa: E402

PLACEHOLDER_BUCKET = "offline-transform-placeholder"

# (resource type, property holding a local path)
_LOCAL_URI_PROPERTIES = [
    ("AWS::Serverless::Function", "CodeUri"),
    ("AWS::Serverless::LayerVersion", "ContentUri"),
    ("AWS::Serverless::Api", "DefinitionUri"),
    ("AWS::Serverless::HttpApi", "DefinitionUri"),
    ("AWS::Serverless::StateMachine", "DefinitionUri"),
]


class OfflineManagedPolicyLoader:
    """Stands in for samtranslator's ManagedPolicyLoader, which calls IAM ListPolicies."""

    def __init__(self) -> None:
        self.used = False

    def load(self) -> dict[str, str]:
        self.used = True
        return {}


def _is_local_path(value: Any) -> bool:
    return isinstance(value, str) and not value.startswith("s3://")


def replace_local_uris(template: dict[str, Any]) -> dict[str, Any]:
    """Return a copy whose local code and definition paths are placeholder S3 URIs."""
    template = copy.deepcopy(template)
    globals_function = template.get("Globals", {}).get("Function", {})
    if _is_local_path(globals_function.get("CodeUri")):
        globals_function["CodeUri"] = f"s3://{PLACEHOLDER_BUCKET}/globals.zip"
    for logical_id, resource in template.get("Resources", {}).items():
        if not isinstance(resource, dict):
            continue
        properties = resource.get("Properties") or {}
        for resource_type, prop in _LOCAL_URI_PROPERTIES:
            if resource.get("Type") != resource_type:
                continue
            if _is_local_path(properties.get(prop)) or (
                resource_type == "AWS::Serverless::Function"
                and prop not in properties
                and properties.get("PackageType", "Zip") == "Zip"
                and "InlineCode" not in properties
                and "CodeUri" not in globals_function
            ):
                properties[prop] = f"s3://{PLACEHOLDER_BUCKET}/{logical_id}.zip"
    return template


def transform_template(template: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform

    loader = OfflineManagedPolicyLoader()
    try:
        result = transform(replace_local_uris(template), {}, loader)  # type: ignore[arg-type]
    except InvalidDocumentException as exc:
        messages = [str(cause) for cause in exc.causes] or [str(exc)]
        raise SystemExit("SAM transform failed:\n  " + "\n  ".join(messages)) from None
    return result, loader.used


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("templates", nargs="*", default=["template.yaml"])
    parser.add_argument(
        "-o", "--output", default=".aws-sam/transformed/template.json", help="output file (one template)"
    )
    parser.add_argument("--out-dir", help="with several templates: write <out-dir>/<template stem>.json each")
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args(argv)

    # samtranslator derives the partition and AWS::Region from the default boto3 session.
    os.environ["AWS_DEFAULT_REGION"] = args.region
    os.environ["AWS_REGION"] = args.region
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

    failed = 0
    for name in args.templates:
        output = Path(args.out_dir) / f"{Path(name).stem}.json" if args.out_dir else Path(args.output)
        try:
            result, used_policy_names = transform_template(cfn_yaml.load(name))
        except SystemExit as exc:  # one bad template does not stop the others
            print(f"{name}: {exc}", file=sys.stderr)
            failed += 1
            continue
        if used_policy_names:
            print(
                f"{name}: managed policies given by name are not resolved offline (use ARNs)", file=sys.stderr
            )
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(f"{name} -> {output} ({len(result.get('Resources', {}))} resources)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
