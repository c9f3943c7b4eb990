"""The GOPROXY protocol at the site root, so ``GOPROXY=http://host:port`` works.

A miss is a fast 404 (410 for a version Depot refuses) with a one-line reason,
so the go command falls through to its next GOPROXY entry. Tagged files never
change and are served with strong ETags and immutable caching.
"""

from __future__ import annotations

import logging
import time
from bisect import bisect_left, insort
from collections.abc import Callable, Sequence

from flask import Blueprint, Response, current_app, redirect, request, send_file
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from werkzeug.wrappers import Response as BaseResponse
from werkzeug.wsgi import FileWrapper

from app.errors import BadRequest, Gone, NotFound, Unavailable
from app.fetch import upstream
from app.gomod import paths, versions
from app.gomod.errors import GoModError, InvalidVersion, NotAProxyPath
from app.goproxy.behind import HELD, Behind
from app.goproxy.fastpath import CHUNK
from app.goproxy.published import (
    CONTENT_TYPES,
    PROVISIONAL,
    REDIRECT_CACHE,
    ServedFile,
    file_headers,
)
from app.ingest import InvalidRequest, capture_on_miss
from app.metrics import count_goproxy
from app.models import UNCAPTURED, VOUCHABLE, Module, ModuleVersion, RequestSource, VersionState
from app.pipeline.capture import tagged_published
from app.pipeline.stages import TransientError
from app.resources import Services
from app.services.requests import request_wish
from app.store import ArtifactMissing, artifact_key
from app.wiring import depot

bp = Blueprint("goproxy", __name__)
log = logging.getLogger("depot.goproxy")

MUTABLE = 60


def requested(url_path: str) -> tuple[str, str, str]:
    """(module, version, kind) of a GOPROXY request, by paths.parse_proxy_path (the one
    decoder, shared with the bundler's private GOPROXY): a malformed name is a 400, a
    name of no GOPROXY file or a version that is not canonical a 404."""
    try:
        module, version, kind = paths.parse_proxy_path(url_path)
    except NotAProxyPath as exc:
        raise NotFound(str(exc)) from exc
    except InvalidVersion as exc:
        raise BadRequest(f"invalid version: {exc}") from exc
    except GoModError as exc:
        raise BadRequest(f"invalid module path: {exc}") from exc
    if version and not versions.is_canonical(version):
        raise NotFound(f"{version!r} is not a canonical version")
    return module, version, kind


def text(body: str, status: int = 200, max_age: int = MUTABLE) -> Response:
    resp = Response(body, status=status, mimetype="text/plain")
    resp.cache_control.public = True
    resp.cache_control.max_age = max_age
    return resp


def _state_of(module: str, version: str) -> ModuleVersion | None:
    with depot().db.session() as session:
        return session.scalar(
            select(ModuleVersion)
            .join(Module)
            .where(Module.path == module, ModuleVersion.version == version)
        )


def _fetch_on_miss(module: str, query: str, on_stored: Callable[[], None] | None = None
                   ) -> str:
    """Capture the version of a miss (single flight) and return it, now servable.

    The client is answered once the version itself is downloaded, verified, stored
    and through the license gate; its build list and validation go on in the workers.
    With ``DEPOT_ON_MISS=enqueue`` the wish is queued for the workers and the
    client gets its 404 at once; with ``404`` nothing happens.
    """
    svc = depot()
    if svc.settings.on_miss == "enqueue":
        try:
            done = request_wish(svc, svc.dispatcher, module, query, RequestSource.miss)
        except InvalidRequest as exc:
            raise NotFound(str(exc)) from exc
        except Unavailable:
            raise NotFound(f"{module}@{query}: not in Depot") from None
        raise NotFound(f"{module}@{query}: not in Depot yet; requested (request {done.request_id})")
    if svc.settings.on_miss != "fetch":
        raise NotFound(f"{module}@{query}: not in Depot")
    if upstream.paused(svc.settings):
        # Fast, so the go command moves on to its next GOPROXY entry.
        raise NotFound(f"{module}@{query}: not in Depot, and the upstream is not answering")
    HELD.miss_started()
    try:
        target = capture_on_miss(svc, module, query, Behind(), on_stored)
    except InvalidRequest as exc:
        raise NotFound(str(exc)) from exc
    except TransientError as exc:
        raise NotFound(f"{module}@{query}: not in Depot; fetching it failed: {exc}") from exc
    if target.status in ("not_found", "failed") and target.version == query == "latest":
        raise NotFound(f"{module}@latest: {target.reason or 'not found upstream'}")
    if target.status == "not_found":
        # A 403 upstream is forgotten like a 404, but the client hears which it was.
        withheld = target.reason if target.reason.startswith("the upstream withholds") else ""
        raise NotFound(f"{module}@{query}: {withheld or 'not found upstream'}")
    row = _settled(module, target.version)
    if row is None:
        raise NotFound(f"{module}@{query}: not found upstream")
    if row.state == VersionState.rejected or row.redistributable is False:
        raise Gone(f"{module}@{target.version}: refused: {row.reason}")
    if row.state not in (VersionState.published, *PROVISIONAL):
        status = row.state.value
        raise NotFound(f"{module}@{target.version}: {status}: {row.reason}".rstrip(": "))
    return target.version


# States in which another process is still capturing a version.
_BEING_CAPTURED = (VersionState.pending, VersionState.fetching, VersionState.processing)


def _settled(module: str, version: str) -> ModuleVersion | None:
    """The version's row once no process is capturing it (bounded wait): a client must
    not get a 404 for a version another worker is a second from storing. Polled often
    at first: a worker capturing the member that graph loading asks for next is
    usually done within a few hundred milliseconds."""
    limit = min(depot().settings.fetch_timeout, 120)
    deadline = time.monotonic() + limit
    delay = 0.02
    row = _state_of(module, version)
    while row is not None and row.state in _BEING_CAPTURED and time.monotonic() < deadline:
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)
        row = _state_of(module, version)
    return row


def _published(module: str, version: str, kind: str) -> tuple[dict[str, ServedFile], bool]:
    """The files of a published version (or of a member a published version vouches for:
    app/models.vouched), fetching it on a miss when allowed; and whether Depot had them
    before this request (a hit). A version held only for its go.mod (graph loading reads
    it: app/models.GraphMod), or held back by the license gate, answers its go.mod alone."""
    looked = depot().published.look(module, version)
    if looked is not None and looked.published is not None:
        return looked.published, True
    graph_mod = depot().published.graph_mod(module, version) if kind == "mod" else None
    if graph_mod is not None:
        if depot().settings.on_miss == "fetch":
            depot().ahead.help_running()
        return {"mod": graph_mod}, True
    try:
        versions.check_path_version(module, version)
    except GoModError as exc:
        raise NotFound(str(exc)) from exc
    row = looked
    if row is not None and (row.state == VersionState.rejected or row.redistributable is False):
        held = _held_mod(module, version, kind)
        if held is None:
            raise Gone(f"{module}@{version}: refused: {row.reason}")
        return held, True
    fetching = depot().settings.on_miss == "fetch"
    if row is not None and (row.state in PROVISIONAL or row.state in VOUCHABLE):
        # An earlier miss captured it (fetch mode), or a published version's clean room
        # vouched for it as a member of its build list (every mode).
        provisional = fetching and row.state in PROVISIONAL
        files = (row.provisional if provisional else None) \
            or depot().published.vouched(module, version)
        if files is not None:
            return files, True
    try:
        if kind == "mod" and fetching:
            ahead = None
            if not upstream.paused(depot().settings):
                HELD.miss_started()
                ahead = depot().ahead.mod(module, version)
            if ahead is not None:
                return {"mod": ahead}, False
            early = _early_mod(module, version)
            if early is not None:
                return {"mod": early}, False
        else:
            if kind == "info" and fetching:
                HELD.miss_started()
                early_info = depot().ahead.info(module, version)
                if early_info is not None:
                    return {"info": early_info}, False
            if kind == "zip" and fetching and (row is None or row.state in UNCAPTURED):
                HELD.miss_started()
                early_zip = depot().ahead.zip(module, version)
                if early_zip is not None:
                    return {"zip": early_zip}, False
            _fetch_on_miss(module, version)
    except Gone:
        held = _held_mod(module, version, kind)
        if held is None:
            raise
        return held, False
    looked = depot().published.look(module, version)
    files = None if looked is None else (looked.provisional if fetching else looked.published)
    if files is None:
        raise NotFound(f"{module}@{version}: not available")
    return files, False


def _early_mod(module: str, version: str) -> ServedFile | None:
    """A ``.mod`` miss in fetch mode: its go.mod as soon as the capture has stored it,
    the capture going on behind (app/goproxy/early.py); None when the capture ended
    without it (the database then says why)."""
    # Flask types current_app as the Flask class it proxies, hiding the proxy's method.
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def capture(stored: Callable[[], None]) -> None:
        with app.app_context():
            _fetch_on_miss(module, version, stored)

    return depot().early.fetch(module, version, capture)


def _held_mod(module: str, version: str, kind: str) -> dict[str, ServedFile] | None:
    """A refused version's go.mod when the license gate is why: graph loading reads it."""
    held = depot().published.held_mod(module, version) if kind == "mod" else None
    return None if held is None else {"mod": held}


def _redirect_to_store(module: str, version: str, kind: str, served: ServedFile
                       ) -> BaseResponse | None:
    """A zip in an object store, with DEPOT_S3_ZIPS=redirect: 302 to a presigned URL.

    GET only: a presigned URL is signed for GET, and a HEAD is answered here from
    what Depot knows. A conditional request whose ETag matches gets its 304 here.
    """
    if kind != "zip" or not served.remote or request.method != "GET":
        return None
    if request.if_none_match.contains(served.sha256):
        return None
    location = depot().published.zip_redirect(module, version)
    if location is None:
        return None
    resp = redirect(location, 302)
    resp.headers["Cache-Control"] = REDIRECT_CACHE
    if request.range is None or request.range.ranges[0][0] == 0:
        depot().downloads.count(module, version)
    return resp


def _serve(module: str, version: str, kind: str, served: ServedFile) -> BaseResponse:
    svc = depot()
    accel = svc.settings.accel_redirect
    moved = _redirect_to_store(module, version, kind, served)
    if moved is not None:
        return moved
    resp: BaseResponse  # werkzeug's class: what redirect and make_conditional return
    if served.body is not None:
        resp = Response(served.body, mimetype=CONTENT_TYPES[kind])
    elif kind == "zip" and accel and served.path is not None:
        resp = Response(status=200, mimetype=CONTENT_TYPES[kind])
        resp.headers["X-Accel-Redirect"] = (
            accel.rstrip("/") + "/" + artifact_key(module, version, kind)
        )
    elif served.remote and request.method == "HEAD":
        resp = Response(status=200, mimetype=CONTENT_TYPES[kind])  # no need to ask the store
        resp.content_length = served.size
    else:
        try:
            # A path lets gunicorn use sendfile; an object store hands us a stream, relayed
            # a piece at a time (never read whole).
            source = served.opened or served.path or svc.store.open(module, version, kind)
        except ArtifactMissing as exc:
            raise NotFound(f"{module}@{version}: {kind} not available") from exc
        resp = send_file(
            source, mimetype=CONTENT_TYPES[kind], download_name=f"{version}.{kind}",
            conditional=False, last_modified=None, etag=False,
        )
        if served.remote or served.opened is not None:
            resp.content_length = served.size  # a stream's size is not known to send_file
        if isinstance(resp.response, FileWrapper) and not served.remote:
            # werkzeug's own wrapper (the server offers none: granian) reads 8 KB at a
            # time: a cold gin walk's zips were 7,000 pieces through the interpreter.
            # (An object store's stream keeps its own pieces.)
            resp.response.buffer_size = CHUNK
    for name, value in file_headers(served, kind, version):
        resp.headers[name] = value
    if "X-Accel-Redirect" in resp.headers:
        resp = resp.make_conditional(request)  # the front proxy answers Range itself
    else:
        resp = resp.make_conditional(request, accept_ranges=True, complete_length=served.size)
    if kind == "zip" and request.method == "GET" and _whole_or_first_part(resp):
        depot().downloads.count(module, version)
    return resp


def _sent_bytes(resp: BaseResponse, served: ServedFile) -> int:
    """What the client receives: the front proxy sends the whole file on an accel hand-off."""
    if request.method == "HEAD":
        return 0
    if resp.status_code == 302 and served.remote:
        return served.size  # sent by the object store, on Depot's word
    if resp.status_code not in (200, 206):
        return 0
    if "X-Accel-Redirect" in resp.headers and resp.status_code == 200:
        return served.size
    return resp.content_length or 0


def _whole_or_first_part(resp: BaseResponse) -> bool:
    """A download to count: the whole zip, or the first piece of a ranged one."""
    if resp.status_code == 200:
        return True
    return resp.status_code == 206 and (resp.content_range is not None
                                        and resp.content_range.start == 0)


@bp.route("/<path:escaped>/@v/list", methods=["GET", "HEAD"])
def version_list(escaped: str) -> Response:
    module, _, _ = requested(f"{escaped}/@v/list")
    svc = depot()
    try:
        found, known = _listed(svc, module)
    except OperationalError:
        # The database is away: the store's copy of the list is what was published.
        listed = svc.store.read_list(module)
        if listed is None:
            count_goproxy("list", False)
            raise
        found, known = versions.sort_versions(set(listed)), True
    if not found and not known:
        count_goproxy("list", False)
        raise NotFound(f"{module}: no versions in Depot")
    body = "".join(f"{v}\n" for v in found)
    count_goproxy("list", True, 0 if request.method == "HEAD" else len(body))
    return _revalidatable(text(body))


def _revalidatable(resp: Response) -> Response:
    """A list or @latest answer with a strong ETag of its bytes, and a 304 to a client
    (the chart's nginx sidecar, a corporate proxy) whose copy is still the same."""
    resp.add_etag()
    resp.make_conditional(request)  # turns resp itself into the 304 when it applies
    return resp


def _listed(svc: Services, module: str) -> tuple[Sequence[str], bool]:
    """Tagged versions to list, in semver order, and whether the module is known here
    or upstream."""
    refused: set[str] = set()
    with svc.db.session() as session:
        known = session.scalar(select(Module.id).where(Module.path == module))
        if known is not None:
            refused = set(
                session.scalars(
                    select(ModuleVersion.version).where(
                        ModuleVersion.module_id == known,
                        ModuleVersion.state == VersionState.rejected,
                    )
                )
            )
    ours = tagged_published(svc, module)
    if svc.settings.on_miss != "fetch":
        return ours, known is not None
    # Like a caching proxy: offer what the upstream has; a pick is fetched on demand.
    theirs = upstream.tagged_list(svc.settings, module)
    # A module the upstream lists without a tag (gopkg.in/tomb.v2, kardianos/osext: only
    # pseudo-versions) gets an empty 200, as from the upstream: the go command then asks
    # @latest, which fetches. A 404 here would end its search for the package.
    return _joined(ours, theirs or (), refused), known is not None or theirs is not None


def _joined(ours: list[str], theirs: Sequence[str], refused: set[str]) -> Sequence[str]:
    """Both sorted lists as one, without the refused versions. The upstream's list was
    sorted once when fetched (it may hold a hundred thousand versions): Depot's few
    versions it does not name are put in their places, never sorting it again."""
    offered = [v for v in theirs if v not in refused] if refused else theirs
    missing = [v for v in ours if not _in_sorted(offered, v)]
    if not missing:
        return offered
    joined = list(offered)
    for version in missing:
        insort(joined, version, key=_order)
    return joined


def _order(version: str) -> tuple[tuple, str]:
    """versions.sort_versions' order, for bisecting the lists it sorted."""
    return versions.sort_key(version), version


def _in_sorted(listed: Sequence[str], version: str) -> bool:
    i = bisect_left(listed, _order(version), key=_order)
    return i < len(listed) and listed[i] == version


@bp.route("/<path:escaped>/@latest", methods=["GET", "HEAD"])
def latest(escaped: str) -> Response:
    module, _, _ = requested(f"{escaped}/@latest")
    svc = depot()
    # What Depot holds answers: the go command asks @latest only when a module's list has
    # no tagged version, and newer upstream versions reach it through @v/list anyway. Only
    # a module Depot has nothing of is fetched (never waiting on the upstream for the rest).
    version = versions.latest(_published_versions(svc, module))
    why = ""
    if not version and svc.settings.on_miss == "fetch":
        try:
            version = _fetch_on_miss(module, "latest")
        except NotFound as exc:
            # Say why the fetch gave nothing (tailscale.com@latest needs a newer go than
            # Depot's): "no versions" alone hid it.
            version, why = None, f"; fetching its latest: {exc.reason}"
    if not version:
        count_goproxy("latest", False)
        raise NotFound(f"{module}: no versions in Depot{why}")
    info = svc.store.read_bytes(module, version, "info")
    resp = Response(info, mimetype=CONTENT_TYPES["info"])
    resp.cache_control.public = True
    resp.cache_control.max_age = MUTABLE
    count_goproxy("latest", True, 0 if request.method == "HEAD" else len(info))
    return _revalidatable(resp)


def _published_versions(svc: Services, module: str) -> list[str]:
    try:
        with svc.db.session() as session:
            return list(session.scalars(
                select(ModuleVersion.version)
                .join(Module)
                .where(Module.path == module, ModuleVersion.state == VersionState.published)
            ))
    except OperationalError:
        listed = svc.store.read_list(module)  # the database is away: what the store says
        if listed is None:
            raise
        return listed


@bp.route("/<path:escaped>/@v/<name>", methods=["GET", "HEAD"])
def artifact(escaped: str, name: str) -> BaseResponse:
    module, version, kind = requested(f"{escaped}/@v/{name}")
    try:
        files, hit = _published(module, version, kind)
    except (NotFound, Gone):
        count_goproxy(kind, False)
        raise
    resp = _serve(module, version, kind, files[kind])
    count_goproxy(kind, hit, _sent_bytes(resp, files[kind]))
    return resp
