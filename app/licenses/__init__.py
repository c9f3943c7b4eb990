"""License detection and the redistributable policy (the license gate); fails closed.

``classify`` turns a license file into SPDX ids (or [] when it cannot tell);
``evaluate`` decides whether a version's module-root license files let Depot
serve it. Nothing here touches the database, routes or jobs.
"""

from app.licenses.detect import Match, classify
from app.licenses.policy import (
    REDISTRIBUTABLE,
    FileLicense,
    Verdict,
    allow_list_from_env,
    evaluate,
)

__all__ = [
    "REDISTRIBUTABLE",
    "FileLicense",
    "Match",
    "Verdict",
    "allow_list_from_env",
    "classify",
    "evaluate",
]
