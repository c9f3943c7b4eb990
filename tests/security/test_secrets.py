"""An upstream's credentials never come out of Depot: a token planted in DEPOT_UPSTREAM
(as user name and password) and in a webhook's path is looked for in every channel a
person or a machine reads: /info, the pages, the API, the reasons, webhooks, the audit
trail, the log and the command line."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from app.config import REPO_ROOT, Settings
from app.logs import JSONFormatter, TextFormatter
from app.models import PublicText
from app.notify import request_failed, send
from app.redact import host_of, mask_url, public, redact, register
from tests.conftest import free_port, settings_env
from tests.fixtures.counting_upstream import CountingUpstream
from tests.fixtures.receiver import Receiver, receiver  # noqa: F401 (fixture)
from tests.fixtures.upstream import Upstream

USER_TOKEN = "u53r-t0k3n-planted"
PASS_TOKEN = "p4ss-t0k3n-planted"
HOOK_TOKEN = "h00k-t0k3n-planted"
PLANTED = (USER_TOKEN, PASS_TOKEN, HOOK_TOKEN)
WAIT = 120


def _leaks(text: str) -> list[str]:
    return [token for token in PLANTED if token in text]


@pytest.fixture
def counting(upstream: Upstream) -> Iterator[CountingUpstream]:
    with CountingUpstream(upstream.root) as up:
        up.delete_module("depot.test/chain/b")  # chain/a's build list fails on it
        yield up


def _flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)


def _reasoned(base: str, location: str) -> dict:
    """The request once it carries a reason (the go command's failure)."""
    deadline = time.monotonic() + WAIT
    body: dict = {}
    while time.monotonic() < deadline:
        body = requests.get(base + location, timeout=30).json()
        if body["reason"]:
            return body
        time.sleep(0.3)
    raise AssertionError(f"request has no reason: {body}")


# One database is enough: the output channels, not the backend, are looked at.
@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_a_planted_upstream_token_is_in_no_output_channel(
        settings: Settings, counting: CountingUpstream, receiver: Receiver,  # noqa: F811
        tmp_path: Path) -> None:
    host = counting.url.removeprefix("http://")
    # The go command refuses to send credentials over plain HTTP and quotes the URL (its
    # password hidden, its user name not): the reason a secret would leak by.
    planted = replace(
        settings, upstream=f"http://{USER_TOKEN}:{PASS_TOKEN}@{host}",
        notify_webhooks=receiver.url(f"/hooks/{HOOK_TOKEN}"))
    port = free_port()
    env = settings_env(planted) | {"DEPOT_PORT": str(port), "DEPOT_WORKERS": "1"}
    env.pop("REDIS_URL", None)  # `make run`'s embedded Redis
    base = f"http://127.0.0.1:{port}"
    channels: dict[str, str] = {}
    migrated = _flask(env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        serve = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "serve"],
                                 cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                 start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert serve.poll() is None, log.read_text()
            try:
                if requests.get(f"{base}/readyz", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        info = requests.get(f"{base}/info", timeout=10)
        channels["/info"] = info.text
        assert f"http://***@{host}" in info.json()["settings"]["upstream"]
        channels["/set-me-up"] = requests.get(f"{base}/set-me-up", timeout=10).text
        ends = {}
        for module, version in (("depot.test/chain/a", "v1.1.0"), ("depot.test/nope", "v1.0.0")):
            made = requests.post(f"{base}/api/v1/requests",
                                 json={"module": module, "version": version}, timeout=30)
            assert made.status_code == 202, made.text
            location = made.headers["Location"]
            ends[module] = _reasoned(base, location)
            channels[f"API {module}"] = requests.get(base + location, timeout=10).text
            page = location.replace("/api/v1/requests/", "/request/")
            channels[f"page {module}"] = requests.get(base + page, timeout=10).text
        # The reasons quote the upstream's URL (as the go command prints it): they are
        # the channel the token would take.
        assert f"http://***@{host}" in ends["depot.test/chain/a"]["reason"], ends
        channels["module page"] = requests.get(f"{base}/depot.test/chain/a", timeout=10).text
        channels["GOPROXY miss"] = requests.get(
            f"{base}/depot.test/chain/b/@v/v1.0.0.info", timeout=30).text
        ingest = _flask(env, "ingest", "depot.test/nope@v1.0.0")
        channels["flask ingest"] = ingest.stdout + ingest.stderr
        assert "127.0.0.1" in channels["flask ingest"]
        notify = _flask(env, "notify-test")
        channels["flask notify-test"] = notify.stdout + notify.stderr
        assert notify.returncode == 0, channels["flask notify-test"]
        # A failure's event carries the go command's words as they came, before any
        # store: the sender hides the secrets in them.
        planted.register_secrets()
        send(request_failed("depot.test/chain/a", "v1.1.0",
                            f"reading http://{USER_TOKEN}:xxxxx@{host}/x: {PASS_TOKEN}"),
             [planted.notify_webhooks])
        assert len(receiver.hits) == 2, receiver.hits
        assert all(hit.path == f"/hooks/{HOOK_TOKEN}" for hit in receiver.hits)
        channels["webhooks"] = "\n".join(hit.body.decode() for hit in receiver.hits)
        # The audit trail keeps the failures' reasons, and the commands' options.
        channels["audit trail"] = requests.get(f"{base}/api/v1/audit?limit=200",
                                               timeout=10).text
        assert f"http://***@{host}" in channels["audit trail"]
    finally:
        serve.terminate()
        serve.wait(timeout=60)
    channels["serve log"] = log.read_text()
    assert "127.0.0.1" in channels["serve log"]
    leaked = {name: _leaks(text) for name, text in channels.items() if _leaks(text)}
    assert not leaked, leaked


def test_redact_masks_userinfo_and_registered_secrets() -> None:
    register(["https://me:s3cr3t-value@proxy.example/?token=q-s3cr3t-long,direct",
              "https://hooks.example/services/T0/B0/x?key=w-s3cr3t-long"])
    text = ("reading https://me:xxxxx@proxy.example/m/@v/list?token=q-s3cr3t-long: 404; "
            "auth s3cr3t-value; posting with w-s3cr3t-long; http://someone@other.example/x")
    clean = redact(text)
    for secret in ("s3cr3t-value", "q-s3cr3t-long", "w-s3cr3t-long", "someone", "me:xxxxx"):
        assert secret not in clean, clean
    assert "proxy.example/m/@v/list" in clean and "other.example/x" in clean
    assert mask_url("https://me:pw-long@proxy.example/p?token=abcd|direct") == \
        "https://***@proxy.example/p?token=***|direct"
    assert mask_url("off") == "off"
    assert host_of("https://hooks.example/services/T0/B0/w-s3cr3t") == "https://hooks.example/…"


def test_redacting_a_long_hostile_text_takes_linear_time() -> None:
    """A GOPROXY path of 4,000 letters (the request line's limit) comes back inside its
    reason: redacting it cost 30 ms of CPU a request while the URL rule retried a scheme
    from each letter of a long word; 200,000 characters took minutes. A userinfo after
    a long scheme-like run is still hidden."""
    texts = ["a" * 200_000, "ab." * 70_000, "x://" * 50_000, "a" * 100_000 + "://u:p@h"]
    began = time.monotonic()
    cleaned = [redact(text) for text in texts]
    assert time.monotonic() - began < 5  # quadratic: over 60 s
    assert cleaned[3].endswith("://***@h")
    assert redact("foo.git+ssh://user:pw@h and xhttps://u:p@h") == \
        "foo.git+ssh://***@h and xhttps://***@h"


def test_short_secrets_are_masked_only_inside_urls() -> None:
    # A "1" in a query, or a weak password such as "depot", hidden wherever the word
    # appears would mangle every text; inside a URL it is still hidden.
    register(["https://proxy.example/?v=1", "postgresql://depot:depot@db.example/depot"])
    assert redact("depot.test/a v1.0.0 took 1 s") == "depot.test/a v1.0.0 took 1 s"
    assert redact("postgresql://depot:depot@db.example/x") == "postgresql://***@db.example/x"


def test_stored_reasons_and_log_lines_are_redacted() -> None:
    register(["https://me:st0red-s3cr3t@proxy.example/"])
    assert PublicText().process_bind_param("x st0red-s3cr3t y", None) == "x *** y"
    import logging

    record = logging.LogRecord("depot", logging.WARNING, __file__, 1,
                               "upstream %s failed", ("https://me:st0red-s3cr3t@proxy.example/",),
                               None)
    for formatter in (TextFormatter(), JSONFormatter()):
        line = formatter.format(record)
        assert "st0red-s3cr3t" not in line and "proxy.example" in line, line


def test_public_texts_name_no_folder_of_the_server(tmp_path: Path) -> None:
    data, up = tmp_path / "var", tmp_path / "mirror"
    Settings.from_env({"DEPOT_DATA_DIR": str(data), "DEPOT_UPSTREAM": f"{up.as_uri()},direct",
                       "DEPOT_GO": "go"}).register_secrets()
    text = (f"go: depot.test/nope@v1.0.0: reading {up.as_uri()}/depot.test/nope/@v/v1.0.0.info: "
            f"open {up}/depot.test/nope/@v/v1.0.0.info: no such file or directory; "
            f"the store at {data}/store is full")
    shown = public(text)
    assert str(tmp_path) not in shown, shown
    assert "reading <upstream>/depot.test/nope/@v/v1.0.0.info" in shown
    assert "the store at <store> is full" in shown  # the default store, in the data dir
    assert redact(text) == text  # the log keeps the folders for the operator
    assert PublicText().process_bind_param(text, None) == shown


def test_a_short_data_dir_is_hidden_only_as_a_whole_path(tmp_path: Path) -> None:
    from app.redact import register_paths

    register_paths({Path("/srv-depot-x"): "<data dir>"})
    text = ("open /srv-depot-x/store/a.zip: denied; github.com/u/srv-depot-x/v2 and "
            "/srv-depot-xy stay; reading file:///srv-depot-x/up/m/@v/list")
    assert public(text) == ("open <data dir>/store/a.zip: denied; github.com/u/srv-depot-x/v2 "
                            "and /srv-depot-xy stay; reading <data dir>/up/m/@v/list")
    register(["postgresql://postgres@db.example/depot", "https://gh0token0value0x1@host.example/"])
    assert redact("postgresql is up") == "postgresql is up"
    assert "gh0token0value0x1" not in redact("token gh0token0value0x1 used")
