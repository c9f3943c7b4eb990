"""The GOPROXY protocol and the checksum-database passthrough (blueprints)."""

from app.goproxy.routes import bp as goproxy_bp
from app.goproxy.sumdb import bp as sumdb_bp

__all__ = ["goproxy_bp", "sumdb_bp"]
