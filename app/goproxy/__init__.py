"""The GOPROXY protocol, the checksum-database passthrough and the sidecar's zip
decisions (blueprints)."""

from app.goproxy.accel import bp as accel_bp
from app.goproxy.routes import bp as goproxy_bp
from app.goproxy.sumdb import bp as sumdb_bp

__all__ = ["accel_bp", "goproxy_bp", "sumdb_bp"]
