"""Compare Depot's license verdicts with google/licensecheck's and pkg.go.dev's rule.

Why: Depot's gate (app/licenses) decides whether a real module version may be
served. It uses a Python port of google/licensecheck with its own threshold and
allow-list, so on real modules it can disagree with the scanner pkg.go.dev runs
(github.com/google/licensecheck, the version pkgsite pins) and with pkgsite's
redistributable rule. This script downloads each module version of a list with
the real go command, finds the module-root license files the way Depot's
pipeline does (app.gomod.zipcheck), and compares, per file, Depot's ``classify``
ids with licensecheck's, and per version Depot's ``evaluate`` verdict with
pkgsite's rule applied to licensecheck's findings. Every disagreement is listed.

pkgsite's rule, as its internal/licenses/licenses.go states it (read from
golang.org/x/pkgsite's source, downloaded like any module): a file whose
licensecheck coverage is below 75 % is UNKNOWN; a module is redistributable when
its root license files name at least one license and every type found is on its
redistributable list (a few "ignorable" types, such as OFL-1.1, are skipped). It
is applied to plain licensecheck and to licensecheck with pkgsite's own extra
patterns (internal/licenses/exceptions/*.lre), which is what pkg.go.dev decides.

    .venv/bin/python bench/licenses.py [--list FILE] [--jobs 4] [--json OUT]

The list defaults to bench/corpus.txt when it exists, else bench/licenses.txt.
Downloads and the helper binary live under ~/.cache/depot-bench (a second run
downloads nothing). Markdown goes to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.config import find_go
from app.gomod import zipcheck
from app.licenses import REDISTRIBUTABLE, classify, evaluate
from app.licenses.detect import GRANTS, MIN_COVERAGE, canonical_id, family
from app.licenses.policy import is_allowed

REPO = Path(__file__).resolve().parent.parent
CACHE = Path.home() / ".cache" / "depot-bench"
HELPER_SRC = REPO / "bench" / "licensecheck"
HELPER_BIN = CACHE / "bin" / "licensecheck-json"

# pkgsite's own source, from the Go module proxy: its redistributable list, file
# names, threshold and extra patterns are read from there, not copied here.
PKGSITE_MODULE = "golang.org/x/pkgsite"
PKGSITE_VERSION = "v0.6.0"  # pins github.com/google/licensecheck v0.3.1, as go.mod here


@dataclass(frozen=True)
class PkgsiteRule:
    """What pkgsite's internal/licenses/licenses.go says, read from its source."""

    coverage: float
    redistributable: frozenset[str]
    ignorable: frozenset[str]
    file_names: frozenset[str]  # lower case
    exceptions: Path  # internal/licenses/exceptions (*.lre)

    def types(self, ids: list[str], coverage: float) -> list[str]:
        """The types pkgsite records for one file (UNKNOWN below its threshold)."""
        return ids if ids and coverage >= self.coverage else ["UNKNOWN"]

    def redistributable_types(self, types: Iterable[str]) -> bool:
        """pkgsite's Redistributable: every relevant type listed, at least one seen."""
        seen = False
        for t in types:
            if t in self.ignorable:
                continue
            if t not in self.redistributable:
                return False
            seen = True
        return seen


def _go_block(source: str, opener: str) -> list[str]:
    """The quoted strings of the Go literal that starts at ``opener`` (a var name)."""
    at = source.index(opener)
    body = source[at: source.index("\n\t}", at)]
    body = re.sub(r"//[^\n]*", "", body)
    return re.findall(r'"([^"]+)"', body)


def read_pkgsite_rule(root: Path) -> PkgsiteRule:
    """Parse pkgsite's licenses.go (its lists are plain literals) into a rule."""
    src = (root / "internal" / "licenses" / "licenses.go").read_text()
    threshold = re.search(r"coverageThreshold\s*=\s*(\d+)", src)
    if threshold is None:
        raise SystemExit("pkgsite's licenses.go has no coverageThreshold")
    standard = _go_block(src, "standardRedistributableLicenseTypes = []string{")
    extra = re.findall(r'redistributableLicenseTypes\["([^"]+)"\] = true', src)
    ignorable = _go_block(src, "ignorableLicenseTypes = map[string]bool{")
    names = _go_block(src, "FileNames = []string{")
    return PkgsiteRule(
        coverage=float(threshold.group(1)),
        redistributable=frozenset(standard + extra),
        ignorable=frozenset(ignorable),
        file_names=frozenset(n.lower() for n in names),
        exceptions=root / "internal" / "licenses" / "exceptions",
    )


def say(message: str) -> None:
    """Progress on stderr, so stdout stays pasteable Markdown."""
    print(f"[licenses] {message}", file=sys.stderr, flush=True)


@dataclass
class FileResult:
    """One root license file as each side sees it."""

    name: str
    in_depot: bool  # Depot's pipeline reads it (zipcheck's names)
    in_pkgsite: bool  # pkgsite reads it (its FileNames)
    depot_ids: list[str] = field(default_factory=list)
    depot_coverage: float = 0.0
    lc_ids: list[str] = field(default_factory=list)  # plain licensecheck, deduplicated
    lc_coverage: float = 0.0
    px_types: list[str] = field(default_factory=list)  # with pkgsite's exceptions
    px_coverage: float = 0.0
    agree: bool = True
    why: str = ""


@dataclass
class VersionResult:
    """One module version: its files and the three verdicts."""

    module: str
    version: str
    error: str = ""
    files: list[FileResult] = field(default_factory=list)
    depot_ok: bool | None = None
    depot_reason: str = ""
    lc_ok: bool | None = None  # pkgsite's rule on plain licensecheck
    pkgsite_ok: bool | None = None  # pkgsite's rule with its exceptions: pkg.go.dev
    agree: bool = True
    why: str = ""


def read_list(path: Path) -> list[tuple[str, str]]:
    """``module@version`` lines; '#' comments and blanks skipped, duplicates once."""
    out: list[tuple[str, str]] = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        mod, _, ver = line.partition("@")
        if not ver:
            raise SystemExit(f"{path}: {line!r} has no @version")
        if (mod, ver) not in out:
            out.append((mod, ver))
    return out


def go_env(cache: Path) -> dict[str, str]:
    """A private module cache; the toolchain's own proxy and checksum database."""
    env = dict(os.environ)
    env.update(GOMODCACHE=str(cache / "gomodcache"), GOFLAGS="-mod=mod", GOTOOLCHAIN="local",
               GOENV="off")
    return env


def build_helper(go: str, cache: Path) -> Path:
    """Build bench/licensecheck into the cache when missing or older than its source."""
    src_time = max(p.stat().st_mtime for p in HELPER_SRC.iterdir())
    if HELPER_BIN.exists() and HELPER_BIN.stat().st_mtime >= src_time:
        return HELPER_BIN
    say("building bench/licensecheck (google/licensecheck from the Go module proxy)")
    HELPER_BIN.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([go, "build", "-o", str(HELPER_BIN), "."], cwd=HELPER_SRC,
                   env=go_env(cache), check=True)
    return HELPER_BIN


def download(go: str, cache: Path, mod: str, ver: str) -> dict[str, str]:
    """``go mod download -json`` one version; its JSON (with Error on failure)."""
    with tempfile.TemporaryDirectory(prefix="licbench-") as cwd:
        proc = subprocess.run([go, "mod", "download", "-json", f"{mod}@{ver}"], cwd=cwd,
                              env=go_env(cache), capture_output=True, text=True, timeout=900)
    try:
        info: dict[str, str] = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return {"Error": (proc.stderr.strip() or "no output").splitlines()[-1]}
    return info


def root_files(zip_path: str, mod: str, ver: str, rule: PkgsiteRule
               ) -> tuple[list[str], list[str], str]:
    """(Depot's license files, pkgsite's, Depot's zip rejection reason or '')."""
    prefix = f"{mod}@{ver}/"
    with zipfile.ZipFile(zip_path) as zf:
        names = [n[len(prefix):] for n in zf.namelist() if n.startswith(prefix)]
    pkgsite = sorted(n for n in names if "/" not in n and n.lower() in rule.file_names)
    try:
        report = zipcheck.check_zip(zip_path, mod, ver)
    except zipcheck.ZipRuleError as exc:
        return [], pkgsite, str(exc)
    return report.licenses, pkgsite, ""


def run_helper(helper: Path, paths: list[Path], extra: list[str]) -> dict[str, dict[str, Any]]:
    """The helper's findings for every path, keyed by path."""
    feed = "".join(f"{p}\n" for p in paths)
    proc = subprocess.run([str(helper), *extra], input=feed, capture_output=True, text=True,
                          check=True)
    found = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return {str(r["path"]): r for r in found}


def unique(items: Iterable[str]) -> list[str]:
    """Items once each, first appearance first."""
    return list(dict.fromkeys(items))


def families(ids: Iterable[str]) -> set[str]:
    """What a text can tell apart: GNU -only/-or-later and the bare id are one."""
    return {family(canonical_id(i)) for i in ids}


def depot_coverage(text: bytes) -> float:
    """The coverage figure ``classify`` thresholds (it returns ids only)."""
    from licenseclassifier._engine import scan

    body = text.decode("utf-8", "replace")
    return float(scan(body).percent) if body.strip() else 0.0


def explain_file(f: FileResult, rule: PkgsiteRule, known: frozenset[str]) -> str:
    """A first guess at why Depot and licensecheck named different ids."""
    if not f.in_depot:
        return "Depot does not read this file name"
    if not f.in_pkgsite:
        return "pkgsite does not read this file name"
    notes: list[str] = []
    missing = sorted(i for i in families(f.depot_ids) - families(f.lc_ids)
                     if i not in families(known))
    if missing:
        notes.append(f"licensecheck v0.3.1 has no pattern for {', '.join(missing)}")
    if not f.depot_ids and f.lc_ids and rule.coverage <= f.lc_coverage < MIN_COVERAGE:
        notes.append(f"coverage {f.lc_coverage:.1f} is between pkgsite's "
                     f"{rule.coverage:.0f} and Depot's {MIN_COVERAGE:.0f}")
    elif not missing:
        notes.append(f"coverage Depot {f.depot_coverage:.1f} / licensecheck {f.lc_coverage:.1f}")
    return "; ".join(notes)


def compare_file(f: FileResult, rule: PkgsiteRule, known: frozenset[str]) -> None:
    """Same ids (by family) from both detectors, each at its own threshold?

    Patent grants (GRANTS) are no license to either side: Depot drops them, pkgsite
    ignores them, so they are left out of the comparison.
    """
    if f.in_depot and f.in_pkgsite:
        lc = [t for t in rule.types(f.lc_ids, f.lc_coverage) if t != "UNKNOWN"
              and t not in GRANTS]
        f.agree = families(f.depot_ids) == families(lc)
    else:
        f.agree = False
    if not f.agree:
        f.why = explain_file(f, rule, known)


def explain_version(v: VersionResult, rule: PkgsiteRule) -> str:
    """Why the verdicts differ, from the files' notes, the lists and the exceptions."""
    notes = [f"{f.name}: {f.why}" for f in v.files if not f.agree and f.why]
    listed = {canonical_id(t) for t in rule.redistributable}
    for i in unique(i for f in v.files if f.in_depot for i in f.depot_ids):
        ok_depot = is_allowed(i, REDISTRIBUTABLE)
        ok_pkgsite = canonical_id(i) in listed
        if ok_depot != ok_pkgsite:
            notes.append(f"{i} is on {'Depot' if ok_depot else 'pkgsite'}'s list only")
    for f in v.files:
        if f.in_pkgsite and f.px_types != rule.types(f.lc_ids, f.lc_coverage):
            notes.append(f"{f.name}: a pkgsite exception reads it as {', '.join(f.px_types)}")
    if v.depot_reason.startswith("zip rejected"):
        notes.append(v.depot_reason)
    return "; ".join(unique(notes))


def examine(helper: Path, rule: PkgsiteRule, known: frozenset[str],
            downloads: list[tuple[str, str, dict[str, str]]]) -> list[VersionResult]:
    """Classify every root license file of every downloaded version three ways."""
    results: list[VersionResult] = []
    todo: list[tuple[VersionResult, Path, list[str], list[str]]] = []
    for mod, ver, info in downloads:
        v = VersionResult(mod, ver)
        results.append(v)
        if info.get("Error") or not info.get("Zip"):
            v.error = info.get("Error", "no zip").splitlines()[0]
            continue
        depot_names, pkgsite_names, rejected = root_files(info["Zip"], mod, ver, rule)
        if rejected:
            v.depot_reason = f"zip rejected by Depot: {rejected}"
        todo.append((v, Path(info["Dir"]), depot_names, pkgsite_names))
    paths = [d / n for _, d, a, b in todo for n in sorted(set(a) | set(b))]
    say(f"licensecheck on {len(paths)} files, plain and with pkgsite's exceptions")
    plain = run_helper(helper, paths, [])
    with_exceptions = run_helper(helper, paths, ["-lre", str(rule.exceptions)])
    say(f"Depot's classify on {len(paths)} files")
    for v, root, depot_names, pkgsite_names in todo:
        contents: dict[str, bytes] = {}
        for name in sorted(set(depot_names) | set(pkgsite_names)):
            path = root / name
            data = path.read_bytes()
            lc, px = plain[str(path)], with_exceptions[str(path)]
            f = FileResult(name, name in depot_names, name in pkgsite_names)
            f.depot_ids = [m.spdx_id for m in classify(data)]
            f.depot_coverage = round(depot_coverage(data), 1)
            f.lc_ids = unique(str(m["id"]) for m in lc["matches"])
            f.lc_coverage = round(float(lc["percent"]), 1)
            f.px_coverage = round(float(px["percent"]), 1)
            f.px_types = rule.types(unique(t for m in px["matches"] for t in m["types"]),
                                    f.px_coverage)
            compare_file(f, rule, known)
            v.files.append(f)
            if f.in_depot:
                contents[name] = data
        if not v.depot_reason:
            verdict = evaluate(contents, REDISTRIBUTABLE)
            v.depot_ok, v.depot_reason = verdict.redistributable, verdict.reason
        else:
            v.depot_ok = False
        pk = [f for f in v.files if f.in_pkgsite]
        v.lc_ok = rule.redistributable_types(
            t for f in pk for t in rule.types(f.lc_ids, f.lc_coverage))
        v.pkgsite_ok = rule.redistributable_types(t for f in pk for t in f.px_types)
        v.agree = v.depot_ok == v.lc_ok == v.pkgsite_ok
        if not v.agree:
            v.why = explain_version(v, rule)
    return results


def _ids(ids: list[str], coverage: float, threshold: float) -> str:
    shown = ", ".join(ids) if ids and coverage >= threshold else "unknown"
    return f"{shown} ({coverage:.0f} %)"


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return path.name


def _yes(ok: bool | None) -> str:
    return {True: "yes", False: "no", None: "-"}[ok]


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "-"


def report(results: list[VersionResult], list_path: Path, seconds: float) -> str:
    """The Markdown summary and the table of every disagreement."""
    done = [v for v in results if not v.error]
    files = [f for v in done for f in v.files]
    both = [f for f in files if f.in_depot and f.in_pkgsite]
    same_files = sum(f.agree for f in both)
    same_lc = sum(v.depot_ok == v.lc_ok for v in done)
    same_px = sum(v.depot_ok == v.pkgsite_ok for v in done)
    lines = [
        f"License verdicts on `{_shown(list_path)}` ({time.strftime('%Y-%m-%d')}, "
        f"{seconds:.0f} s; google/licensecheck v0.3.1, {PKGSITE_MODULE}@{PKGSITE_VERSION}):",
        "",
        "| | count | agree with Depot | rate |",
        "|---|---:|---:|---:|",
        f"| module versions listed | {len(results)} | | |",
        f"| downloaded (`go mod download`) | {len(done)} | | |",
        f"| root license files (either side's names) | {len(files)} | | |",
        f"| files both read: licensecheck's ids vs Depot's `classify` | {len(both)} | "
        f"{same_files} | {_pct(same_files, len(both))} |",
        f"| versions: pkgsite's rule on licensecheck vs Depot's `evaluate` | {len(done)} | "
        f"{same_lc} | {_pct(same_lc, len(done))} |",
        f"| versions: pkgsite's rule with its exceptions (pkg.go.dev) vs `evaluate` | "
        f"{len(done)} | {same_px} | {_pct(same_px, len(done))} |",
        f"| redistributable: Depot / licensecheck rule / with exceptions | "
        f"{sum(bool(v.depot_ok) for v in done)} / {sum(bool(v.lc_ok) for v in done)} / "
        f"{sum(bool(v.pkgsite_ok) for v in done)} | | |",
        f"| versions without a root license file (Depot's names) | "
        f"{sum(not any(f.in_depot for f in v.files) for v in done)} | | |",
        "",
    ]
    failed = [v for v in results if v.error]
    if failed:
        lines += ["Not downloaded:", ""]
        lines += [f"- `{v.module}@{v.version}`: {v.error}" for v in failed]
        lines.append("")
    lines += [
        "Disagreements (ids with coverage in brackets: Depot's at its 80 % threshold, "
        "licensecheck's and the exceptions' at pkgsite's 75 %; serve = Depot's verdict, "
        "lc = pkgsite's rule on licensecheck, pkg.go.dev = with its exceptions):",
        "",
        "| module@version | file | Depot | licensecheck | with exceptions | serve | lc "
        "| pkg.go.dev | hint |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for v in done:
        bad = [f for f in v.files if not f.agree]
        if v.agree and not bad:
            continue
        for f in bad or [None]:
            if f is None:
                cells = ["(files agree)", "", "", ""]
                hint = v.why
            else:
                cells = [
                    f"`{f.name}`" + ("" if f.in_depot else " (not read by Depot)")
                    + ("" if f.in_pkgsite else " (not read by pkgsite)"),
                    _ids(f.depot_ids, f.depot_coverage, 0.0) if f.in_depot else "-",
                    _ids(f.lc_ids, f.lc_coverage, 75.0),
                    ", ".join(f.px_types),
                ]
                hint = f.why if v.agree else (v.why or f.why)
            lines.append(f"| `{v.module}@{v.version}` | " + " | ".join(cells) + f" | "
                         f"{_yes(v.depot_ok)} | {_yes(v.lc_ok)} | {_yes(v.pkgsite_ok)} | "
                         f"{hint} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Download, classify, compare, print."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    corpus = REPO / "bench" / "corpus.txt"
    parser.add_argument("--list", type=Path,
                        default=corpus if corpus.exists() else REPO / "bench" / "licenses.txt")
    parser.add_argument("--jobs", type=int, default=4, help="downloads at once")
    parser.add_argument("--cache", type=Path, default=CACHE / "licenses")
    parser.add_argument("--json", type=Path, help="also write every result as JSON here")
    args = parser.parse_args(argv)
    started = time.monotonic()
    go = find_go()
    helper = build_helper(go, args.cache)
    known = frozenset(json.loads(subprocess.run([str(helper), "-ids"], capture_output=True,
                                                text=True, check=True).stdout))
    site = download(go, args.cache, PKGSITE_MODULE, PKGSITE_VERSION)
    if site.get("Error") or not site.get("Dir"):
        raise SystemExit(f"{PKGSITE_MODULE}@{PKGSITE_VERSION}: {site.get('Error', 'no Dir')}")
    rule = read_pkgsite_rule(Path(site["Dir"]))
    wanted = read_list(args.list)
    say(f"{len(wanted)} module versions from {args.list}; downloading with {args.jobs} at once")
    downloads: list[tuple[str, str, dict[str, str]]] = []
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [(m, v, pool.submit(download, go, args.cache, m, v)) for m, v in wanted]
        for i, (m, v, fut) in enumerate(futures, 1):
            info = fut.result()
            downloads.append((m, v, info))
            if info.get("Error"):
                say(f"{i}/{len(wanted)} {m}@{v}: {info['Error'].splitlines()[0]}")
            elif i % 25 == 0:
                say(f"{i}/{len(wanted)} downloaded")
    results = examine(helper, rule, known, downloads)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1))
    sys.stdout.write(report(results, args.list.resolve(), time.monotonic() - started))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
