"""One Logger and one Metrics object for the layer (Powertools, structured JSON, EMF metrics).

No Tracer: it imports aws-xray-sdk, which costs about 0.6 s of cold start here.
Nothing secret is logged: callers pass user ids and session ids, never tokens, passwords or keys.
"""

import warnings

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(service="sam-refresh-auth")
metrics = Metrics(namespace="SamRefreshAuth", service="sam-refresh-auth")


def count(name: str) -> None:
    """Add one to a metric (flushed by ``metrics.log_metrics`` around each handler)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


# Handlers that record no metric on a request (me, keys) should not warn on every call.
warnings.filterwarnings("ignore", message="No application metrics to publish")
