"""One Logger and one Metrics object for the layer (Powertools, structured JSON, EMF metrics).

No Tracer: it imports aws-xray-sdk, which costs about 0.6 s of cold start here.
Nothing secret is logged: callers pass user ids and session ids, never tokens, passwords or keys.
"""

import logging
import warnings
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

# Per log line, not collected (Python's Logging HOWTO, "Optimization"): thread and process names,
# which no line shows. And messages are plain text: Powertools would first try each as JSON, and
# the failed parse is most of what these two cost (together ~2% of a warm refresh).
logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False


def _plain_text(message: dict[Any, Any] | str | bool | int | float) -> str:
    return str(message)  # Powertools only passes str messages here: they stay as they are


logger = Logger(service="sam-refresh-auth", json_deserializer=_plain_text)
metrics = Metrics(namespace="SamRefreshAuth", service="sam-refresh-auth")


def count(name: str) -> None:
    """Add one to a metric (flushed by ``metrics.log_metrics`` around each handler)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


# Handlers that record no metric on a request (me, keys) should not warn on every call.
warnings.filterwarnings("ignore", message="No application metrics to publish")
