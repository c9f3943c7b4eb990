"""Log formats: one JSON object a line, or readable text; the request id on each line."""

from __future__ import annotations

import io
import json
import logging

import pytest

from app.config import ConfigError, Settings
from app.logs import (
    JSONFormatter,
    RequestIdFilter,
    TextFormatter,
    new_request_id,
    request_id_scope,
)


def emit(formatter: logging.Formatter, message: str, *args: object, **extra: object) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("depot.test-logs")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning(message, *args, extra=extra)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_json_is_one_object_a_line_with_fields_and_the_request_id() -> None:
    with request_id_scope("req-1"):
        line = emit(JSONFormatter(), "fetched %s\nsecond line", "a/b", target="a/b", n=3)
    assert line.count("\n") == 1  # the message's newline is escaped inside the object
    entry = json.loads(line)
    assert entry["message"] == "fetched a/b\nsecond line"
    assert entry["level"] == "WARNING" and entry["logger"] == "depot.test-logs"
    assert entry["request_id"] == "req-1" and entry["target"] == "a/b" and entry["n"] == 3
    assert entry["time"].endswith("+00:00") and isinstance(entry["pid"], int)


def test_json_carries_the_traceback_as_a_field() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    logger = logging.getLogger("depot.test-logs-exc")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    entry = json.loads(stream.getvalue())
    assert "ValueError: boom" in entry["error"] and entry["message"] == "failed"


def test_text_is_readable_with_the_request_id_and_fields() -> None:
    with request_id_scope("req-2"):
        line = emit(TextFormatter(), "published %s", "a/b", target="a/b")
    assert " WARNING depot.test-logs [req-2]: published a/b target=a/b" in line
    assert "[" not in emit(TextFormatter(), "no request")  # outside a request: no id


def test_request_ids_offered_by_clients_must_be_plain_tokens() -> None:
    assert new_request_id("abc-123_x.y:z") == "abc-123_x.y:z"
    for bad in ("", "a b", "x" * 65, "a\"b", "é"):
        assert new_request_id(bad) != bad and len(new_request_id(bad)) == 32


def test_the_format_setting_is_checked() -> None:
    assert Settings.from_env({"DEPOT_LOG_FORMAT": " JSON ", "DEPOT_GO": "go",
                              "DEPOT_UPSTREAM": "off", "DEPOT_GOSUMDB": "off"}).log_format == "json"
    with pytest.raises(ConfigError, match="DEPOT_LOG_FORMAT must be one of text, json"):
        Settings.from_env({"DEPOT_LOG_FORMAT": "jsonl", "DEPOT_GO": "go",
                           "DEPOT_UPSTREAM": "off", "DEPOT_GOSUMDB": "off"})
