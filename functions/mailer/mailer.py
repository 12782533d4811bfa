"""The mailer: SQS mail requests -> reset and confirmation mail through SES v2.

Partial batch responses (Powertools' batch utility, ReportBatchItemFailures in the template):
a record that fails is retried alone and, after the queue's maxReceiveCount, dead-lettered;
the others of its batch are done.
"""

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from authlayer.config import get_settings
from authlayer.logic import recovery
from authlayer.observability import logger, metrics

SETTINGS = get_settings()
# A batch whose every record failed is reported like any other (all listed), not raised: one
# code path for Lambda and the local runner, and the retry is the same.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    request = recovery.MailRequest.from_message(json.loads(record.body))
    recovery.deliver(SETTINGS, request, record.message_id)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> Any:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
