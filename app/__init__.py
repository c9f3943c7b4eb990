"""Depot: a central repository for Go modules.

``create_app()`` builds the Flask application from the environment (app/factory.py);
nothing here runs at import time, and nothing heavy is imported, so jobs, commands and
the web server's master process import only what they use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from app.config import Settings


def create_app(settings: Settings | None = None) -> Flask:
    """The Flask application (the factory `flask --app app`, gunicorn and granian call)."""
    from app.factory import build_app

    return build_app(settings)
