"""The category table: every id the detector may name has a kind, GNU families share one."""

from __future__ import annotations

import pytest

from app.licenses import REDISTRIBUTABLE
from app.licenses.categories import CATEGORIES, LABELS, category, strictest


@pytest.mark.parametrize(("spdx_id", "kind"), [
    ("MIT", "permissive"), ("Apache-2.0", "permissive"), ("BSD-3-Clause", "permissive"),
    ("CC0-1.0", "public-domain"), ("Unlicense", "public-domain"),
    ("LGPL-2.1-only", "weak-copyleft"), ("LGPL-3.0-or-later", "weak-copyleft"),
    ("MPL-2.0", "weak-copyleft"), ("EPL-2.0", "weak-copyleft"), ("CDDL-1.0", "weak-copyleft"),
    ("GPL-2.0-only", "strong-copyleft"), ("GPL-3.0-or-later", "strong-copyleft"),
    ("GPL-3.0", "strong-copyleft"),  # the deprecated bare id reads as -only
    ("AGPL-3.0-only", "network-copyleft"),
    ("BUSL-1.1", "other"), ("SSPL-1.0", "other"), ("Made-Up-1.0", "other"),
])
def test_category(spdx_id: str, kind: str):
    assert category(spdx_id) == kind


def test_every_redistributable_id_has_a_row_of_its_own():
    # The allow-list's licenses are the ones Depot serves: none may fall to "other".
    assert sorted(i for i in REDISTRIBUTABLE if category(i) == "other") == []


def test_labels_cover_every_kind():
    assert set(CATEGORIES.values()) <= set(LABELS)


def test_strictest():
    assert strictest([]) is None
    assert strictest(["permissive", "public-domain"]) == "permissive"
    assert strictest(["weak-copyleft", "network-copyleft", "strong-copyleft"]) == "network-copyleft"
    assert strictest(["network-copyleft", "other"]) == "other"
