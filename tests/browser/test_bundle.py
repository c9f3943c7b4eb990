"""The module page's "Download offline bundle" button in a real browser: it is there
for a published version, its figures match the bundle, and clicking it downloads the
same bytes the API describes, with the headers a browser needs."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.conftest import LiveServer
from tests.fixtures.catalog import REJECTED

TOP = "depot.test/chain/a"


def test_the_button_downloads_the_bundle(page: Page, depot: LiveServer, tmp_path: Path):
    page.goto(f"{depot.url}/{TOP}@v1.1.0")
    button = page.locator("#bundle-download")
    expect(button).to_be_visible()
    expect(button).to_have_text("Download offline bundle")
    expect(page.locator(".bundle-offer")).to_contain_text(re.compile(r"3 modules, \d+ kB"))
    href = button.get_attribute("href")
    assert href == f"/api/v1/modules/{TOP}/bundle.tar.gz?version=v1.1.0"

    with page.expect_download() as waiting:
        button.click()
    download = waiting.value
    assert download.suggested_filename == "depot.test_chain_a@v1.1.0.bundle.tar.gz"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)

    about = page.request.get(f"{depot.url}/api/v1/modules/{TOP}/bundle?version=v1.1.0")
    assert about.ok
    body = about.json()
    data = saved.read_bytes()
    assert len(data) == body["size"]
    assert hashlib.sha256(data).hexdigest() == body["sha256"]
    assert data[:2] == b"\x1f\x8b"  # gzip

    direct = page.request.get(depot.url + href)
    assert direct.headers["content-type"] == "application/gzip"
    assert direct.headers["content-disposition"].startswith("attachment;")
    assert direct.headers["etag"] == f'"{body["sha256"]}"'
    assert direct.body() == data


def test_no_button_for_a_version_depot_does_not_serve(page: Page, depot: LiveServer):
    page.goto(f"{depot.url}/{REJECTED}@v1.0.0")
    expect(page.locator(".notice-state")).to_be_visible()
    expect(page.locator("#bundle-download")).to_have_count(0)
