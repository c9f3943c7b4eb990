"""gunicorn.conf.py, the production entry point, takes everything from the environment."""

from __future__ import annotations

import runpy
import shutil

import pytest

from app.config import REPO_ROOT


def load(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict:
    for name in ("DEPOT_BIND", "DEPOT_HOST", "DEPOT_PORT", "DEPOT_WORKERS", "DEPOT_THREADS",
                 "DEPOT_WORKER_TIMEOUT", "DEPOT_GRACEFUL_TIMEOUT", "DEPOT_KEEPALIVE",
                 "DEPOT_ACCESS_LOG", "DEPOT_LOG_FORMAT", "PROMETHEUS_MULTIPROC_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(REPO_ROOT / "gunicorn.conf.py"))


def test_defaults_suit_a_laptop(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = load(monkeypatch)
    shutil.rmtree(conf["_metrics_dir"])  # made for this run; gunicorn removes it at exit
    assert conf["bind"] == "127.0.0.1:8080" and conf["worker_class"] == "gthread"
    assert (conf["workers"], conf["threads"], conf["timeout"]) == (2, 8, 900)
    assert conf["accesslog"] is None  # Depot logs each request itself, with its id
    formatter = conf["logconfig_dict"]["formatters"]["depot"]["()"]
    assert formatter == "app.logs.TextFormatter"


def test_everything_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path) -> None:  # type: ignore[no-untyped-def]
    conf = load(monkeypatch, DEPOT_BIND="0.0.0.0:8000", DEPOT_WORKERS="4", DEPOT_THREADS="16",
                DEPOT_WORKER_TIMEOUT="120", DEPOT_GRACEFUL_TIMEOUT="20", DEPOT_KEEPALIVE="75",
                DEPOT_LOG_FORMAT="json", PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    assert conf["bind"] == "0.0.0.0:8000"
    assert (conf["workers"], conf["threads"], conf["timeout"], conf["graceful_timeout"],
            conf["keepalive"]) == (4, 16, 120, 20, 75)
    assert conf["logconfig_dict"]["formatters"]["depot"]["()"] == "app.logs.JSONFormatter"
    assert conf["_metrics_dir"] == str(tmp_path)


def test_a_wrong_log_format_stops_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="DEPOT_LOG_FORMAT"):
        load(monkeypatch, DEPOT_LOG_FORMAT="xml")
