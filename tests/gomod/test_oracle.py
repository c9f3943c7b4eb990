"""Differential tests against the real golang.org/x/mod, as shipped with the Go toolchain.

The toolchain vendors x/mod under $GOROOT/src/cmd/vendor. The fixture copies
it into a scratch module, builds a tiny line-oriented helper around it, and
hypothesis then checks that paths.py/versions.py agree with it on generated
inputs. Skipped when no go binary (or no vendored x/mod) is available.
"""

from __future__ import annotations

import json
import shutil
import string
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.gomod import patterns
from app.gomod.errors import GoModError
from app.gomod.paths import (
    check_file_path,
    check_import_path,
    check_module_path,
    escape_path,
    escape_version,
    split_path_version,
    unescape_path,
    unescape_version,
)
from app.gomod.versions import (
    canonical,
    compare,
    is_pseudo,
    is_valid,
    major,
    pseudo_base,
    pseudo_rev,
    pseudo_time,
)
from tests.skips import skip_or_fail

HELPER = r"""
package main

import (
	"bufio"
	"encoding/json"
	"os"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

type answer struct {
	OK bool   `json:"ok"`
	S  string `json:"s"`
	S2 string `json:"s2"`
	N  int    `json:"n"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	for in.Scan() {
		var q []string
		if err := json.Unmarshal(in.Bytes(), &q); err != nil {
			panic(err)
		}
		a := q[1]
		var r answer
		var err error
		switch q[0] {
		case "path":
			r.OK = module.CheckPath(a) == nil
		case "import":
			r.OK = module.CheckImportPath(a) == nil
		case "file":
			r.OK = module.CheckFilePath(a) == nil
		case "escape":
			r.S, err = module.EscapePath(a)
			r.OK = err == nil
		case "unescape":
			r.S, err = module.UnescapePath(a)
			r.OK = err == nil
		case "escapev":
			r.S, err = module.EscapeVersion(a)
			r.OK = err == nil
		case "unescapev":
			r.S, err = module.UnescapeVersion(a)
			r.OK = err == nil
		case "split":
			r.S, r.S2, r.OK = module.SplitPathVersion(a)
		case "valid":
			r.OK = semver.IsValid(a)
		case "canonical":
			r.S = module.CanonicalVersion(a)
		case "major":
			r.S = semver.Major(a)
		case "compare":
			r.N = semver.Compare(a, q[2])
		case "pseudo":
			r.OK = module.IsPseudoVersion(a)
		case "rev":
			r.S, err = module.PseudoVersionRev(a)
			r.OK = err == nil
		case "time":
			var t time.Time
			t, err = module.PseudoVersionTime(a)
			r.S, r.OK = t.UTC().Format("2006-01-02T15:04:05"), err == nil
		case "base":
			r.S, err = module.PseudoVersionBase(a)
			r.OK = err == nil
		case "private":
			r.OK = module.MatchPrefixPatterns(a, q[2])
		}
		if err := enc.Encode(r); err != nil {
			panic(err)
		}
		out.Flush()
	}
}
"""


class Oracle:
    """A running helper process; ask() sends one query and reads one answer."""

    def __init__(self, exe: Path) -> None:
        self.proc = subprocess.Popen(
            [str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )

    def ask(self, *q: str) -> dict:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(list(q)) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


def _build_cache(go_runner) -> str:
    """The project's shared test build cache (content-addressed, safe to share).

    A cold build of the helper compiles much of the standard library (~10 s);
    reusing the cache the other Depot tests use makes later runs take ~1 s.
    """
    shared = Path.home() / ".cache" / "depot-tests" / "gocache"
    try:
        shared.mkdir(parents=True, exist_ok=True)
    except OSError:
        return str(go_runner.root / "gocache")
    return str(shared)


@pytest.fixture(scope="module")
def oracle(go_runner) -> Iterator[Oracle]:
    goroot = Path(go_runner.run("env", "GOROOT").strip())
    vendored = goroot / "src" / "cmd" / "vendor"
    src = vendored / "golang.org" / "x" / "mod"
    if not (src / "module").is_dir() or not (vendored / "modules.txt").is_file():
        skip_or_fail("toolchain has no vendored golang.org/x/mod")
    header = explicit = None
    lines = (vendored / "modules.txt").read_text().splitlines()
    for i, line in enumerate(lines[:-1]):
        if line.startswith("# golang.org/x/mod "):
            header, explicit = line, lines[i + 1]  # "## explicit; go 1.xx"
    if header is None or explicit is None or not explicit.startswith("## explicit"):
        pytest.skip("unexpected vendor/modules.txt layout")
    version = header.split()[2]
    gover = explicit.rsplit("go ", 1)[-1] if "; go " in explicit else "1.22"
    work = go_runner.root / "oracle"
    shutil.copytree(src, work / "vendor" / "golang.org" / "x" / "mod")
    (work / "go.mod").write_text(
        f"module oracle\n\ngo {gover}\n\nrequire golang.org/x/mod {version}\n"
    )
    dest = work / "vendor" / "golang.org" / "x" / "mod"
    pkgs = sorted(
        "golang.org/x/mod/" + d.relative_to(dest).as_posix()
        for d in dest.rglob("*")
        if d.is_dir() and any(f.suffix == ".go" for f in d.iterdir())
    )
    (work / "vendor" / "modules.txt").write_text("\n".join([header, explicit, *pkgs]) + "\n")
    (work / "main.go").write_text(HELPER)
    go_runner.run(
        "build",
        "-o",
        "oracle",
        ".",
        cwd=work,
        GOFLAGS="-mod=vendor",
        GOCACHE=_build_cache(go_runner),
    )
    orc = Oracle(work / "oracle")
    yield orc
    orc.close()


def _ok(fn, *args) -> tuple[bool, object]:
    try:
        return True, fn(*args)
    except GoModError:
        return False, None


DIFF = settings(
    max_examples=600,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

_path_tokens = st.sampled_from(
    [
        "example.com",
        "gopkg.in",
        "github.com",
        "a",
        "A",
        "z9",
        "/",
        "/",
        ".",
        "..",
        "-",
        "_",
        "~",
        "~1",
        "+",
        "!",
        "!a",
        " ",
        "v",
        "v1",
        "v2",
        "v0",
        "v02",
        ".v1",
        ".v2",
        ".v0",
        "-unstable",
        "con",
        "Com1",
        "aux.go",
        "\u00e9",
        "\u212a",
        ":",
        "\\",
        "\x00",
        "1.2",
    ]
)
paths = st.one_of(
    st.lists(_path_tokens, min_size=1, max_size=8).map("".join),
    st.text(alphabet=string.printable + "\u00e9\u00df", max_size=20),
)

_ver_tokens = st.sampled_from(
    [
        "v",
        "v0",
        "v1",
        "v2",
        "v10",
        "0",
        "1",
        "01",
        "9",
        ".",
        ".0",
        ".1",
        "-",
        "+",
        "pre",
        "rc.1",
        "alpha",
        "A",
        "-0.",
        "0.",
        "20191109021931",
        "20191309021931",
        "00000101000000",
        "-abcdef123456",
        "incompatible",
        "+incompatible",
        "..",
        "x-y",
        "\u00e9",
    ]
)
versions = st.one_of(
    st.lists(_ver_tokens, min_size=1, max_size=8).map("".join),
    st.text(alphabet=string.ascii_letters + string.digits + ".-+!", max_size=16),
)


@DIFF
@given(paths)
def test_paths_agree_with_x_mod(oracle: Oracle, p: str) -> None:
    assert _ok(check_module_path, p)[0] == oracle.ask("path", p)["ok"], p
    assert _ok(check_import_path, p)[0] == oracle.ask("import", p)["ok"], p
    assert _ok(check_file_path, p)[0] == oracle.ask("file", p)["ok"], p
    for ours, op in (
        (escape_path, "escape"),
        (unescape_path, "unescape"),
        (escape_version, "escapev"),
        (unescape_version, "unescapev"),
    ):
        ok, val = _ok(ours, p)
        go = oracle.ask(op, p)
        assert ok == go["ok"], (op, p)
        if ok:
            assert val == go["s"], (op, p)
    ok, val = _ok(split_path_version, p)
    go = oracle.ask("split", p)
    assert ok == go["ok"], p
    if ok:
        assert val == (go["s"], go["s2"]), p


@DIFF
@given(versions, versions)
def test_versions_agree_with_x_mod(oracle: Oracle, v: str, w: str) -> None:
    assert is_valid(v) == oracle.ask("valid", v)["ok"], v
    assert canonical(v) == oracle.ask("canonical", v)["s"], v
    assert major(v) == oracle.ask("major", v)["s"], v
    assert compare(v, w) == oracle.ask("compare", v, w)["n"], (v, w)
    assert is_pseudo(v) == oracle.ask("pseudo", v)["ok"], v
    rev = oracle.ask("rev", v)
    assert pseudo_rev(v) == (rev["s"] if rev["ok"] else ""), v
    t = oracle.ask("time", v)
    ours_t = pseudo_time(v)
    if t["ok"] and not t["s"].startswith("0000"):  # Python datetimes start at year 1
        assert ours_t is not None and ours_t.strftime("%Y-%m-%dT%H:%M:%S") == t["s"], v
    elif not t["ok"]:
        assert ours_t is None, v
    ok, base = _ok(pseudo_base, v)
    go = oracle.ask("base", v)
    assert ok == go["ok"], v
    if ok:
        assert base == go["s"], v


@pytest.mark.parametrize(
    "v",
    [
        "v0.0.0-20191109021931-daa7c04131f5",
        "v1.2.4-0.20191109021931-daa7c04131f5",
        "v1.2.3-pre.0.20191109021931-daa7c04131f5+incompatible",
        "v0.0.0-20190229000000-abc",
        "v0.0.0-20191231235960-abc",
    ],
)
def test_pseudo_examples_agree(oracle: Oracle, v: str) -> None:
    t = oracle.ask("time", v)
    ours = pseudo_time(v)
    assert (ours is not None) == t["ok"]
    if ours is not None:
        assert ours.strftime("%Y-%m-%dT%H:%M:%S") == t["s"]


# DEPOT_PRIVATE's globs (GOPRIVATE syntax) and module paths that fall on either side.
_globs = st.sampled_from([
    "corp.example", "*.corp.example", "corp.example/team-a", "corp.example/*/lib", "*",
    "c?rp.example", "[a-c]orp.example", "[^c]orp.example", "corp.example/", "git.corp.example",
    "corp.example/team-?", "*/team-a", "example", "", " corp.example", "corp.*",
])
_elements = st.sampled_from([
    "corp.example", "git.corp.example", "borp.example", "corp.example.com", "team-a",
    "team-b", "lib", "tool", "v2", "example", "corp",
])


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_globs, min_size=1, max_size=3), st.lists(_elements, min_size=1, max_size=4))
def test_private_patterns_agree_with_x_mod(oracle: Oracle, globs: list[str],
                                           elements: list[str]) -> None:
    value, module = patterns.check(",".join(globs)), "/".join(elements)
    assert " " not in value  # what the go command is given: no glob with a space kept
    assert patterns.matches(value, module) == oracle.ask("private", value, module)["ok"], (
        value, module)
