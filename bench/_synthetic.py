"""A deterministic synthetic Go module upstream for bench/ingest.py.

Why: the ingest benchmark needs thousands of module versions that the real go
command accepts, resolves and builds, without the network and the same on
every run. Modules form a DAG (a module only requires modules made before it,
so `go` can always resolve), a few early "popular" modules are required by
many, and every go.mod is tidy: it names its whole build list, direct
requirements plus `// indirect` for the rest, as go >= 1.17 graph pruning
expects. Files are spread like small real modules: 3 to 30 files, zips of
roughly 2 to 200 KB.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.fixtures.upstream import (
    FixtureModule,
    func_name,
    module_files,
    package_name,
    semver_key,
    write_module,
)

HOST = "bench.test"
BASE_TIME = datetime(2023, 1, 1, tzinfo=UTC)
# Share of the modules every other module prefers to depend on (think x/sys, testify).
POPULAR_SHARE = 0.01
POPULAR_MIN = 5
# Chance that one requirement goes to a popular module rather than any earlier one.
POPULAR_PICK = 0.35
# Direct requirements per version: 0..5, weighted like small libraries.
DEP_WEIGHTS = (0.22, 0.22, 0.2, 0.15, 0.11, 0.10)
# Versions per module: most have one, some a handful (weights for 1..6).
VERSION_WEIGHTS = (0.62, 0.2, 0.09, 0.05, 0.025, 0.015)
# A requirement that would grow the build list past this is skipped: real small
# libraries have build lists of tens, not thousands (random DAGs grow without bound).
MAX_BUILD_LIST = 60


@dataclass
class Version:
    """One planned module version: what it requires directly and its whole build list."""

    path: str
    version: str
    index: int  # position in creation order (also the seed of its file contents)
    requires: dict[str, str] = field(default_factory=dict)  # direct, as in go.mod
    build_list: dict[str, str] = field(default_factory=dict)  # every other module selected

    @property
    def key(self) -> str:
        return f"{self.path}@{self.version}"


@dataclass
class Written:
    """What write_upstream produced, for the benchmark's report."""

    versions: list[Version]
    modules: int
    files: list[int]
    zip_bytes: list[int]
    seconds: float

    def summary(self) -> str:
        """One Markdown line with the shape of the upstream (the 'realistic' claim, checkable)."""
        deps = [len(v.requires) for v in self.versions]
        lists = [len(v.build_list) for v in self.versions]
        return (
            f"{len(self.versions):,} versions of {self.modules:,} modules; files per zip "
            f"{_spread(self.files)}; zip size {_spread([b / 1000 for b in self.zip_bytes])} KB "
            f"(total {sum(self.zip_bytes) / 1e6:,.1f} MB); direct requirements {_spread(deps)} "
            f"(mean {statistics.fmean(deps):.1f}); build list size {_spread(lists)}"
        )


def _spread(values: list[int] | list[float]) -> str:
    """min / median / p90 / max, compact."""
    ordered = sorted(values)
    if not ordered:
        return "n/a"
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]

    def fmt(x: float) -> str:
        return f"{x:.0f}" if x >= 10 or float(x).is_integer() else f"{x:.1f}"

    return (f"min {fmt(ordered[0])} / median {fmt(statistics.median(ordered))} / "
            f"p90 {fmt(p90)} / max {fmt(ordered[-1])}")


def _versions_of(rng: random.Random, count: int) -> list[str]:
    """Increasing semantic versions, starting at v0.x for some modules and v1.0.0 for others."""
    major = 0 if rng.random() < 0.3 else 1
    minor, patch = (1 if major == 0 else 0), 0
    out = []
    for _ in range(count):
        out.append(f"v{major}.{minor}.{patch}")
        if rng.random() < 0.6:
            patch += 1
        else:
            minor, patch = minor + 1, 0
    return out


def _merge(into: dict[str, str], path: str, version: str) -> None:
    """Minimal version selection: the higher version of a module wins."""
    held = into.get(path)
    if held is None or semver_key(version) > semver_key(held):
        into[path] = version


def plan(n: int, seed: int) -> list[Version]:
    """N module versions in creation order; each requires only modules created before it."""
    rng = random.Random(seed)
    versions: list[Version] = []
    by_module: list[list[Version]] = []
    popular = max(POPULAR_MIN, int(n * POPULAR_SHARE / 1.6))
    while len(versions) < n:
        k = len(by_module)
        path = f"{HOST}/m{k:05d}"
        count = min(rng.choices(range(1, len(VERSION_WEIGHTS) + 1), VERSION_WEIGHTS)[0],
                    n - len(versions))
        mine: list[Version] = []
        for version in _versions_of(rng, count):
            v = Version(path, version, len(versions))
            wanted = rng.choices(range(len(DEP_WEIGHTS)), DEP_WEIGHTS)[0] if k else 0
            if k < popular:
                wanted = min(wanted, 1)  # the popular base modules are near-leaves
            tries = 0
            while len(v.requires) < wanted and tries < 4 * wanted:
                tries += 1
                pool = min(k, popular) if k >= popular and rng.random() < POPULAR_PICK else k
                dep_module = by_module[rng.randrange(pool)]
                # Newer code tends to require the newest release of a dependency.
                dep = dep_module[-1] if rng.random() < 0.6 else rng.choice(dep_module)
                if dep.path in v.requires:
                    continue
                grown = dict(v.build_list)
                _merge(grown, dep.path, dep.version)
                for p, ver in dep.build_list.items():
                    _merge(grown, p, ver)
                if len(grown) > MAX_BUILD_LIST:
                    continue
                v.requires[dep.path] = dep.version
                v.build_list = grown
            # Tidy: a direct requirement names the version the build list selects.
            for p in v.requires:
                v.requires[p] = v.build_list[p]
            mine.append(v)
            versions.append(v)
        by_module.append(mine)
    return versions


def _filler_go(rng: random.Random, pkg: str, tag: str, size: int, part: int) -> bytes:
    """Compiling Go of about ``size`` bytes: small functions and a table of hex strings.

    Hex strings compress about 2:1, like real source with its identifiers and literals.
    Names carry the file's ``part`` number, as files of one package share a namespace.
    """
    lines = [f"package {pkg}", "", f"// Code for {tag}: generated filler of realistic size.", ""]
    used = sum(len(x) + 1 for x in lines)
    n = 0
    while used < size:
        n += 1
        a, b = rng.randrange(2, 97), rng.randrange(1, 1000)
        body = [
            f"// step{part}x{n} mixes its input with constants {a} and {b}.",
            f"func step{part}x{n}(x int) int {{",
            f"\tif x%{a} == 0 {{",
            f"\t\treturn x/{a} + {b}",
            "\t}",
            f"\treturn x*{a} - {b}",
            "}",
            "",
            f"var table{part}x{n} = [...]string{{",
        ]
        body += [f'\t"{rng.getrandbits(256):064x}",' for _ in range(rng.randrange(4, 40))]
        body += ["}", ""]
        used += sum(len(x) + 1 for x in body)
        lines += body
    return ("\n".join(lines) + "\n").encode()


def files_for(v: Version, seed: int) -> dict[str, bytes]:
    """go.mod, README, LICENSE and the root package calling its dependencies, plus filler.

    The filler (more root files, sub-packages, a test, docs) makes file counts and zip
    sizes log-normal around those of small real libraries.
    """
    rng = random.Random(f"{seed}:{v.index}")
    indirect = {p: ver for p, ver in v.build_list.items() if p not in v.requires}
    files = module_files(v.path, v.version, v.requires, indirect=indirect)
    total = int(min(30, max(3, round(rng.lognormvariate(math.log(8), 0.7)))))
    # Uncompressed bytes; the zip ends up at roughly half of this.
    budget = int(min(420_000, max(3_000, rng.lognormvariate(math.log(30_000), 1.0))))
    extra = total - len(files)
    if extra <= 0:
        return files
    pkg = package_name(v.path)
    share = max(200, budget // extra)
    kinds = ["root", "sub", "doc", "test"]
    for i in range(extra):
        kind = rng.choices(kinds, (0.45, 0.35, 0.1, 0.1))[0]
        if kind == "root":
            files[f"{pkg}_part{i}.go"] = _filler_go(rng, pkg, v.key, share, i)
        elif kind == "sub":
            sub = f"sub{i % 3}"
            files[f"internal/{sub}/{sub}_{i}.go"] = _filler_go(rng, sub, v.key, share, i)
        elif kind == "doc":
            words = " ".join(f"{rng.getrandbits(48):012x}" for _ in range(share // 13))
            files[f"docs/notes{i}.md"] = f"# Notes {i}\n\n{words}\n".encode()
        else:
            files[f"{pkg}_{i}_test.go"] = (
                f'package {pkg}\n\nimport "testing"\n\nfunc TestCall{i}(t *testing.T) {{\n'
                f'\tif {func_name(v.path)}() == "" {{\n\t\tt.Fatal("empty")\n\t}}\n}}\n'
            ).encode()
    return files


def write_upstream(
    root: Path, n: int, seed: int, progress: Callable[[str], None] | None = None
) -> Written:
    """Plan N versions and write them as a GOPROXY tree under root (protocol files only)."""
    import time

    began = time.monotonic()
    versions = plan(n, seed)
    root.mkdir(parents=True, exist_ok=True)
    files, sizes = [], []
    for i, v in enumerate(versions):
        content = files_for(v, seed)
        mod = FixtureModule(v.path, v.version, content, BASE_TIME + timedelta(hours=v.index))
        write_module(root, mod)
        files.append(len(content))
        sizes.append((root / v.path / "@v" / f"{v.version}.zip").stat().st_size)
        if progress and (i + 1) % 1000 == 0:
            progress(f"  wrote {i + 1:,}/{n:,} versions")
    modules = len({v.path for v in versions})
    return Written(versions, modules, files, sizes, time.monotonic() - began)
