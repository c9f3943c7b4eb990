"""The go command's private environment, and the checksum tiles its runs share."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from app.config import Settings
from app.fetch.download import Failed, download
from app.fetch.gotool import isolated_env, private_access
from tests.fixtures.upstream import Upstream


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_runs_share_tiles_per_database_and_nothing_else(tmp_path: Path) -> None:
    tiles = tmp_path / "tiles"
    a = isolated_env(tmp_path / "a", "off", "db.test+abc+key https://one", tiles)
    isolated_env(tmp_path / "b", "off", "db.test+abc+key https://two", tiles)
    isolated_env(tmp_path / "c", "off", "other.test+def+key", tiles)
    isolated_env(tmp_path / "d", "off", "off", tiles)
    link = Path("modcache/cache/download/sumdb")
    same = (tmp_path / "a" / link).resolve()
    assert (tmp_path / "b" / link).resolve() == same, "one database, two URLs: one cache"
    assert (tmp_path / "c" / link).resolve() != same, "another database: its own cache"
    assert not (tmp_path / "d" / link).exists(), "no database, nothing shared"
    assert (tmp_path / "a" / "gopath/pkg/sumdb").resolve().parent == same.parent
    assert a["GOMODCACHE"] == str(tmp_path / "a" / "modcache"), "the module cache stays private"
    (same / "tile").mkdir()
    (same / "tile" / "0").write_text("kept")
    shutil.rmtree(tmp_path / "a")  # how a job's workdir goes
    assert (same / "tile" / "0").read_text() == "kept"


def test_a_second_download_verifies_from_the_shared_tiles(
    settings: Settings, upstream: Upstream, tmp_path: Path
) -> None:
    """With the tiles and the signed tree head of the first run, a second run in a fresh
    module cache verifies the same module without reaching the database at all."""
    mod = upstream.modules[0]
    first = download(settings, tmp_path / "first", mod.path, mod.version)
    assert not isinstance(first, Failed), first
    assert _files(settings.checksum_tiles), "the first run left its tiles to share"
    name = settings.gosumdb.split()[0]
    unreachable = replace(settings, gosumdb=f"{name} http://127.0.0.1:9")
    second = download(unreachable, tmp_path / "second", mod.path, mod.version)
    assert not isinstance(second, Failed), second
    assert second.zip_h1 == first.zip_h1
    alone = replace(unreachable, data_dir=tmp_path / "other-data")
    third = download(alone, tmp_path / "third", mod.path, mod.version)
    assert isinstance(third, Failed), "without the shared tiles the database must be read"
    assert "127.0.0.1:9" in str(third.error), third.error


def test_private_paths_go_direct_with_the_mounted_credentials(
    settings: Settings, tmp_path: Path
) -> None:
    netrc = tmp_path / "secret" / "netrc"
    netrc.parent.mkdir()
    netrc.write_text("machine corp.example login bot password pw\n")
    gitconfig = tmp_path / "secret" / "gitconfig"
    gitconfig.write_text("[credential]\n\thelper = store\n")
    private = replace(settings, private="corp.example,*.corp.dev", private_insecure="corp.dev",
                      private_netrc=str(netrc), private_gitconfig=str(gitconfig))

    fetching = isolated_env(tmp_path / "f", "https://proxy.test", "sum.test",
                            private=private_access(private))
    assert fetching["GOPRIVATE"] == fetching["GONOPROXY"] == fetching["GONOSUMDB"] == \
        "corp.example,*.corp.dev"
    assert fetching["GOINSECURE"] == "corp.dev"
    assert fetching["GIT_CONFIG_GLOBAL"] == str(gitconfig)
    link = Path(fetching["HOME"]) / ".netrc"
    assert link.is_symlink() and link.resolve() == netrc  # linked, never copied

    # The validator consumes Depot's own view: private paths come from it, unchecked in
    # the public checksum database, and no credentials are handed to it.
    consuming = isolated_env(tmp_path / "c", "http://depot.test", "sum.test",
                             private=private_access(private, direct=False))
    assert consuming["GONOSUMDB"] == "corp.example,*.corp.dev"
    assert consuming["GOPRIVATE"] == consuming["GONOPROXY"] == consuming["GOINSECURE"] == ""
    assert "GIT_CONFIG_GLOBAL" not in consuming
    assert not (Path(consuming["HOME"]) / ".netrc").exists()

    assert private_access(settings) is None  # none configured: today's environment
    plain = isolated_env(tmp_path / "p", "https://proxy.test", "sum.test")
    assert plain["GOPRIVATE"] == plain["GONOSUMDB"] == ""
