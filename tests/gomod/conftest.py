"""Fixtures for the gomod tests: locating the go binary and running it hermetically."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.config import ConfigError
from tests.fixtures.sumdb import find_go
from tests.skips import skip_or_fail


@pytest.fixture(scope="session")
def go_bin() -> str:
    try:
        return find_go()
    except ConfigError:
        skip_or_fail("no go binary (set DEPOT_GO)")


@dataclass
class GoRunner:
    """Runs go with an isolated HOME, caches and module cache, never the network."""

    go: str
    root: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root / "home"),
            "GOTOOLCHAIN": "local",
            "GOENV": "off",
            "GOWORK": "off",
            "GOFLAGS": "-mod=mod -modcacherw",
            "GOSUMDB": "off",
            "GOPROXY": "off",
            "GOMODCACHE": str(self.root / "modcache"),
            "GOCACHE": str(self.root / "gocache"),
            "GOPATH": str(self.root / "gopath"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": str(self.root / "gitconfig"),
            "GIT_TERMINAL_PROMPT": "0",
        }
        env.update(extra)
        return env

    def run(self, *args: str, cwd: Path | None = None, **extra: str) -> str:
        work = cwd or self.root / "work"
        work.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [self.go, *args],
            cwd=work,
            env=self.env(**extra),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if proc.returncode != 0:
            raise AssertionError(f"go {' '.join(args)} failed:\n{proc.stderr}")
        return proc.stdout

    def download(self, *mods: str, **extra: str) -> list[dict]:
        """`go mod download -json` for each module@version; returns the JSON objects."""
        out = self.run("mod", "download", "-json", *mods, **extra)
        dec = json.JSONDecoder()
        docs, i = [], 0
        while i < len(out):
            if out[i].isspace():
                i += 1
                continue
            doc, i = dec.raw_decode(out, i)
            docs.append(doc)
        return docs


@pytest.fixture(scope="session")
def go_runner(go_bin: str, tmp_path_factory: pytest.TempPathFactory) -> GoRunner:
    root = tmp_path_factory.mktemp("gorun")
    (root / "home").mkdir()
    (root / "gitconfig").write_text("")
    return GoRunner(go_bin, root)


@dataclass
class ProxyModule:
    """A module version laid out in a file:// GOPROXY tree and fetched by go."""

    path: str
    version: str
    files: dict[str, bytes]
    gomod: bytes
    zip_path: Path  # the zip we wrote into the proxy tree
    info: dict  # `go mod download -json` output for it
    ziphash: str  # content of go's .ziphash file


PROXY_MODULES: list[tuple[str, str, dict[str, bytes], bytes | None]] = [
    (
        "example.com/hello",
        "v1.0.0",
        {
            "go.mod": b"module example.com/hello\n\ngo 1.21\n",
            "hello.go": b'package hello\n\nfunc Hello() string { return "hi" }\n',
            "LICENSE": b"MIT License\n",
            "README.md": b"# hello\n",
            "sub/util.go": b"package sub\n",
            "docs/a b.txt": b"spaces are fine\n",
            "donn\u00e9es.txt": "caf\u00e9\n".encode(),
            "Zeta.txt": b"upper case sorts first\n",
        },
        None,
    ),
    (
        "example.com/Upper/v2",
        "v2.1.0-beta.1",
        {
            "go.mod": b"module example.com/Upper/v2\n\ngo 1.22\n",
            "upper.go": b"package upper\n",
            "readme.txt": b"plain readme\n",
            "COPYING": b"GPL\n",
            "LICENSE-MIT": b"MIT\n",
        },
        None,
    ),
    (
        "example.com/legacy",
        "v2.0.0+incompatible",
        {"legacy.go": b"package legacy\n", "README": b"old\n"},
        b"module example.com/legacy\n",
    ),
]


@pytest.fixture(scope="session")
def proxy_modules(go_runner: GoRunner) -> dict[str, ProxyModule]:
    """Lay out a file:// proxy, let go download every module, keep go's sums."""
    import zipfile

    from app.gomod.paths import escape_path, escape_version

    proxy = go_runner.root / "proxy"
    made: dict[str, tuple] = {}
    for path, version, files, mod in PROXY_MODULES:
        vdir = proxy / escape_path(path) / "@v"
        vdir.mkdir(parents=True, exist_ok=True)
        ev = escape_version(version)
        gomod = mod if mod is not None else files["go.mod"]
        (vdir / "list").write_text(version + "\n")
        (vdir / f"{ev}.info").write_text(json.dumps({"Version": version}))
        (vdir / f"{ev}.mod").write_bytes(gomod)
        zpath = vdir / f"{ev}.zip"
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in files.items():
                zf.writestr(f"{path}@{version}/{name}", data)
        made[path] = (version, files, gomod, zpath)
    docs = go_runner.download(
        *(f"{p}@{v[0]}" for p, v in made.items()), GOPROXY=proxy.resolve().as_uri()
    )
    out: dict[str, ProxyModule] = {}
    for doc in docs:
        assert "Error" not in doc, doc
        version, files, gomod, zpath = made[doc["Path"]]
        ziphash = Path(doc["Zip"]).with_suffix(".ziphash").read_text().strip()
        out[doc["Path"]] = ProxyModule(doc["Path"], version, files, gomod, zpath, doc, ziphash)
    assert set(out) == set(made)
    return out


@dataclass
class GitModule:
    path: str
    version: str
    zip_path: Path
    info: dict


@pytest.fixture(scope="session")
def git_module(go_runner: GoRunner) -> GitModule:
    """A module zip created by the go command itself, from a local git repository.

    A ".git" path suffix makes go skip the ?go-get=1 lookup and a git
    insteadOf rule points the https URL at a local repository, so nothing
    leaves the machine.
    """
    if shutil.which("git") is None:
        skip_or_fail("git not installed")
    repo = go_runner.root / "repo"
    files = {
        "go.mod": "module example.com/repo.git\n\ngo 1.24\n",
        "main.go": "package repo\n",
        "LICENSE": "BSD\n",
        "README.md": "# repo\n",
        "vendor/modules.txt": "# nothing\n",
        "vendor/example.com/dep/dep.go": "package dep\n",
        "inner/go.mod": "module example.com/repo.git/inner\n",
        "inner/x.go": "package inner\n",
        "pkg/vendor.go": "package pkg\n",
    }
    for name, text in files.items():
        p = repo / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    (repo / "link.go").symlink_to("main.go")
    genv = go_runner.env(
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com",
    )
    for cmd in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "commit", "-qm", "init"],
        ["git", "tag", "v1.2.3"],
    ):
        subprocess.run(cmd, cwd=repo, env=genv, check=True, capture_output=True, timeout=60)
    (go_runner.root / "gitconfig").write_text(
        f'[url "{repo.resolve().as_uri()}"]\n\tinsteadOf = https://example.com/repo\n'
        '[protocol "file"]\n\tallow = always\n'
    )
    (doc,) = go_runner.download("example.com/repo.git@v1.2.3", GOPROXY="direct")
    assert "Error" not in doc, doc
    return GitModule("example.com/repo.git", "v1.2.3", Path(doc["Zip"]), doc)
