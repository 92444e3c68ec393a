"""JSON logs on stdout, one object per line, which Container Insights ingests as is."""

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged
# as a field. uvicorn's `color_message` is the same text with ANSI colours, noise in JSON.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_trace_context())
        entry.update(
            (key, value) for key, value in vars(record).items() if key not in _STANDARD_ATTRIBUTES
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _trace_context() -> dict[str, str]:
    # The same ids Application Insights shows as operation_Id and id, so a log line found in
    # Log Analytics leads to the request that wrote it.
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {
        "trace_id": trace.format_trace_id(context.trace_id),
        "span_id": trace.format_span_id(context.span_id),
    }


def configure_logging() -> None:
    """Send every logger's records, uvicorn's included, to stdout as JSON at INFO and above."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # The Azure SDK logs every HTTP request the telemetry exporter makes, headers included, at
    # INFO: several multi-line entries a second that would drown the service's own logs.
    logging.getLogger("azure").setLevel(logging.WARNING)
