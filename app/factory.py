"""The Flask application, built from the environment (``app.create_app`` calls it).

Apart from app/__init__.py so that importing any part of Depot (its settings, say)
does not import Flask, SQLAlchemy and Redis's client: the web server's master process
and ``serve``'s supervisor need none of them (docs/bench.md, memory).
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, Response, jsonify, request
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import Settings
from app.errors import DepotError, Unauthorized, with_auth_headers
from app.inputs import IdConverter
from app.redact import public
from app.shorten import cut
from app.wiring import EXTENSION, Depot


def build_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    from app.logs import configure_logging

    configure_logging(settings.log_format)
    # Static files are served by app/portal/assets.py: fingerprinted, gzipped, cached.
    app = Flask(__name__, template_folder="../templates", static_folder=None)
    if not settings.secret_key:
        from app.secret_key import load_or_create

        settings.secret_key = load_or_create(settings.data_dir)
    app.config["SECRET_KEY"] = settings.secret_key
    app.config.update(settings.extra)
    from htmx_flask import Htmx

    Htmx(app)  # request.htmx: htmx's request headers, read once
    # `//` inside a module path is invalid input, not something to redirect away.
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False
    # Every <int:…> of every route stops at the largest id a database holds.
    app.url_map.converters["int"] = IdConverter
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body

    services = Depot.from_settings(settings)
    app.extensions[EXTENSION] = services
    from app.goproxy.published import PublishedFiles

    published = PublishedFiles(services)
    from app.goproxy.downloads import DownloadCounter
    from app.goproxy.ziplog import ZipLog

    zip_log = settings.nginx_zip_log
    ziplog = ZipLog(Path(zip_log), services.lock_dir) if zip_log else None
    on_written = None
    if settings.search_kind != "database":  # downloads weigh in the index's ranking
        from app.goproxy.reindex import DownloadsReindexer

        on_written = DownloadsReindexer(settings)
    downloads = DownloadCounter(services.db, ziplog=ziplog, on_written=on_written)
    services.downloads = downloads
    services.published = published
    from app.goproxy.early import EarlyMods

    services.early = EarlyMods(services.store)
    from app.goproxy.ahead import AheadLoads

    services.ahead = AheadLoads(app, services)
    from app.search import open_backend

    services.search = open_backend(services)
    app.config["DEPOT_SETTINGS"] = settings

    from app.api import bp as api_bp
    from app.api import spec_bp as api_spec_bp
    from app.cli import COMMANDS
    from app.drift.cli import drift
    from app.goproxy import accel_bp, goproxy_bp, sumdb_bp
    from app.notify.cli import deploy, notify_test
    from app.ops import bp as ops_bp
    from app.portal import bp as portal_bp
    from app.portal.assets import install as install_static

    install_static(app, Path(app.root_path).parent / "static")
    app.register_blueprint(portal_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_spec_bp)
    app.register_blueprint(ops_bp)
    app.register_blueprint(sumdb_bp)
    app.register_blueprint(accel_bp)
    app.register_blueprint(goproxy_bp)
    from app.auth.cli import tokens_group

    for command in (*COMMANDS, drift, deploy, notify_test, tokens_group):
        app.cli.add_command(command)
    from app.audit import audit_commands
    from app.wiring import depot

    audit_commands(app.cli, lambda: depot().db)
    _register_error_handlers(app)
    from app.auth.gate import install as install_gate
    from app.goproxy.fastpath import FastPath
    from app.ops.observe import RequestObserver

    gate = install_gate(app, settings)  # before every other before_request
    # Flask's documented way to wrap its WSGI app; mypy refuses any assignment to a method.
    fast = FastPath(app.wsgi_app, published, settings.accel_redirect, downloads,
                    may_read=gate.trusts_to_read)
    app.wsgi_app = fast  # type: ignore[method-assign]
    from app.headers import AlwaysHeaders
    from app.ranges import SingleRangeOnly

    # Before the fast path, which leaves any Range to Flask: an ignored one is no Range.
    app.wsgi_app = SingleRangeOnly(app.wsgi_app)  # type: ignore[method-assign]
    app.wsgi_app = AlwaysHeaders(app.wsgi_app)  # type: ignore[method-assign]
    # Outermost but for ProxyFix: every request gets an id, a log line and metrics.
    app.wsgi_app = RequestObserver(app.wsgi_app)  # type: ignore[method-assign]
    from app.hits import Hits

    # Before the observer: a hit held in memory in one step, with what it would add.
    app.wsgi_app = Hits(app.wsgi_app, fast)  # type: ignore[method-assign]
    if settings.proxy_fix:
        n = settings.proxy_fix
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n, x_prefix=n
        )
    return app


def _plain(reason: str, status: int) -> Response:
    # One line: the go command prints the body of a failed proxy response.
    resp = Response(reason.splitlines()[0] + "\n" if reason else "\n", status=status)
    resp.mimetype = "text/plain"
    resp.headers["Cache-Control"] = "no-cache"
    return resp


# An error page's heading where the generic one would not say what to do.
TITLES = {401: "Sign in with a token", 403: "Not with this token"}


def _register_error_handlers(app: Flask) -> None:
    from app.portal.errors import error_page, wants_html

    log = logging.getLogger("depot.http")

    @app.errorhandler(DepotError)
    def depot_error(exc: DepotError) -> Response:
        log.info("%s %s -> %s %s", request.method, request.path[:300], exc.status,
                 cut(exc.reason, 2000))
        reason = cut(public(exc.reason))
        if wants_html():
            resp = error_page(exc.status, TITLES.get(exc.status, "Something is not right"),
                              reason)
            if isinstance(exc, Unauthorized) and app.extensions[EXTENSION].settings.oidc_issuer:
                # A person signs in on the page ("Sign in"), not in the browser's Basic
                # dialog, which would come up first (and fails a headless browser).
                return resp
        else:
            resp = _plain(reason, exc.status)
        return with_auth_headers(resp, exc)

    def unavailable(what: str, exc: Exception) -> Response:
        log.warning("%s %s -> 503 %s unavailable: %s", request.method, request.path[:300],
                    what, str(exc).strip().splitlines()[0][:300] if str(exc).strip() else exc)
        reason = f"the {what} is unavailable; try again in a moment"
        if _is_api():
            resp = _json_error(reason, 503)
        elif wants_html():
            resp = error_page(503, "Depot is not fully available", reason)
        else:
            resp = _plain(reason, 503)
        resp.headers["Retry-After"] = "10"
        return resp

    @app.errorhandler(OperationalError)
    def database_away(exc: OperationalError) -> Response:
        return unavailable("database", exc)

    @app.errorhandler(RedisError)
    def queue_away(exc: RedisError) -> Response:
        return unavailable("job queue", exc)

    @app.errorhandler(404)
    def not_found(_exc: Exception) -> Response:
        if _is_api():
            return _json_error("no such API resource; see /api/openapi.json", 404)
        if wants_html():
            return error_page(404, "Page not found",
                              "There is no page at this address. Search for a module instead?")
        return _plain("not found", 404)

    @app.errorhandler(405)
    def not_allowed(_exc: Exception) -> Response:
        if _is_api():
            return _json_error("method not allowed; see /api/openapi.json", 405)
        if wants_html():
            return error_page(405, "Not allowed", "This address does not take that method.")
        return _plain("method not allowed", 405)

    @app.errorhandler(413)
    def too_large(_exc: Exception) -> Response:
        # The route's own limit when it set one (the go.mod check takes more).
        limit = request.max_content_length or app.config["MAX_CONTENT_LENGTH"]
        reason = f"request body too large (at most {limit:,} bytes)"
        if _is_api():
            return _json_error(reason, 413)
        if wants_html():
            return error_page(413, "Too much", reason)
        return _plain(reason, 413)

    @app.errorhandler(500)
    def server_error(_exc: Exception) -> Response:
        if _is_api():
            return _json_error("internal error; it has been logged", 500)
        if wants_html():
            return error_page(500, "Something went wrong",
                              "Depot could not show this page. The error has been logged; "
                              "try again in a moment.")
        return _plain("internal server error", 500)


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _json_error(reason: str, status: int) -> Response:
    resp = jsonify({"error": cut(public(reason))})
    resp.status_code = status
    return resp
