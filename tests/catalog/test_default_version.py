"""Which version a module's unversioned page shows."""

from __future__ import annotations

from app.catalog.modules import ModuleSummary, VersionSummary, default_version


def summary(*states: tuple[str, str], latest: str | None = None) -> ModuleSummary:
    """A module whose versions, newest first, are in these (version, state)s."""
    rows = [VersionSummary(version=v, state=s, label=s, reason="", time=None,
                           published_at=None, is_pseudo=False, deprecated=None,
                           retracted=None) for v, s in states]
    return ModuleSummary(path="depot.test/m", versions=rows, latest=latest, deprecated=None)


def test_the_latest_published_first() -> None:
    module = summary(("v1.2.0", "failed"), ("v1.1.0", "published"), latest="v1.1.0")
    assert default_version(module) == "v1.1.0"


def test_a_failed_probe_does_not_head_the_page_of_a_refused_request() -> None:
    # tailscale.com: @latest (v1.104.7) failed on Depot's go; v1.66.4 was asked and refused.
    assert default_version(summary(("v1.104.7", "failed"), ("v1.66.4", "rejected"))) == "v1.66.4"


def test_a_version_on_its_way_before_those_that_ended() -> None:
    module = summary(("v2.0.0", "rejected"), ("v1.9.0", "validating"), ("v1.8.0", "failed"))
    assert default_version(module) == "v1.9.0"


def test_the_newest_when_every_one_failed() -> None:
    assert default_version(summary(("v1.1.0", "failed"), ("v1.0.0", "failed"))) == "v1.1.0"
