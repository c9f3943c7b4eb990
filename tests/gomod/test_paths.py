"""Table tests for module/import/file path rules and the case-encoding."""

from __future__ import annotations

import pytest

from app.gomod.errors import GoModError, InvalidPath, InvalidVersion, NotAProxyPath
from app.gomod.paths import (
    MAX_PATH_LEN,
    check_file_path,
    check_import_path,
    check_module_path,
    escape_path,
    escape_version,
    module_name,
    parse_proxy_path,
    split_path_version,
    unescape_path,
    unescape_version,
)

GOOD_MODULE_PATHS = [
    "example.com",
    "example.com/m",
    "github.com/user/repo",
    "github.com/BurntSushi/toml",
    "example.com/a_b/c~d/e-f/g.h",
    "example.com/-dash",
    "example.com/foo~",
    "example.com/foo~a1",
    "example.com/m/v2",
    "example.com/m/v10",
    "example.com/m/v",
    "example.com/m/v2x",
    "example.com/v2/m",
    "gopkg.in/yaml.v2",
    "gopkg.in/yaml.v1",
    "gopkg.in/yaml.v0",
    "gopkg.in/yaml.v3-unstable",
    "gopkg.in/user/pkg.v3",
    "1.2.3.4/m",
    "x-y.z/M_N",
]

BAD_MODULE_PATHS = [
    ("", "empty string"),
    ("/example.com/m", "empty path element"),
    ("example.com/m/", "trailing slash"),
    ("example.com//m", "double slash"),
    ("example/m", "missing dot in first path element"),
    ("example", "missing dot in first path element"),
    ("Example.com/m", 'invalid char "E" in first path element'),
    ("exa_mple.com/m", 'invalid char "_" in first path element'),
    ("ex~ample.com/m", "in first path element"),
    ("example.com:8080/m", 'invalid char ":"'),
    ("-example.com/m", "leading dash"),
    (".example.com/m", "leading dot in path element"),
    ("example.com/./m", 'invalid path element "."'),
    ("example.com/../m", 'invalid path element ".."'),
    ("example.com/.hidden", "leading dot in path element"),
    ("example.com/m.", "trailing dot in path element"),
    ("example.com/m n", 'invalid char " "'),
    ("example.com/m+x", 'invalid char "+"'),
    ("example.com/caf\u00e9", "invalid char"),
    ("example.com/m\x00", 'invalid char "\\u0000"'),
    ("example.com/m\n", 'invalid char "\\n"'),
    ("example.com\\m", "invalid char"),
    ("example.com/con", "disallowed as path element component on Windows"),
    ("example.com/COM1.txt", "on Windows"),
    ("example.com/Aux.x.y", "on Windows"),
    ("example.com/lpt9", "on Windows"),
    ("example.com/foo~1", "trailing tilde and digits in path element"),
    ("example.com/foo~12.bar", "trailing tilde and digits"),
    ("example.com/m/v1", "invalid version"),
    ("example.com/m/v0", "invalid version"),
    ("example.com/m/v02", "invalid version"),
    ("example.com/m/v2.0", "invalid version"),
    ("example.com/m/v1.2.3", "invalid version"),
    ("gopkg.in/yaml", "invalid version"),
    ("gopkg.in/yaml.v01", "invalid version"),
    ("gopkg.in/yaml.v", "invalid version"),
    ("example.com/\ud800", "invalid UTF-8"),
    ("example.com/" + "a" * MAX_PATH_LEN, "too long"),
]


@pytest.mark.parametrize("path", GOOD_MODULE_PATHS)
def test_good_module_paths(path: str) -> None:
    check_module_path(path)
    check_import_path(path)


@pytest.mark.parametrize(("path", "reason"), BAD_MODULE_PATHS)
def test_bad_module_paths(path: str, reason: str) -> None:
    with pytest.raises(InvalidPath) as ei:
        check_module_path(path)
    msg = str(ei.value)
    assert msg.startswith("malformed module path ")
    assert reason in msg
    assert "\n" not in msg
    assert isinstance(ei.value, GoModError) and isinstance(ei.value, ValueError)


def test_module_path_length_limit() -> None:
    ok = "example.com/" + "a" * (MAX_PATH_LEN - len("example.com/"))
    assert len(ok) == MAX_PATH_LEN
    check_module_path(ok)
    with pytest.raises(InvalidPath, match="too long"):
        check_module_path(ok + "a")


def test_non_string_path() -> None:
    with pytest.raises(InvalidPath, match="not a string"):
        check_module_path(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("fmt", True),
        ("net/http", True),
        ("example.com/m+x", True),
        ("example.com/.x", True),  # leading dots are only a module path rule
        ("a/b~1", False),
        ("-x", False),
        ("a/b.", False),
        ("a b", False),
        ("a/con", False),
        ("", False),
    ],
)
def test_import_paths(path: str, ok: bool) -> None:
    if ok:
        check_import_path(path)
    else:
        with pytest.raises(InvalidPath, match="malformed import path"):
            check_import_path(path)


@pytest.mark.parametrize(
    "path",
    [
        "a b.txt",
        "-x.go",
        ".gitignore",
        "x/.hidden/y",
        "caf\u00e9.go",
        "\u65e5\u672c\u8a9e.go",
        "x/y~1",
        "!#$%&()+,-.=@[]^_{}~.txt",
        "Makefile",
        "a/b/c/d.go",
    ],
)
def test_good_file_paths(path: str) -> None:
    check_file_path(path)


@pytest.mark.parametrize(
    "path",
    [
        "",
        ".",
        "..",
        "...",
        "a/../b",
        "a/",
        "/a",
        "a//b",
        "a:b",
        "a\\b",
        "a*b",
        "a?b",
        'a"b',
        "a<b",
        "a|b",
        "a\x7fb",
        "a\tb",
        "emoji\U0001f600.go",
        "con.txt",
        "a/CON",
        "b.",
        "x/\udcff",
    ],
)
def test_bad_file_paths(path: str) -> None:
    with pytest.raises(InvalidPath, match="malformed file path"):
        check_file_path(path)


@pytest.mark.parametrize(
    ("path", "escaped"),
    [
        ("github.com/BurntSushi/toml", "github.com/!burnt!sushi/toml"),
        ("example.com/m", "example.com/m"),
        ("example.com/ABC/v2", "example.com/!a!b!c/v2"),
        ("gopkg.in/Yaml.v2", "gopkg.in/!yaml.v2"),
    ],
)
def test_escape_path(path: str, escaped: str) -> None:
    assert escape_path(path) == escaped
    assert unescape_path(escaped) == path


def test_escape_path_rejects_invalid() -> None:
    with pytest.raises(InvalidPath):
        escape_path("example.com/m/v1")


@pytest.mark.parametrize(
    ("escaped", "reason"),
    [
        ("github.com/BurntSushi/toml", "upper-case letter \"B\" must be written as '!b'"),
        ("github.com/!Burnt/toml", "'!' must be followed by a lower-case letter"),
        ("example.com/m!", "trailing '!'"),
        ("example.com/!!a", "'!' must be followed"),
        ("example.com/!1", "'!' must be followed"),
        ("example.com/!/x", "'!' must be followed"),
        ("example.com/caf\u00e9", "non-ASCII"),
        ("notapath", "missing dot"),
        ("example.com/m/v1", "invalid version"),
        ("example.com/!m/v1", "invalid version"),
        ("", "empty string"),
    ],
)
def test_unescape_path_strict(escaped: str, reason: str) -> None:
    with pytest.raises(InvalidPath, match="invalid escaped module path") as ei:
        unescape_path(escaped)
    assert reason in str(ei.value)


@pytest.mark.parametrize(
    ("v", "escaped"),
    [
        ("v1.0.0", "v1.0.0"),
        ("v1.0.0-RC1", "v1.0.0-!r!c1"),
        ("master", "master"),
        ("Feature_Branch", "!feature_!branch"),
        ("v2.0.0+incompatible", "v2.0.0+incompatible"),
    ],
)
def test_escape_version(v: str, escaped: str) -> None:
    assert escape_version(v) == escaped
    assert unescape_version(escaped) == v


@pytest.mark.parametrize(
    "v", ["", "v1!", "a/b", "..", "v1.0.", "con", "v1\t0", "a:b", "caf\u00e9", "\u00c0"]
)
def test_escape_version_rejects(v: str) -> None:
    with pytest.raises(InvalidVersion):
        escape_version(v)


@pytest.mark.parametrize("s", ["v1.0.0-RC1", "v!1", "v1!", "", "v1.0.", "a/b", "!!"])
def test_unescape_version_rejects(s: str) -> None:
    with pytest.raises(InvalidVersion, match="invalid escaped version"):
        unescape_version(s)


@pytest.mark.parametrize(
    ("path", "prefix", "major"),
    [
        ("example.com/m", "example.com/m", ""),
        ("example.com/m/v2", "example.com/m", "/v2"),
        ("example.com/m/v123", "example.com/m", "/v123"),
        ("example.com/m/v", "example.com/m/v", ""),
        ("example.com/v2", "example.com", "/v2"),
        ("example.com/m/v2x", "example.com/m/v2x", ""),
        ("gopkg.in/yaml.v2", "gopkg.in/yaml", ".v2"),
        ("gopkg.in/yaml.v0", "gopkg.in/yaml", ".v0"),
        ("gopkg.in/user/pkg.v3-unstable", "gopkg.in/user/pkg", ".v3-unstable"),
    ],
)
def test_split_path_version(path: str, prefix: str, major: str) -> None:
    assert split_path_version(path) == (prefix, major)


@pytest.mark.parametrize(
    "path", ["example.com/m/v1", "example.com/m/v0", "example.com/m/v1.2", "gopkg.in/yaml"]
)
def test_split_path_version_malformed(path: str) -> None:
    with pytest.raises(InvalidPath, match="invalid version"):
        split_path_version(path)


@pytest.mark.parametrize(
    ("path", "name"),
    [("github.com/google/uuid", "uuid"), ("gopkg.in/yaml.v3", "yaml"),
     ("gopkg.in/yaml.v3-unstable", "yaml"), ("github.com/jackc/pgx/v5", "pgx"),
     ("example.com", "example.com"), ("github.com/x/y/v1", "v1"), ("gopkg.in/bad", "bad")],
)
def test_module_name_drops_the_major_version(path: str, name: str):
    assert module_name(path) == name


@pytest.mark.parametrize(
    ("url_path", "parts"),
    [
        ("/github.com/!burnt!sushi/toml/@v/list", ("github.com/BurntSushi/toml", "", "list")),
        ("github.com/!burnt!sushi/toml/@latest", ("github.com/BurntSushi/toml", "", "latest")),
        ("/example.com/m/@v/v1.0.0-!r!c.1.zip", ("example.com/m", "v1.0.0-RC.1", "zip")),
        ("/example.com/m/@v/v1.2.3.info", ("example.com/m", "v1.2.3", "info")),
        ("/example.com/m/@v/master.mod", ("example.com/m", "master", "mod")),
    ],
)
def test_parse_proxy_path(url_path: str, parts: tuple[str, str, str]) -> None:
    assert parse_proxy_path(url_path) == parts


@pytest.mark.parametrize(
    ("url_path", "error"),
    [
        ("/", NotAProxyPath),
        ("/search", NotAProxyPath),
        ("/example.com/m/@v/v1.0.0", NotAProxyPath),  # no kind
        ("/example.com/m/@v/v1.0.0.exe", NotAProxyPath),
        ("/example.com/m/@v/x/v1.0.0.info", NotAProxyPath),  # a folder after @v/
        ("/example.com/m/@v/@latest", InvalidPath),  # @latest of "example.com/m/@v"
        ("/example.com/m/@v/list/extra", NotAProxyPath),
        ("/github.com/BurntSushi/toml/@v/list", InvalidPath),  # not case-encoded
        ("/github.com/%21burnt%21sushi/toml/@v/list", InvalidPath),  # still percent-encoded
        ("//example.com/m/@v/list", InvalidPath),
        ("/example.com/m/@v/V1.0.0.info", InvalidVersion),
        ("/example.com/m/@v/.info", InvalidVersion),
    ],
)
def test_parse_proxy_path_rejects(url_path: str, error: type[GoModError]) -> None:
    with pytest.raises(error):
        parse_proxy_path(url_path)
