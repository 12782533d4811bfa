"""The cost model of `make bench` (issue 17): what each flow costs on AWS, per million refreshes and
per 100,000 monthly active users, next to Amazon Cognito's per-MAU prices for the same users.

    .venv/bin/python tools/cost_model.py [--cpu-ms refresh=1.3 --cpu-ms login=31 --cpu-ms me=0.7]

Inputs, each from one place:
- DynamoDB capacity units per flow: measured by tests/integration/test_request_counts.py against
  moto and computed by DynamoDB's rules (tools/capacity.py); run here with CAPACITY_REPORT;
- prices and the usage assumed per user: tools/prices.json (its date and sources);
- Lambda memory: template.yaml; Lambda duration: the warm CPU per request that make bench measured
  (this machine, x86_64, DynamoDB stubbed) plus an assumed round trip per DynamoDB request: an
  estimate, not a measurement on Lambda's arm64.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PRICES = Path(__file__).with_name("prices.json")

# Flow -> the function that serves it, and what else it pays for besides DynamoDB.
FLOWS: dict[str, dict[str, Any]] = {
    "login": {"function": "LoginFunction", "warm": "login"},
    "refresh": {"function": "RefreshFunction", "warm": "refresh"},
    "grace replay": {"function": "RefreshFunction", "warm": "refresh"},
    "me": {"function": "MeFunction", "warm": "me"},
    "logout": {"function": "LogoutFunction"},
    # one SQS message, then the mailer (its own invocation, fed by SQS: no API Gateway) and one mail
    "forgot-password": {"function": "MailRequestFunction", "sqs": 1},
    "mailer": {"function": "MailerFunction", "api": 0, "sqs": 2, "emails": 1},  # receive + delete
    "authorizer": {"function": "SessionAuthorizerFunction", "api": 0, "warm": "authorizer"},
}
MAU = 100_000


def measured_flows(python: str = sys.executable) -> dict[str, Any]:
    """Run the request-count tests with CAPACITY_REPORT and return the flows they measured."""
    with tempfile.TemporaryDirectory(prefix="capacity-") as tmp:
        report = Path(tmp) / "flows.json"
        test = "tests/integration/test_request_counts.py"
        completed = subprocess.run(  # noqa: S603 - our python, our test
            [python, "-m", "pytest", "-p", "no:cacheprovider", "-q", test, "-k", "issue17"],
            cwd=ROOT,
            env={**os.environ, "CAPACITY_REPORT": str(report)},
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0 or not report.is_file():
            raise SystemExit(f"cost model: {test} failed:\n{completed.stdout[-3000:]}")
        flows: dict[str, Any] = json.loads(report.read_text())
        return flows


def memory_mb(function: str) -> int:
    sys.path.insert(0, str(ROOT))
    from localdev.template import load_template

    template = load_template(ROOT / "template.yaml")
    default = int(template.get("Globals", {}).get("Function", {}).get("MemorySize", 128))
    resource = template["Resources"].get(function, {})
    return int(resource.get("Properties", {}).get("MemorySize", default))


def flow_cost(flow: str, units: dict[str, Any], cpu_ms: dict[str, float], prices: dict[str, Any]) -> dict[str, float]:
    """USD per call of ``flow``, by service."""
    shape = FLOWS[flow]
    ddb = prices["dynamodb_on_demand"]
    writes = units["write"] + units["index_write"]
    cost = {
        "dynamodb": units["read"] * ddb["per_million_read_request_units"] / 1e6
        + writes * ddb["per_million_write_request_units"] / 1e6
    }
    lam = prices["lambda_arm64"]
    cpu = cpu_ms.get(shape.get("warm", "me"), 0.0)
    billed_ms = math.ceil(cpu + len(units["requests"]) * prices["assumptions"]["dynamodb_round_trip_ms"])
    cost["lambda"] = memory_mb(shape["function"]) / 1024 * billed_ms / 1000 * lam["per_gb_second"]
    cost["lambda"] += lam["per_million_requests"] / 1e6
    cost["api gateway"] = shape.get("api", 1) * prices["api_gateway_http_api"]["per_million_requests"] / 1e6
    cost["sqs"] = shape.get("sqs", 0) * prices["sqs_standard"]["per_million_requests"] / 1e6
    cost["ses"] = shape.get("emails", 0) * prices["ses_outbound"]["per_thousand_emails"] / 1e3
    return cost


def cognito(tier: dict[str, Any], mau: int) -> float:
    """USD a month for ``mau`` users on a Cognito user pool tier (graduated, after the free MAUs)."""
    total, floor, left = 0.0, tier["free_mau"], mau - tier["free_mau"]
    for upto, price in tier["tiers"]:
        if left <= 0:
            break
        band = left if upto is None else min(left, upto - floor)
        total, left, floor = total + band * price, left - band, floor + band
    return total


def _usd(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:.4f}"


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _header(*cells: str) -> list[str]:
    return [_row(*cells), "|" + "---|" * len(cells)]


def section(flows: dict[str, Any], cpu_ms: dict[str, float], prices_path: Path = PRICES) -> str:
    """Markdown: units per flow (refresh before/after), cost per million refreshes, per 100k MAU."""
    prices = json.loads(prices_path.read_text())
    rows = _header("flow", "DynamoDB requests", "read units", "write units (table + indexes)", "measured")
    for flow, u in flows.items():
        rows.append(
            _row(
                flow,
                ", ".join(u["requests"]) or "-",
                f"{u['read']:g}",
                f"{u['write']:g} + {u['index_write']:g}",
                "moto + rules",  # every flow's requests metered in test_request_counts
            )
        )
        if "before" in u:
            b = u["before"]
            rows.append(
                _row(
                    f"  {flow} before issue 17 (same items)",
                    ", ".join(b["requests"]),
                    f"{b['read']:g}",
                    f"{b['write']:g} + {b['index_write']:g}",
                    "rules, old request shapes",
                )
            )
    per_call = {flow: flow_cost(flow, u, cpu_ms, prices) for flow, u in flows.items()}
    refresh, before = per_call["refresh"], flow_cost("refresh", flows["refresh"]["before"], cpu_ms, prices)
    money = _header("per million refreshes", "DynamoDB", "Lambda", "API Gateway", "total")
    priced = [("before issue 17", before), ("now", refresh)]
    for label, c in priced:
        money.append(
            _row(
                label,
                _usd(c["dynamodb"] * 1e6),
                _usd(c["lambda"] * 1e6),
                _usd(c["api gateway"] * 1e6),
                _usd(sum(c.values()) * 1e6),
            )
        )
    usage = prices["assumptions"]["usage_per_mau_per_month"]
    month = {flow: n * MAU for flow, n in usage.items()}
    month["mailer"] = month.get("forgot-password", 0)
    services = ["dynamodb", "lambda", "api gateway", "sqs", "ses"]
    mau = _header("per 100,000 MAU a month", "calls", *services, "total")
    grand = 0.0
    for flow, calls in month.items():
        c = per_call[flow]
        total = sum(c.values()) * calls
        grand += total
        mau.append(_row(flow, f"{calls:,.0f}", *(_usd(c[s] * calls) for s in services), _usd(total)))
    blank = [""] * (len(services) + 1)
    mau.append(_row("**sam-refresh-auth**", *blank, f"**{_usd(grand)}**"))
    for tier in ("lite", "essentials", "plus"):
        price = cognito(prices["cognito_user_pools"][tier], MAU)
        mau.append(_row(f"Amazon Cognito {tier} (published per-MAU price)", *blank, _usd(price)))
    now, was = flows["refresh"], flows["refresh"]["before"]
    cpu = ", ".join(f"{k} {v:.2f} ms" for k, v in sorted(cpu_ms.items()))
    notes = (
        f"DynamoDB per refresh: {refresh['dynamodb'] / before['dynamodb']:.0%} of before issue 17 "
        f"({now['read']:g} RRU + {now['write'] + now['index_write']:g} WRU, was "
        f"{was['read']:g} + {was['write'] + was['index_write']:g}). "
        + (
            f"A session item with its whole history is {now['session_bytes_full']} bytes with a "
            f"{now['session_bytes_full'] - 1024 + now['user_agent_room']}-byte User-Agent: one write unit for "
            f"User-Agents up to {now['user_agent_room']} bytes, two above (they are stored up to 512). "
            if "session_bytes_full" in now
            else ""
        )
        + f"Prices {prices['region']}, read {prices['date']} (tools/prices.json). Usage per MAU a month: "
        + ", ".join(f"{k} {v:g}" for k, v in usage.items())
        + f". Lambda: arm64 price, memory from template.yaml, duration = warm CPU measured here ({cpu}; "
        "x86_64, DynamoDB stubbed; logout, forgot-password and the mailer use me's) + "
        f"{prices['assumptions']['dynamodb_round_trip_ms']} ms per DynamoDB request, rounded up to 1 ms: an "
        "estimate. Free tiers left out, except Cognito's free MAUs (its price as published)."
    )
    return "\n".join([*rows, "", *money, "", *mau, "", notes])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu-ms", action="append", default=[], metavar="FLOW=MS", help="warm CPU per request")
    args = parser.parse_args(argv)
    cpu_ms = {k: float(v) for k, v in (item.split("=", 1) for item in args.cpu_ms)}
    print(section(measured_flows(), cpu_ms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
