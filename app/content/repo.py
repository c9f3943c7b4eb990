"""Where a module's source lives, guessed from its path, for README links and images.

A README's relative link (``docs/setup.md``, ``img/logo.png``) points into the
repository it was written in, not into Depot. For hosts whose URL layout is
known (GitHub, GitLab, Bitbucket) the link is rewritten to the file at the
version's tag (or commit for a pseudo-version); for other hosts it is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urljoin

from app.gomod import versions

_MAJOR = re.compile(r"^v[0-9]+$")
# A URL with a scheme, after the characters browsers ignore are taken out.
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*:")
_IGNORED = re.compile(r"[\x00-\x20\x7f]")

# host: (blob path, raw path) between the repository URL and the ref.
_LAYOUTS = {
    "github.com": ("blob", "raw"),
    "gitlab.com": ("-/blob", "-/raw"),
    "bitbucket.org": ("src", "raw"),
}


@dataclass(frozen=True)
class SourceRepo:
    """A repository URL, the module's folder in it and the ref of one version."""

    url: str  # https://github.com/owner/repo
    subdir: str  # "" or "sub/dir" (no slashes at either end)
    ref: str  # tag or commit
    blob_part: str
    raw_part: str

    def _base(self, part: str) -> str:
        base = f"{self.url}/{part}/{quote(self.ref, safe='/+')}/"
        return base + (self.subdir + "/" if self.subdir else "")

    def file_url(self, relative: str, raw: bool = False) -> str:
        """The URL of ``relative`` (as written in the README) at this version."""
        part = self.raw_part if raw else self.blob_part
        if relative.startswith("/"):  # repository-root relative, as the hosts read it
            base = f"{self.url}/{part}/{quote(self.ref, safe='/+')}/"
            relative = relative.lstrip("/")
        else:
            base = self._base(part)
        return urljoin(base, quote(relative, safe="/#?&=%:@!$'()*+,;~-._"))

    @property
    def home(self) -> str:
        return self.url


def source_repo(module: str, version: str) -> SourceRepo | None:
    """The repository of ``module`` at ``version`` when its host's layout is known."""
    parts = module.split("/")
    layout = _LAYOUTS.get(parts[0].lower())
    if layout is None or len(parts) < 3:
        return None
    url = "https://" + "/".join(parts[:3])
    rest = parts[3:]
    if rest and _MAJOR.match(rest[-1]):
        rest = rest[:-1]  # major-version suffix: usually a branch, not a folder
    subdir = "/".join(rest)
    if versions.is_pseudo(version):
        ref = versions.pseudo_rev(version)
    else:
        tag = version.removesuffix("+incompatible")
        ref = f"{subdir}/{tag}" if subdir else tag
    return SourceRepo(url, subdir, ref, *layout)


def is_absolute(url: str) -> bool:
    """Has a scheme or is protocol-relative, as a browser would parse it."""
    cleaned = _IGNORED.sub("", url)
    return bool(_SCHEME.match(cleaned)) or cleaned.startswith("//")


def rewrite(url: str, repo: SourceRepo | None, raw: bool) -> str | None:
    """A README URL made to work on Depot's page; None drops it.

    Fragments stay (in-page anchors); absolute URLs stay (the sanitizer then
    allows only http, https and mailto); relative ones go to the repository.
    """
    value = url.strip()
    if not value:
        return None
    if value.startswith("#"):
        return value
    if is_absolute(value):
        return value
    if repo is None:
        return None
    return repo.file_url(value, raw=raw)
