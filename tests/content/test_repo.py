from __future__ import annotations

import pytest

from app.content.repo import is_absolute, rewrite, source_repo


@pytest.mark.parametrize("module, version, url, subdir, ref", [
    ("github.com/o/r", "v1.2.3", "https://github.com/o/r", "", "v1.2.3"),
    ("github.com/o/r/v2", "v2.0.1", "https://github.com/o/r", "", "v2.0.1"),
    ("github.com/o/r/sub", "v0.3.0", "https://github.com/o/r", "sub", "sub/v0.3.0"),
    ("github.com/o/r/sub/v3", "v3.0.0", "https://github.com/o/r", "sub", "sub/v3.0.0"),
    ("github.com/o/r", "v2.0.0+incompatible", "https://github.com/o/r", "", "v2.0.0"),
    ("github.com/o/r", "v0.0.0-20240102030405-abcdefabcdef", "https://github.com/o/r", "",
     "abcdefabcdef"),
    ("gitlab.com/g/p", "v1.0.0", "https://gitlab.com/g/p", "", "v1.0.0"),
])
def test_known_hosts(module: str, version: str, url: str, subdir: str, ref: str):
    repo = source_repo(module, version)
    assert repo is not None
    assert (repo.url, repo.subdir, repo.ref) == (url, subdir, ref)


def test_layouts_per_host():
    assert source_repo("gitlab.com/g/p", "v1.0.0").file_url("a.md") == (
        "https://gitlab.com/g/p/-/blob/v1.0.0/a.md")
    assert source_repo("bitbucket.org/t/r", "v1.0.0").file_url("a.png", raw=True) == (
        "https://bitbucket.org/t/r/raw/v1.0.0/a.png")


@pytest.mark.parametrize("module", ["depot.test/x", "golang.org/x/text", "github.com/o"])
def test_unknown_layouts_have_no_repository(module: str):
    assert source_repo(module, "v1.0.0") is None


def test_rewrite_keeps_fragments_and_absolute_urls_and_spaces_are_quoted():
    repo = source_repo("github.com/o/r", "v1.0.0")
    assert rewrite("#usage", repo, raw=False) == "#usage"
    assert rewrite("https://x.example/a", repo, raw=False) == "https://x.example/a"
    assert rewrite("img/a b.png", repo, raw=True) == "https://github.com/o/r/raw/v1.0.0/img/a%20b.png"
    assert rewrite("  ", repo, raw=False) is None


@pytest.mark.parametrize("url", ["javascript:alert(1)", "java\tscript:x", " JAVASCRIPT:x",
                                 "//evil.example/x", "data:text/html,x", "mailto:a@b.c"])
def test_scheme_detection_sees_what_a_browser_sees(url: str):
    assert is_absolute(url)  # left for the sanitizer's scheme allow-list to judge
