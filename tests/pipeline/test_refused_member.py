"""A member the upstream refuses with a bare 403 ends its dependent's request with that
reason, at once: tailscale.com v1.66.4 stayed `processing` past its hour on this
network, whose module proxy answers a host outside its allow-list (fybrik.io/crdoc,
read by its build list) with a 403 the go command prints without a word of why, which
Depot took for a passing failure and retried."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from app.models import VersionState
from app.pipeline.capture import get_version
from tests.conftest import make_app
from tests.fixtures.counting_upstream import CountingUpstream
from tests.fixtures.upstream import fixture_module, upstream_of

TOP = "depot.test/refused/top"
HOST = "depot.test/refused/elsewhere"


def test_a_member_refused_with_a_bare_403_ends_the_request(settings, tmp_path: Path) -> None:
    upstream = upstream_of(tmp_path / "upstream", [
        fixture_module(HOST, "v1.0.0"),
        fixture_module(TOP, "v1.0.0", {HOST: "v1.0.0"}),
    ])
    with CountingUpstream(upstream.root) as up:
        up.refuse_bare(HOST)
        app = make_app(replace(settings, upstream=up.url, gosumdb="off"))
        try:
            done = app.test_cli_runner().invoke(args=["ingest", f"{TOP}@v1.0.0", "--deps"])
            with app.extensions["depot"].db.session() as session:
                row = get_version(session, TOP, "v1.0.0")
                state, reason = row.state, row.reason
            assert state == VersionState.rejected, (state, reason, done.output)
            assert HOST in reason and "403 Forbidden" in reason, reason
            assert reason.startswith(f"build list: the upstream withholds {HOST}@v1.0.0: "), reason
            assert done.exit_code != 0 and HOST in done.output
            # Asked once and not again: the go command's answer is the same every time.
            asked = sum(n for path, n in up.counts().items() if HOST in path)
            assert 0 < asked <= 3, up.counts()
        finally:
            app.extensions["depot"].db.dispose()


def test_a_client_hears_that_the_upstream_refused_not_that_nothing_is_there(
    settings, tmp_path: Path
) -> None:
    """Fetch mode: a miss the upstream answers 403 is a 404 here too (the go command then
    tries its next GOPROXY entry), saying it was withheld; an @latest that fetched
    nothing says why (an outside trial read "no versions in Depot" alone)."""
    upstream = upstream_of(tmp_path / "upstream", [fixture_module(HOST, "v1.0.0")])
    with CountingUpstream(upstream.root) as up:
        up.refuse_bare(HOST)
        app = make_app(replace(settings, upstream=up.url, gosumdb="off", on_miss="fetch"))
        try:
            client = app.test_client()
            info = client.get(f"/{HOST}/@v/v1.0.0.info")
            assert info.status_code == 404
            assert f"the upstream withholds {HOST}@v1.0.0" in info.get_data(as_text=True)
            latest = client.get(f"/{HOST}/@latest")
            assert latest.status_code == 404
            text = latest.get_data(as_text=True)
            assert text.startswith(f"{HOST}: no versions in Depot; fetching its latest: "), text
            assert "403 Forbidden" in text
        finally:
            app.extensions["depot"].db.dispose()
