"""Documentation pages rendered each time against kept (app/portal/doc_cache.py).

Why: a package's documentation is the portal's heaviest rendering (a megabyte of HTML
for the biggest packages); the per-process cache keeps renderings of 64 kB and more.
This times pages of a Depot data dir one already has (say, `make run`'s after
requesting cobra and gin) in one process with Flask's test client, so what is measured
is the application alone: ``--requests`` sequential requests after one warm-up, first
with the cache bypassed, then with every rendering kept. Stdout is Markdown for
docs/bench.md.

    .venv/bin/python bench/doc_render.py --data-dir DIR URL [URL ...]
        [--requests 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def _percentile(sorted_ms: list[float], p: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, int(len(sorted_ms) * p))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("urls", nargs="+")
    args = parser.parse_args()
    os.environ["DEPOT_DATA_DIR"] = args.data_dir
    from app import create_app
    from app.portal import doc_cache

    client = create_app().test_client()
    html = {"Accept": "text/html"}
    print("| page | HTML | rendered each time p50 / p90 | kept p50 / p90 |")
    print("|---|---:|---:|---:|")
    for url in args.urls:
        first = client.get(url, headers=html)
        if first.status_code != 200:
            print(f"{url}: {first.status_code}", file=sys.stderr)
            return 1
        cells = []
        for floor in (1 << 40, 0):  # nothing kept, then everything
            doc_cache.MIN_BYTES = floor
            doc_cache.RENDERED.clear()
            client.get(url, headers=html)
            times = []
            for _ in range(args.requests):
                began = time.perf_counter()
                client.get(url, headers=html)
                times.append((time.perf_counter() - began) * 1000)
            times.sort()
            cells.append(f"{_percentile(times, 0.5):.1f} / {_percentile(times, 0.9):.1f} ms")
        print(f"| `{url}` | {len(first.data) / 1024:.0f} kB | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
