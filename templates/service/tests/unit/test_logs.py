import json
import logging
import sys
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from service.logs import JsonFormatter, configure_logging


def _record(message: str = "hello %s", *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("orders.api", logging.WARNING, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def _format(record: logging.LogRecord) -> dict[str, object]:
    entry: dict[str, object] = json.loads(JsonFormatter().format(record))
    return entry


def test_record_becomes_one_json_object() -> None:
    entry = _format(_record("hello %s", "world"))

    assert entry["level"] == "WARNING"
    assert entry["logger"] == "orders.api"
    assert entry["message"] == "hello world"
    assert str(entry["timestamp"]).endswith("+00:00")


def test_extra_fields_are_kept_and_uvicorn_colours_dropped() -> None:
    entry = _format(_record(order_id=42, color_message="\x1b[36mhello\x1b[0m"))

    assert entry["order_id"] == 42
    assert "color_message" not in entry


def test_exception_is_included() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = _record()
        record.exc_info = sys.exc_info()

    assert "RuntimeError: boom" in str(_format(record)["exception"])


def test_trace_ids_join_logs_to_the_current_request() -> None:
    tracer = TracerProvider().get_tracer(__name__)
    with tracer.start_as_current_span("request") as span:
        entry = _format(_record())
    context = span.get_span_context()

    assert entry["trace_id"] == trace.format_trace_id(context.trace_id)
    assert entry["span_id"] == trace.format_span_id(context.span_id)


def test_no_trace_ids_outside_a_request() -> None:
    assert "trace_id" not in _format(_record())


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root, azure = logging.getLogger(), logging.getLogger("azure")
    handlers, root_level, azure_level = root.handlers[:], root.level, azure.level
    yield
    root.handlers[:] = handlers
    root.setLevel(root_level)
    azure.setLevel(azure_level)


@pytest.mark.usefixtures("restore_logging")
def test_configure_logging_writes_json_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging()
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 7)
    logging.getLogger("azure.core.pipeline.policies.http_logging_policy").info("Request URL: ...")

    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["message"] for line in lines] == ["Started server process [7]"]
