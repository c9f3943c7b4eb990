"""Exception types for the gomod package.

Every error subclasses ValueError so callers that only care about "bad input"
can catch one thing, while HTTP layers can map each subclass to a status code.
The message (``str(e)``) is always a single human-readable line.
"""

from __future__ import annotations

__all__ = [
    "GoModError",
    "GoModParseError",
    "GoSumParseError",
    "InvalidPath",
    "InvalidVersion",
    "NotAProxyPath",
    "ZipRuleError",
]


class GoModError(ValueError):
    """Base class: input violates a rule of the Go module system."""

    def __init__(self, reason: str) -> None:
        # Keep it on one line so messages are safe to put in logs and headers.
        text = str(reason).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
        super().__init__(text)

    @property
    def reason(self) -> str:
        """The one-line reason, same as ``str(self)``."""
        return str(self)


class InvalidPath(GoModError):
    """A module, import or file path is malformed."""


class InvalidVersion(GoModError):
    """A version string is malformed or does not fit the module path."""


class NotAProxyPath(GoModError):
    """A URL path that names no GOPROXY file: a miss (404), not a malformed request."""


class ZipRuleError(GoModError):
    """A module zip breaks the rules the go command enforces."""


class GoModParseError(GoModError):
    """A go.mod file could not be parsed by the go command."""


class GoSumParseError(GoModError):
    """A go.sum line is not ``module version[/go.mod] h1:hash``."""
