"""HTML pages: home, search, module pages with their tabs, Set Me Up, the
request-a-module form with its live status, and Check my go.mod (one blueprint, a
module per page).

Every page is plain server-rendered HTML that works without JavaScript; htmx
(static/) swaps parts of a page when it is there, asking for the fragment with
the ``HX-Request`` header (see htmx.py).
"""

from __future__ import annotations

from app.portal import (
    audit,
    check,
    drift,
    home,
    modules,
    requests,
    search,
    setup,
    signin,
    zip_images,
)
from app.portal.blueprint import bp

# The views register themselves on bp when imported.
VIEWS = (audit, check, drift, home, modules, requests, search, setup, signin, zip_images)
__all__ = ["VIEWS", "bp"]
