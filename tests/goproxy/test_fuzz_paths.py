"""Property tests: no URL a client can send makes the GOPROXY routes answer 5xx."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config import Settings
from tests.conftest import make_app

SEGMENT_ALPHABET = st.sampled_from(
    list("abcXYZ019-._~!@+%/\\ \t\x00\x7fé€") + ["..", "//", "@v", "@latest", "!!"]
)
segment = st.lists(SEGMENT_ALPHABET, min_size=0, max_size=12).map("".join)
tails = st.sampled_from(
    ["/@v/list", "/@latest", "/@v/v1.0.0.info", "/@v/v1.0.0.mod", "/@v/v1.0.0.zip", "", "/@v/"]
)
versions = st.one_of(
    st.sampled_from(["v1.0.0", "v1.0", "V1.0.0", "v1.0.0+incompatible", "v0.0.0-2024-abc",
                     "v1.0.0-!r!c.1", "v1.0.0-RC.1", "", "..", "v1.0.0\x00"]),
    segment,
)
exts = st.sampled_from([".info", ".mod", ".zip", ".exe", "", ".info/x"])


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory, upstream):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("fuzz")
    settings_ = Settings.from_env({
        "DEPOT_DATA_DIR": str(tmp / "data"),
        "DEPOT_UPSTREAM": upstream.url,
        "DEPOT_GOSUMDB": "off",
        "DEPOT_ON_MISS": "404",
    })
    return make_app(settings_)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(module=segment, tail=tails)
def test_random_module_paths_never_5xx(fuzz_app, module: str, tail: str) -> None:
    resp = fuzz_app.test_client().get("/depot.test/" + quote(module, safe="/!@~") + tail)
    assert resp.status_code < 500, resp.data


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(version=versions, ext=exts)
def test_random_versions_never_5xx(fuzz_app, version: str, ext: str) -> None:
    resp = fuzz_app.test_client().get(
        "/depot.test/chain/a/@v/" + quote(version, safe="!+~") + ext
    )
    assert resp.status_code < 500, resp.data
    assert resp.status_code in (200, 400, 404, 410), resp.status_code


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.text(max_size=60))
def test_arbitrary_text_paths_never_5xx(fuzz_app, raw: str) -> None:
    for prefix in ("/", "/sumdb/"):
        path = prefix + quote(raw, safe="/")
        # The test client reads "//host…" as a network-path URL; send such paths as PATH_INFO.
        wsgi_path = (prefix + raw).encode().decode("latin-1")
        resp = (fuzz_app.test_client().get("/", environ_overrides={"PATH_INFO": wsgi_path})
                if path.startswith("//") else fuzz_app.test_client().get(path))
        if re.sub("/+", "/", path).rstrip("/") == "/readyz":  # "//readyz" routes there
            # The readiness probe's 503 is its answer (this app has no Redis), not a fault;
            # hypothesis draws the app's own string constants, so it finds the route.
            assert resp.status_code in (200, 503) and b'"status"' in resp.data, resp.data
            continue
        assert resp.status_code < 500, (raw, resp.data)
