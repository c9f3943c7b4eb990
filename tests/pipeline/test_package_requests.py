"""A request for a package path is answered "this is a package in module M" and M is
requested instead, resolved as `go get` resolves it; a path that is no module and no
package upstream is refused with that reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.models import RequestSource
from app.pipeline.inline import InlineDispatcher
from app.pipeline.requests import status, submit
from app.pipeline.stages import Pipeline
from tests.conftest import services_on
from tests.fixtures.upstream import fixture_module, upstream_of

MODULE = "depot.test/pkgreq/m"
PACKAGE = f"{MODULE}/sub"


@pytest.fixture
def package_services(services, tmp_path: Path):  # type: ignore[no-untyped-def]
    mod = fixture_module(MODULE, "v1.0.0")
    mod.files["sub/sub.go"] = b"package sub\n\nconst Name = \"sub\"\n"
    return services_on(services, upstream_of(tmp_path / "pkg-upstream", [mod]))


def ask(services, path: str, query: str) -> dict:  # type: ignore[no-untyped-def]
    dispatcher = InlineDispatcher(services)
    done = submit(services, dispatcher, path, query, RequestSource.api)
    dispatcher.drain(Pipeline(services, dispatcher))
    return status(services, done.request_id)


@pytest.mark.parametrize("query", ["latest", "v1.0.0"])
def test_a_package_path_requests_its_module_instead(package_services, query):
    asked = ask(package_services, PACKAGE, query)
    assert asked["state"] == "rejected"
    assert asked["reason"].startswith(f"{PACKAGE} is a package in module {MODULE}, not a "
                                      f"module: requested {MODULE}@v1.0.0 instead (request ")
    instead = int(asked["reason"].rsplit("request ", 1)[1].rstrip(")"))
    module = status(package_services, instead)
    assert (module["module"], module["version"], module["state"]) == (MODULE, "v1.0.0",
                                                                       "published")


def test_a_path_that_is_nothing_upstream_is_refused_with_the_reason(package_services):
    asked = ask(package_services, "depot.test/pkgreq/nothing", "latest")
    assert asked["state"] == "rejected"
    assert "depot.test/pkgreq/nothing" in asked["reason"]
    assert "package in module" not in asked["reason"]
