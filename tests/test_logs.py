"""Log formats: one JSON object a line, or readable text; the request id on each line."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app import logs
from app.config import REPO_ROOT, ConfigError, Settings
from app.logs import (
    JSONFormatter,
    RequestIdFilter,
    TextFormatter,
    _Batches,
    new_request_id,
    request_id_scope,
    write_direct,
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


def _direct(formatter: logging.Formatter, name: str = "depot.test-direct",
            *handlers: logging.Handler) -> tuple[logging.Logger, io.StringIO]:
    """A logger whose one handler is Depot's kind (a StreamHandler with our formatter)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger(name)
    logger.handlers = [handler, *handlers]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


@pytest.mark.parametrize("formatter", [TextFormatter, JSONFormatter])
def test_a_direct_line_is_the_line_logging_writes(formatter: type[logging.Formatter]) -> None:
    fields = {"status": 200, "path": "/a/@v/list", "remote": "127.0.0.1"}
    logger, stream = _direct(formatter())
    try:
        with request_id_scope("req-9"):
            logger.info("GET /a/@v/list 200", extra={"_terse": True, **fields})
        assert write_direct(logger, "req-9", "GET /a/@v/list 200", lambda: fields)
    finally:
        logger.handlers = []
    logged, direct = stream.getvalue().splitlines()
    if formatter is JSONFormatter:
        a, b = json.loads(logged), json.loads(direct)
        assert a.pop("time")[:16] == b.pop("time")[:16]
        assert a == b and a["request_id"] == "req-9" and a["status"] == 200
    else:  # the same text after the time (which has milliseconds: "05:25:35,406")
        assert logged.split(" ", 2)[2] == direct.split(" ", 2)[2]
        assert logged[:16] == direct[:16] and direct[19] == "," and direct[20:23].isdigit()


def test_secrets_are_masked_in_direct_lines_too() -> None:
    logger, stream = _direct(TextFormatter())
    try:
        assert write_direct(logger, "r", "GET https://user:s3cr3t-token@host/x 200", dict)
    finally:
        logger.handlers = []
    assert "s3cr3t" not in stream.getvalue() and "***@host" in stream.getvalue()


def test_a_line_another_handler_could_see_goes_the_usual_way() -> None:
    """pytest's capture, an operator's extra handler: they get the line from logging."""
    other = logging.StreamHandler(io.StringIO())
    logger, stream = _direct(TextFormatter(), "depot.test-direct", other)
    try:
        assert not write_direct(logger, "r", "GET / 200", dict)
        logger.handlers = logger.handlers[:1]
        logger.setLevel(logging.WARNING)
        assert not write_direct(logger, "r", "GET / 200", dict)  # INFO is off
        logger.setLevel(logging.INFO)
        logger.handlers[0].setFormatter(logging.Formatter())
        assert not write_direct(logger, "r", "GET / 200", dict)  # a foreign format
    finally:
        logger.handlers = []
    assert stream.getvalue() == ""


def test_batched_lines_arrive_in_order_within_the_interval() -> None:
    batches = _Batches(interval=0.05)
    logger, stream = _direct(TextFormatter())
    handler = logger.handlers[0]
    try:
        for n in range(500):
            batches.add(handler, f"line {n}\n")  # type: ignore[arg-type]
        assert stream.getvalue() == ""  # nothing written per line
        batches.start()
        deadline = time.monotonic() + 5
        while stream.getvalue().count("\n") < 500 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert stream.getvalue().splitlines() == [f"line {n}" for n in range(500)]
        batches.add(handler, "last\n")  # type: ignore[arg-type]
        batches.flush()  # what exit does
        assert stream.getvalue().endswith("last\n")
    finally:
        logger.handlers = []


def test_a_server_process_writes_its_batched_lines_when_it_ends(tmp_path: Path) -> None:
    """A granian worker leaves through os._exit: multiprocessing's finalizers write the
    last batch (else the access lines of a stopped server's last 100 ms were lost)."""
    script = (
        "import logging, multiprocessing, sys\n"
        "from app.logs import TextFormatter, RequestIdFilter, batch_direct_lines, write_direct\n"
        "def child():\n"
        "    handler = logging.StreamHandler(sys.stderr)\n"
        "    handler.setFormatter(TextFormatter())\n"
        "    logging.getLogger().handlers = [handler]\n"
        "    logging.getLogger().setLevel(logging.INFO)\n"
        "    batch_direct_lines()\n"
        "    for n in range(100):\n"
        "        line = f'GET /{n} 200'\n"
        "        assert write_direct(logging.getLogger('depot.access'), 'r', line, dict)\n"
        "if __name__ == '__main__':\n"
        "    p = multiprocessing.get_context('fork').Process(target=child)\n"
        "    p.start(); p.join(); sys.exit(p.exitcode)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert [line.rsplit(": ", 1)[1] for line in done.stderr.splitlines()] == [
        f"GET /{n} 200" for n in range(100)]


def test_request_ids_are_32_hex_digits_and_differ_across_a_fork() -> None:
    ids = {new_request_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child's next id must not be the parent's next id
        os.write(write, new_request_id().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    assert child != new_request_id()


def test_what_is_let_through_reaches_the_code_that_logged_and_the_rest_is_reported(
    capsys: pytest.CaptureFixture[str]
) -> None:
    """RQ's worker stops by raising from its SIGTERM handler; landing in a log line's
    write, that exception was printed as a logging error and swallowed (a JSON log then
    held a traceback). What jobs/worker.py lets through goes on; other errors of a
    write are still reported by logging, and the caller goes on."""

    class Stop(Exception):
        pass

    class Broken(Exception):
        pass

    class Stream(io.StringIO):
        def __init__(self, raising: type[Exception]) -> None:
            super().__init__()
            self.raising = raising

        def write(self, text: str) -> int:
            super().write(text)
            raise self.raising()  # as a signal handler would, right after the write

    logs.let_through(Stop)
    logger = logging.getLogger("depot.test.through")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    for raising, passes in ((Stop, True), (Broken, False)):
        handler = logs.make_handler("json")
        handler.setStream(Stream(raising))  # type: ignore[attr-defined]
        logger.handlers = [handler]
        try:
            if passes:
                with pytest.raises(Stop):
                    logger.info("a line")
            else:
                logger.info("a line")
                assert "--- Logging error ---" in capsys.readouterr().err
            assert json.loads(handler.stream.getvalue())["message"] == "a line"  # type: ignore[attr-defined]
        finally:
            logger.handlers = []
    logs._THROUGH.remove(Stop)


def test_in_json_an_exception_python_ignores_is_a_json_line_too() -> None:
    """"Exception ignored in: …" (a __del__, an at-fork hook in a forked child, as RQ's
    work horse saw once) is one JSON line, not text in a JSON log; text logs keep
    Python's own report."""
    script = (
        "import multiprocessing, os, sys\n"
        "from app.logs import configure_logging\n"
        "configure_logging(sys.argv[1])\n"
        "class Bad:\n"
        "    def __del__(self):\n"
        "        raise RuntimeError('gone wrong in del')\n"
        "Bad()\n"
        "os.register_at_fork(after_in_child=lambda: 1 / 0)\n"
        "if __name__ == '__main__':\n"
        "    p = multiprocessing.get_context('fork').Process(target=print)\n"
        "    p.start(); p.join(); sys.exit(p.exitcode)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, "json"], capture_output=True,
                          text=True, timeout=60, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 2, done.stderr
    assert all(line["logger"] == "depot.python" and line["level"] == "WARNING"
               for line in lines)
    assert "gone wrong in del" in lines[0]["error"] and "Bad.__del__" in lines[0]["message"]
    assert "ZeroDivisionError" in lines[1]["error"]
    assert lines[0]["pid"] != lines[1]["pid"]  # the second came from the forked child
    text = subprocess.run([sys.executable, "-c", script, "text"], capture_output=True,
                          text=True, timeout=60, cwd=REPO_ROOT)
    assert "Exception ignored in" in text.stderr and "gone wrong in del" in text.stderr
