"""Set Me Up: this server's own URL (ProxyFix when configured), one GOPROXY chain and
GOSUMDB (app/portal/client_setup.py) in every snippet and on the home page, shells,
CI, build tools, other proxies, private modules and how to check."""

from __future__ import annotations

import html
import re
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.config import REPO_ROOT, Settings, toolchain_default
from app.portal.client_setup import (
    client_setup,
    goproxy_chain,
    gosumdb_through,
    public_upstreams,
)
from tests.conftest import GO, make_app
from tests.portal.conftest import HTML

SNIPPET = re.compile(r'<code id="([^"]+)">(.*?)</code>', re.S)
# GOPROXY as each snippet spells it: `GOPROXY=v`, `GOPROXY v`, `GOPROXY: v`, `GOPROXY = 'v'`.
GOPROXY_VALUE = re.compile(r"""GOPROXY(?:\s*[=:]\s*|\s+)["']?([a-z]+://[^\s"';]+)""")


def snippets(body: str) -> dict[str, str]:
    """Each copyable block of a page by its id, as the Copy button copies it."""
    return {id_: html.unescape(text) for id_, text in SNIPPET.findall(body)}


def page(app: Flask, path: str, base_url: str = "http://localhost") -> str:
    return app.test_client().get(path, base_url=base_url, headers=HTML).get_data(as_text=True)


def test_instructions_use_the_url_the_visitor_reached(catalog: FlaskClient):
    body = catalog.get("/set-me-up", base_url="http://depot.example:8080",
                       headers=HTML).get_data(as_text=True)
    body = html.unescape(body)  # as a reader (and the Copy button) sees it
    # The catalogue answers a miss with a 404 (DEPOT_ON_MISS=404) and its upstream is a
    # file:// tree: Depot, then direct.
    goproxy = "http://depot.example:8080,direct"
    for snippet in (f"go env -w GOPROXY={goproxy}", f"export GOPROXY={goproxy}",
                    f"set -gx GOPROXY {goproxy}", f'$env:GOPROXY = "{goproxy}"',
                    f"set GOPROXY={goproxy}", f"GOPROXY: {goproxy}", f"ENV GOPROXY={goproxy}",
                    f"GOPROXY = '{goproxy}'", f"--repo_env=GOPROXY={goproxy}",
                    "GOPRIVATE=", "GONOSUMDB=", "GOFLAGS=-mod=mod", "GOINSECURE",
                    "go env GOPROXY", "go mod download -x",
                    "404 Not Found", "410 Gone", "actions/setup-go", "variables:"):
        assert snippet in body, snippet
    assert "file://" not in body
    assert 'class="copy" data-copy-target="cmd-go-env" hidden' in body


def test_every_snippet_has_a_copy_button_and_the_one_chain(catalog: FlaskClient):
    body = catalog.get("/set-me-up", headers=HTML).get_data(as_text=True)
    blocks = snippets(body)
    for id_ in blocks:
        assert f'data-copy-target="{id_}" hidden>Copy</button>' in body, id_
    assert {"cmd-go-env", "cmd-bash", "cmd-fish", "cmd-powershell", "cmd-cmd", "ci-github",
            "ci-gitlab", "ci-jenkins", "ci-docker", "ci-bazelrc", "ci-bazel-module",
            "proxy-athens-toml", "proxy-athens-docker", "proxy-artifactory",
            "proxy-nexus"} <= set(blocks)
    values = {v for text in blocks.values() for v in GOPROXY_VALUE.findall(text)}
    # One chain everywhere, besides the example of a proxy in front (Nexus' client URL is
    # in the prose) and the optional extras the page explains.
    assert values == {"http://localhost,direct"}, values


def test_home_and_set_me_up_show_the_same_goproxy(catalog: FlaskClient):
    base = "https://depot.example/"
    home = snippets(catalog.get("/", base_url=base, headers=HTML).get_data(as_text=True))
    setup = snippets(catalog.get("/set-me-up", base_url=base, headers=HTML)
                     .get_data(as_text=True))
    shown = GOPROXY_VALUE.findall(home["home-goproxy"])
    assert shown == GOPROXY_VALUE.findall(setup["cmd-go-env"]) == ["https://depot.example,direct"]


def test_in_fetch_mode_depot_alone_is_the_chain_and_direct_is_optional(settings: Settings):
    app = make_app(replace(settings, on_miss="fetch", upstream="https://proxy.example,direct"))
    try:
        setup = snippets(page(app, "/set-me-up", "https://depot.example"))
        home = snippets(page(app, "/", "https://depot.example"))
    finally:
        app.extensions["depot"].db.dispose()
    assert home["home-goproxy"] == "go env -w GOPROXY=https://depot.example"
    assert setup["cmd-go-env"].startswith(
        "go env -w GOPROXY=https://depot.example\ngo env -w GOSUMDB=")
    assert setup["cmd-direct"] == "go env -w GOPROXY=https://depot.example,direct"
    others = {v for id_, text in setup.items() if id_ != "cmd-direct"
              for v in GOPROXY_VALUE.findall(text)}
    assert others == {"https://depot.example"}


def test_gosumdb_names_the_configured_database_through_depot(settings: Settings):
    """The fixture checksum database has its own name and key (never the public one's):
    the page shows exactly the configured first word and Depot's /sumdb/<name>."""
    key, name = settings.gosumdb.split()[0], settings.sumdb_name
    assert name and "+" in key  # a full verifier key: the go command knows no key for it
    app = make_app(settings)
    try:
        body = page(app, "/set-me-up", "https://depot.example/go")
    finally:
        app.extensions["depot"].db.dispose()
    blocks = snippets(body)
    gosumdb = f"{key} https://depot.example/go/sumdb/{name}"
    assert blocks["cmd-gosumdb"] == f'go env -w GOSUMDB="{gosumdb}"'
    assert blocks["cmd-go-env"].endswith(f'\ngo env -w GOSUMDB="{gosumdb}"')
    for id_, line in [("cmd-bash", f'export GOSUMDB="{gosumdb}"'),
                      ("cmd-fish", f'set -gx GOSUMDB "{gosumdb}"'),
                      ("cmd-powershell", f'$env:GOSUMDB = "{gosumdb}"'),
                      ("cmd-cmd", f'set "GOSUMDB={gosumdb}"'),
                      ("ci-github", f'GOSUMDB: "{gosumdb}"'),
                      ("ci-gitlab", f'GOSUMDB: "{gosumdb}"'),
                      ("ci-jenkins", f"GOSUMDB = '{gosumdb}'"),
                      ("ci-docker", f'ENV GOSUMDB="{gosumdb}"'),
                      ("proxy-athens-toml", f'"GOSUMDB={gosumdb}"'),
                      ("proxy-athens-docker", f"; GOSUMDB={gosumdb}'")]:
        assert line in blocks[id_], id_
    # Not the toolchain's own database name: the one configured.
    assert toolchain_default(GO, "GOSUMDB").split()[0] not in body


def test_without_a_checksum_database_no_gosumdb_is_offered(catalog: FlaskClient):
    body = catalog.get("/set-me-up", headers=HTML).get_data(as_text=True)
    assert "DEPOT_GOSUMDB=off" in body and "cmd-gosumdb" not in body
    assert "GOSUMDB=" not in "".join(snippets(body).values())


def test_proxies_in_front_point_their_url_fields_at_depot(catalog: FlaskClient):
    blocks = snippets(catalog.get("/set-me-up", base_url="https://depot.example",
                                  headers=HTML).get_data(as_text=True))
    assert '"url": "https://depot.example/"' in blocks["proxy-artifactory"]
    assert '"packageType": "go"' in blocks["proxy-artifactory"]
    assert '"remoteUrl": "https://depot.example/"' in blocks["proxy-nexus"]
    assert "repositories/go/proxy" in blocks["proxy-nexus"]
    assert 'DownloadMode = "sync"' in blocks["proxy-athens-toml"]
    assert "GoBinaryEnvVars = [" in blocks["proxy-athens-toml"]
    assert "ATHENS_GO_BINARY_ENV_VARS=" in blocks["proxy-athens-docker"]
    assert 'go_deps.from_file(go_mod = "//:go.mod")' in blocks["ci-bazel-module"]
    assert 'use_extension("@gazelle//:extensions.bzl", "go_deps")' in blocks["ci-bazel-module"]


def test_the_page_explains_comma_and_pipe(catalog: FlaskClient):
    body = catalog.get("/set-me-up", headers=HTML).get_data(as_text=True)
    assert "<code>a,b</code>" in body and "<code>a|b</code>" in body
    assert "http://localhost|direct" in body


@pytest.mark.parametrize("upstream, expected", [
    ("https://proxy.example,direct", ["https://proxy.example"]),
    ("https://user:secret@a.example/base/|https://b.example:8443,off", [
        "https://a.example/base", "https://b.example:8443"]),
    ("file:///srv/mirror", []),
    ("direct", []),
])
def test_public_upstreams_drop_what_clients_cannot_use(upstream: str, expected: list[str]):
    assert public_upstreams(upstream) == expected


def test_the_chain_follows_the_miss_policy(settings: Settings):
    upstream = "https://proxy.example,direct"
    for on_miss in ("404", "enqueue"):
        queued = replace(settings, on_miss=on_miss, upstream=upstream)
        assert goproxy_chain(queued, "https://depot.example") == (
            "https://depot.example", "https://proxy.example", "direct")
        assert goproxy_chain(replace(queued, upstream="https://depot.example"),
                             "https://depot.example") == ("https://depot.example", "direct")
    fetching = replace(settings, on_miss="fetch", upstream=upstream)
    assert goproxy_chain(fetching, "https://depot.example") == ("https://depot.example",)
    setup = client_setup(fetching, "https://depot.example/")
    assert setup.goproxy == "https://depot.example"
    assert setup.goproxy_with_direct == "https://depot.example,direct"


def test_gosumdb_keeps_the_configured_first_word(settings: Settings):
    named = replace(settings, gosumdb="db.example+1234abcd+AQID https://db.example/x")
    assert gosumdb_through(named, "https://depot.example") == (
        "db.example+1234abcd+AQID https://depot.example/sumdb/db.example")
    assert gosumdb_through(replace(settings, gosumdb="off"), "https://depot.example") == ""


def test_configured_upstream_appears_in_the_chain(settings: Settings):
    app = make_app(replace(settings, upstream="https://upstream.example/go,direct"))
    body = app.test_client().get("/set-me-up", headers=HTML).get_data(as_text=True)
    assert "GOPROXY=http://localhost,https://upstream.example/go,direct" in body
    app.extensions["depot"].db.dispose()


def test_forwarded_headers_are_honoured_only_when_configured(settings: Settings):
    forwarded = {**HTML, "X-Forwarded-Proto": "https", "X-Forwarded-Host": "depot.example",
                 "X-Forwarded-Prefix": "/go"}
    plain = make_app(settings)
    body = plain.test_client().get("/set-me-up", headers=forwarded).get_data(as_text=True)
    assert "GOPROXY=http://localhost,direct" in body and "depot.example" not in body
    plain.extensions["depot"].db.dispose()
    behind = make_app(replace(settings, proxy_fix=1))
    body = behind.test_client().get("/set-me-up", headers=forwarded).get_data(as_text=True)
    assert "GOPROXY=https://depot.example/go,direct" in body
    assert "https://depot.example/go/sumdb/" in body
    assert 'href="/go/search"' in body  # links follow the prefix too
    behind.extensions["depot"].db.dispose()


@pytest.mark.parametrize("doc", ["README.md", "docs/operations.md", "docs/portal.md"])
def test_docs_tell_users_the_chain_the_pages_show(settings: Settings, doc: str):
    """A `go env -w GOPROXY=` line in the docs is what the pages show for that URL with
    the default miss policy (fetch)."""
    text = (REPO_ROOT / doc).read_text()
    lines = re.findall(r"go env -w GOPROXY=([^\s`]+)", text)
    assert lines, doc
    fetching = replace(settings, on_miss="fetch")
    for value in lines:
        depot_url = value.split(",")[0].split("|")[0]
        assert value == client_setup(fetching, depot_url).goproxy, (doc, value)


def test_private_paths_are_kept_from_the_public_checksum_database(settings: Settings):
    """A Depot with DEPOT_PRIVATE serves those modules itself: every snippet that sets
    GOSUMDB also sets GONOSUMDB to the same paths, and none sends them around Depot."""
    app = make_app(replace(settings, private="corp.example/*,git.corp.dev"))
    try:
        body = page(app, "/set-me-up", "https://depot.example")
    finally:
        app.extensions["depot"].db.dispose()
    blocks = snippets(body)
    value = "corp.example/*,git.corp.dev"
    assert blocks["cmd-company-nosumdb"] == f"go env -w GONOSUMDB={value}"
    assert blocks["cmd-go-env"].endswith(f"\ngo env -w GONOSUMDB={value}")
    for id_ in ("cmd-bash", "cmd-fish", "cmd-powershell", "cmd-cmd", "ci-github",
                "ci-gitlab", "ci-jenkins", "ci-docker"):
        assert "GOSUMDB" in blocks[id_] and "GONOSUMDB" in blocks[id_], id_
        assert value in blocks[id_], id_
    assert "GOPRIVATE=corp.example" not in body
    plain = make_app(settings)
    try:
        assert "GONOSUMDB=corp" not in page(plain, "/set-me-up", "https://depot.example")
    finally:
        plain.extensions["depot"].db.dispose()
