"""classify/scrub: reasons name the problem, not the worker's private folders."""

from __future__ import annotations

from pathlib import Path

from app.fetch.errors import (
    InvalidModule,
    TransientFetchError,
    UpstreamNotFound,
    UpstreamWithheld,
    classify,
    scrub,
)

WORK = Path("/srv/depot/data/process-abc123")


def test_unzip_prefix_and_work_paths_are_dropped() -> None:
    msg = (f"unzip {WORK}/modcache/cache/download/a.test/m/@v/v1.0.0.zip: "
           'a.test/m@v1.0.0/x.go: multiple entries for file "x.go"')
    error = classify(msg, WORK)
    assert isinstance(error, InvalidModule)  # still matched on the go command's own words
    assert error.reason == 'a.test/m@v1.0.0/x.go: multiple entries for file "x.go"'
    assert str(WORK) not in scrub(f"open {WORK}/modcache/x.mod: denied", WORK)
    assert scrub(f"open {WORK}/modcache/x.mod: denied", WORK) == "open x.mod: denied"


def test_without_workdir_nothing_changes() -> None:
    assert scrub("unzip /a/b.zip: bad", None) == "unzip /a/b.zip: bad"


def test_unexpected_file_is_permanent() -> None:
    error = classify("zip for a.test/m@v1.0.0 has unexpected file /tmp/x.txt")
    assert isinstance(error, InvalidModule) and error.permanent


def test_unexplained_eof_stays_transient() -> None:
    assert isinstance(classify("unexpected EOF"), TransientFetchError)


def test_a_version_the_upstream_withholds_is_not_retried() -> None:
    # github.com/micro/go-micro@v1.18.0's build list names such a version (real proxy text).
    error = classify("go: github.com/micro/protoc-gen-micro@v1.0.0: reading "
                     "https://proxy.example/github.com/micro/protoc-gen-micro/@v/v1.0.0.info: "
                     "403 Forbidden\n\tserver response: This module version is not available.")
    assert isinstance(error, UpstreamWithheld) and error.permanent
    assert isinstance(error, UpstreamNotFound), "nothing kept of it, as of a 404"
    assert error.reason.startswith("the upstream withholds "
                                   "github.com/micro/protoc-gen-micro@v1.0.0: go: ")



def test_a_bare_403_is_a_refusal_not_a_transient_failure() -> None:
    """A network's module proxy answers hosts outside its allow-list with a bare 403 that
    the go command prints without its body (fybrik.io/crdoc v0.6.3, read by the build
    list of tailscale.com v1.66.4, retried past its hour). HTTP says a 403 is not to be
    repeated as it was; rate limits are 429, and 5xx stay transient."""
    error = classify("go: fybrik.io/crdoc@v0.6.3: reading "
                     "https://proxy.example/fybrik.io/crdoc/@v/v0.6.3.info: 403 Forbidden")
    assert isinstance(error, UpstreamWithheld) and error.permanent
    assert error.reason.startswith("the upstream withholds fybrik.io/crdoc@v0.6.3: go: ")
    assert classify("reading https://p/x: 403 Forbidden").reason.startswith(
        "the upstream withholds it: ")
    for transient in ("reading https://p/x/@v/v1.0.0.zip: 429 Too Many Requests",
                      "reading https://p/x/@v/v1.0.0.zip: 503 Service Unavailable",
                      "reading https://p/x/@v/v1.0.0.zip: 502 Bad Gateway"):
        assert isinstance(classify(transient), TransientFetchError), transient
