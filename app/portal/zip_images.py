"""README images served from the version's zip (``/-/zip-image?module=&version=&file=``).

A README's relative image (``assets/logo.png``) pointed at the repository host, which a
Depot inside an air-gapped network cannot reach, although Depot holds the file in the
zip. The README rendering marks such images (app/content/readme.ZIP_FILE_SCHEME) and the
page points them here. Only image types, only of versions whose contents the page shows,
at most IMAGE_MAX bytes; an SVG opened on its own runs nothing (sandboxed, no script).
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import unquote

from flask import Response, request, url_for
from markupsafe import Markup

from app.catalog.modules import version_detail
from app.content.files import read_zip_bytes
from app.content.readme import IMAGE_TYPES, ZIP_FILE_SCHEME
from app.gomod import versions
from app.gomod.errors import GoModError
from app.gomod.paths import check_module_path
from app.portal.blueprint import bp
from app.wiring import depot

IMAGE_MAX = 5 << 20
# What an image needs and no more: an SVG's own styles, nothing that runs or loads.
IMAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
_MARKED = re.compile(rf'(src|href)="{ZIP_FILE_SCHEME}:([^"]*)"')


def _plain(reason: str, status: int) -> Response:
    resp = Response(reason + "\n", status=status, mimetype="text/plain")
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.route("/-/zip-image")
def zip_image() -> Response:
    module = request.args.get("module", "")[:512]
    version = request.args.get("version", "")[:255]
    name = request.args.get("file", "")[:1024]
    try:
        check_module_path(module)
    except GoModError as exc:
        return _plain(f"not a module path: {exc}", 400)
    if not versions.is_canonical(version):
        return _plain("version must be a canonical version (such as v1.2.3)", 400)
    kind = IMAGE_TYPES.get(posixpath.splitext(name)[1].lower())
    if kind is None:
        return _plain("only images of a module's zip are served here", 404)
    with depot().db.session() as session:
        detail = version_detail(session, module, version)
        shown = detail is not None and detail.shows_contents
    if not shown:
        return _plain(f"{module}@{version} has no files Depot shows", 404)
    data, note = read_zip_bytes(depot().store, module, version, name, IMAGE_MAX)
    if data is None:
        return _plain(note, 404)
    resp = Response(data, mimetype=kind)
    # A version's bytes never change once published: kept for a year.
    resp.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    resp.headers["Content-Security-Policy"] = IMAGE_CSP
    resp.headers["Content-Disposition"] = "inline"
    return resp


def point_images(html: Markup, module: str, version: str) -> Markup:
    """A kept README's marked images (``depot-file:PATH``) as URLs of :func:`zip_image`."""
    if f'="{ZIP_FILE_SCHEME}:' not in html:
        return html

    def url(match: re.Match[str]) -> str:
        target = url_for("portal.zip_image", module=module, version=version,
                         file=unquote(match[2]))
        return f'{match[1]}="{Markup.escape(target)}"'

    return Markup(_MARKED.sub(url, str(html)))
