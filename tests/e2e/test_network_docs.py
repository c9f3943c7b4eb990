"""Package documentation of real modules from the real upstream (app/pkgdoc): ingested with
their build lists, documented by the toolchain-built helper, shown by a running Depot.

Marked ``network``: they reach the toolchain's default Go module proxy (and its checksum
database), nothing else. What the helper prints for these versions was read on
2026-12-07: no package of gin v1.10.0 other than gin itself names ``gin.Context`` in a
declaration (gin's own packages do not import it, ginS names ``gin.HandlerFunc``,
``gin.IRoutes``, ``*gin.RouterGroup`` and ``gin.RoutesInfo``), so the link across packages
checked is ginS's ``gin.HandlerFunc``, whose own declaration links ``Context``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from app.config import Settings
from app.migrate import upgrade
from app.models import RequestSource
from app.pipeline.requests import status, submit
from app.resources import Services
from tests.conftest import LiveServer, start_server
from tests.pipeline.queued import AsWorkers, NoCrawl

pytestmark = [pytest.mark.network, pytest.mark.parametrize("db_backend", ["sqlite"],
                                                           indirect=True)]

COBRA, COBRA_VERSION = "github.com/spf13/cobra", "v1.8.1"
GIN, GIN_VERSION = "github.com/gin-gonic/gin", "v1.10.0"


@pytest.fixture
def depot_of(real_settings: Settings, tmp_path: Path) -> Iterator[
        tuple[Services, list[LiveServer]]]:
    """The services on the real upstream, and the server started on them (stopped after)."""
    svc = Services.from_settings(real_settings)
    upgrade(svc.db.engine)
    servers: list[LiveServer] = []
    yield svc, servers
    for server in servers:
        server.stop()
    svc.db.dispose()


def documented(svc: Services, servers: list[LiveServer], settings: Settings, tmp_path: Path,
               module: str, version: str) -> str:
    """Request module@version as the request button does and take the jobs as the workers
    take them (its build list captured, documented at publication), then start a server
    on it: its URL."""
    dispatcher = NoCrawl(svc)
    asked = submit(svc, dispatcher, module, version, RequestSource.api)
    dispatcher.drain(AsWorkers(svc, dispatcher))
    final = status(svc, asked.request_id)
    assert final is not None and final["state"] == "published", final
    servers.append(start_server(settings, tmp_path))
    return servers[-1].url


def page(url: str) -> str:
    resp = requests.get(url, headers={"Accept": "text/html"}, timeout=60)
    assert resp.status_code == 200, (url, resp.status_code, resp.text[:500])
    assert "being prepared" not in resp.text, url  # documented at publication, not later
    return resp.text


def test_cobra_command_is_documented_with_its_methods(
    depot_of: tuple[Services, list[LiveServer]], real_settings: Settings, tmp_path: Path
) -> None:
    svc, servers = depot_of
    base = documented(svc, servers, real_settings, tmp_path, COBRA, COBRA_VERSION)
    doc = page(f"{base}/{COBRA}?tab=doc")
    for anchor in ("Command", "Command.Execute", "Command.AddCommand", "Command.Flags"):
        assert f'id="{anchor}"' in doc, anchor
    # pflag is another module Depot holds (cobra's build list): linked at the version
    # cobra requires; the standard library is not linked at all.
    assert 'href="/github.com/spf13/pflag@v1.0.5?tab=doc#FlagSet"' in doc
    assert 'href="/io' not in doc and 'href="/context' not in doc
    # The same on the pinned package page; cobra/doc names *cobra.Command, linked to
    # the same version of cobra's root package.
    pinned = page(f"{base}/{COBRA}@{COBRA_VERSION}?tab=doc")
    assert 'id="Command.Execute"' in pinned
    sub = page(f"{base}/{COBRA}/doc@{COBRA_VERSION}")
    # A root package is documented on the module page's Doc tab: the link lands there.
    assert f'href="/{COBRA}@{COBRA_VERSION}?tab=doc#Command"' in sub
    assert 'id="Command"' in page(f"{base}/{COBRA}@{COBRA_VERSION}?tab=doc")
    packages = page(f"{base}/{COBRA}?tab=packages")
    assert f'href="/{COBRA}/doc"' in packages


def test_gin_types_are_linked_from_another_package(
    depot_of: tuple[Services, list[LiveServer]], real_settings: Settings, tmp_path: Path
) -> None:
    svc, servers = depot_of
    base = documented(svc, servers, real_settings, tmp_path, GIN, GIN_VERSION)
    root = page(f"{base}/{GIN}@{GIN_VERSION}?tab=doc")
    for anchor in ("Context", "Context.JSON", "HandlerFunc", "Engine.Run"):
        assert f'id="{anchor}"' in root, anchor
    # Within gin's root package a pinned page links Context to its own anchor.
    assert '<a href="#Context">Context</a>' in root
    # ginS (another package of gin's module) names gin.HandlerFunc and *gin.RouterGroup
    # in its signatures: linked to gin's root package at the same version.
    gins = page(f"{base}/{GIN}/ginS@{GIN_VERSION}")
    assert 'id="GET"' in gins
    assert (f'<a href="/{GIN}@{GIN_VERSION}?tab=doc#HandlerFunc" title="{GIN}">HandlerFunc</a>'
            in gins)
    assert f'href="/{GIN}@{GIN_VERSION}?tab=doc#RouterGroup"' in gins
    # Unpinned, the link within the module is unpinned too.
    assert f'href="/{GIN}?tab=doc#HandlerFunc"' in page(f"{base}/{GIN}/ginS")
    # The Imports tab of gin's root package links binding, a package of the same module.
    imports = page(f"{base}/{GIN}?tab=imports")
    assert f'href="/{GIN}/binding"' in imports
