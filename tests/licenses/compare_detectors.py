"""Compare license detectors on the labeled real license files in tests/data/licenses.

Offline: it reads only the files and labels.json. Each detector that can be
imported is run on every file; a missing one is reported as skipped, so the
script runs with just the project venv (Depot's own classify) and gives the
full table in a venv that also holds the candidates (see docs/licenses.md):

    python tests/licenses/compare_detectors.py            # summary table
    python tests/licenses/compare_detectors.py --detail   # plus one row per file

Scoring, per file, after mapping ids to their family (GPL-3.0, GPL-3.0-only and
GPL-3.0-or-later are one: a license text cannot tell them apart):
correct  the detector's set of ids equals the label ([] for "not a license");
unknown  the label names licenses and the detector gave none (safe: fail closed);
wrong    anything else (a missed, extra or different license: unsafe).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.licenses.detect import family

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "licenses"

Detect = Callable[[str], set[str]]

# askalono's own CLI calls a match confident from this score on.
ASKALONO_MIN_SCORE = 0.8
_SPDX_TOKEN = re.compile(r"[A-Za-z0-9.+-]+")
_SCANCODE_FLAGS = {
    "unknown-match",
    "imperfect-match-coverage",
    "possible-false-positive",
    "low-quality-matches",
    "extra-words",
    "unknown-intro-followed-by-match",
    "license-clues",
    "undetected-license",
    "low-relevance",
}


@dataclass
class Labeled:
    name: str
    text: str
    expected: set[str]


@dataclass
class Result:
    detector: str
    version: str
    load_seconds: float
    outcomes: dict[str, tuple[str, set[str]]] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for outcome, _ in self.outcomes.values() if outcome == kind)


def load_labeled() -> list[Labeled]:
    """The labeled files, decoded as UTF-8 the way Depot decodes them."""
    labels = json.loads((DATA / "labels.json").read_text())["files"]
    return [
        Labeled(name, (DATA / name).read_bytes().decode("utf-8", "replace"), set(entry["spdx"]))
        for name, entry in sorted(labels.items())
    ]


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


def _spdx_ids(expression: str) -> set[str]:
    """License ids of an SPDX expression, without operators, exceptions and LicenseRefs."""
    ids: set[str] = set()
    after_with = False
    for token in _SPDX_TOKEN.findall(expression):
        if token in ("AND", "OR"):
            continue
        if token == "WITH":
            after_with = True
            continue
        if not after_with and not token.startswith("LicenseRef-"):
            ids.add(token)
        after_with = False
    return ids


def depot() -> tuple[str, Detect]:
    from app.licenses import classify

    return _version("licenseclassifier"), lambda text: {m.spdx_id for m in classify(text)}


def licenseclassifier_default() -> tuple[str, Detect]:
    from licenseclassifier import identify_license

    return _version("licenseclassifier"), lambda text: {r.id for r in identify_license(text)}


def askalono() -> tuple[str, Detect]:
    import askalono as ask

    def detect(text: str) -> set[str]:
        found = ask.identify(text)
        return {found.name} if found.score >= ASKALONO_MIN_SCORE else set()

    return _version("pyaskalono"), detect


def _scancode(strict: bool) -> tuple[str, Detect]:
    from licensedcode.cache import get_index
    from licensedcode.detection import detect_licenses

    index = get_index()

    def detect(text: str) -> set[str]:
        ids: set[str] = set()
        for detection in detect_licenses(index=index, query_string=text):
            if strict and _SCANCODE_FLAGS.intersection(detection.detection_log or []):
                return set()
            ids |= _spdx_ids(detection.license_expression_spdx or "")
        return ids

    return _version("scancode-toolkit-mini") + (" strict" if strict else ""), detect


DETECTORS: dict[str, Callable[[], tuple[str, Detect]]] = {
    "depot classify (licenseclassifier, coverage >= 80)": depot,
    "licenseclassifier, its default coverage >= 75": licenseclassifier_default,
    f"askalono (pyaskalono), score >= {ASKALONO_MIN_SCORE}": askalono,
    "scancode-toolkit, every detection": lambda: _scancode(strict=False),
    "scancode-toolkit, flagged detection = unknown": lambda: _scancode(strict=True),
}


def judge(expected: set[str], found: set[str]) -> str:
    want = {family(i) for i in expected}
    got = {family(i) for i in found}
    if want == got:
        return "correct"
    if want and not got:
        return "unknown"
    return "wrong"


def run(name: str, factory: Callable[[], tuple[str, Detect]], files: list[Labeled]) -> Result:
    started = time.perf_counter()
    version, detect = factory()
    detect("warm-up: MIT License")  # first-call index loads count as load time
    result = Result(name, version, time.perf_counter() - started)
    for item in files:
        t0 = time.perf_counter()
        found = detect(item.text)
        result.seconds.append(time.perf_counter() - t0)
        result.outcomes[item.name] = (judge(item.expected, found), found)
    return result


def summary(results: list[Result], total: int) -> str:
    lines = [
        "| detector | version | correct | unknown | wrong | accuracy "
        "| ms/file (mean, max) | load s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ms = [s * 1000 for s in r.seconds]
        lines.append(
            f"| {r.detector} | {r.version} | {r.count('correct')} | {r.count('unknown')} "
            f"| {r.count('wrong')} | {100 * r.count('correct') / total:.1f}% "
            f"| {statistics.mean(ms):.1f}, {max(ms):.0f} | {r.load_seconds:.1f} |"
        )
    return "\n".join(lines)


def detail(results: list[Result], files: list[Labeled]) -> str:
    head = "| file | label | " + " | ".join(f"D{i + 1}" for i in range(len(results))) + " |"
    lines = [
        "  ".join(f"D{i + 1} = {r.detector}" for i, r in enumerate(results)),
        "",
        head,
        "|---|---|" + "---|" * len(results),
    ]
    for item in files:
        cells = []
        for r in results:
            outcome, found = r.outcomes[item.name]
            shown = ", ".join(sorted(found)) or "unknown"
            cells.append(shown if outcome == "correct" else f"**{outcome}**: {shown}")
        label = ", ".join(sorted(item.expected)) or "(none)"
        lines.append(f"| {item.name} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detail", action="store_true", help="one row per file as well")
    args = parser.parse_args(argv)
    files = load_labeled()
    results: list[Result] = []
    for name, factory in DETECTORS.items():
        try:
            results.append(run(name, factory, files))
        except ImportError as exc:
            print(f"skipped {name}: {exc}", file=sys.stderr)
    print(f"{len(files)} labeled files in {DATA.relative_to(ROOT)}\n")
    print(summary(results, len(files)))
    if args.detail:
        print()
        print(detail(results, files))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
