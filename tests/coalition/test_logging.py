import json
import logging
import sys

from coalition.logging import JsonFormatter


def _line(record: logging.LogRecord) -> dict:
    return json.loads(JsonFormatter().format(record))


def _failing_call() -> None:
    raise ValueError("the reason")


def test_json_log_lines_keep_the_traceback_of_a_logged_exception():
    try:
        _failing_call()
    except ValueError:
        record = logging.getLogger("signers").makeRecord(
            "signers", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )

    line = _line(record)

    assert line["message"] == "failed"
    assert line["exception"] == "ValueError: the reason"
    assert line["traceback"].startswith("Traceback (most recent call last):")
    assert "in _failing_call" in line["traceback"]
    assert line["traceback"].endswith("ValueError: the reason")


def test_json_log_lines_keep_the_stack_when_asked_for():
    record = logging.makeLogRecord(
        {"msg": "here", "stack_info": "Stack (most recent call last):\n  File x"}
    )

    line = _line(record)

    assert line["stack"].startswith("Stack (most recent call last):")
    assert "traceback" not in line


def test_json_log_lines_without_an_exception_have_no_traceback():
    line = _line(logging.makeLogRecord({"msg": "fine"}))

    assert "traceback" not in line
    assert "exception" not in line
