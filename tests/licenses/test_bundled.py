"""License files that carry the notices of bundled files, and the grants that are no license.

Issue 18: github.com/goreleaser/goreleaser@v0.113.0 could not be served because its
dependency github.com/apache/thrift@v0.12.0 was held: its LICENSE is the Apache-2.0
text followed by the notices of bundled third-party files, one of them an FSF
all-permissive notice the detector names FSFAP-no-warranty-disclaimer, which the
allow-list lacked. A file is judged by its own license plus every bundled one the
detector recognises; permissive bundled notices pass, anything else still blocks,
and text the detector cannot read still makes the file unknown.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.licenses import REDISTRIBUTABLE, FileLicense, allow_list_from_env, classify, evaluate
from app.licenses.categories import PERMISSIVE_KINDS, category
from app.licenses.detect import GRANTS
from tests.licenses.conftest import DATA

HERE = Path(__file__).resolve().parent / "data"

# Real license files of the corpus (bench/licenses.py), unchanged: source and sha256.
REAL = {
    "thrift-v0.12.0__LICENSE": (
        "github.com/apache/thrift@v0.12.0 LICENSE",
        "23df881cec3192d1f4474633c14eb2ec30a45b84f8daeb82b9de5d2bd3ac8218",
    ),
    "xgb__LICENSE": (
        "github.com/BurntSushi/xgb@v0.0.0-20160522181843-27f122750802 LICENSE",
        "2566d7f8d69e655b718d344d740ffde59543e6a337abed114b6fbaf6ec4e27f3",
    ),
}

# The Apache-2.0 text (with its appendix) from the labeled set.
APACHE = (DATA / "logr__LICENSE").read_text()

RULE = "\n--------------------------------------------------\n"

# Written for these tests, in the shape of thrift's LICENSE: a header, then one
# notice per bundled file.
FSF_NOTICE = RULE + """SOFTWARE DISTRIBUTED WITH THIS PROJECT:

For the m4/ax_example.m4 component:

#   Copyright (c) 2011 Example Author <author@example.org>
#
#   Copying and distribution of this file, with or without
#   modification, are permitted in any medium without royalty provided
#   the copyright notice and this notice are preserved.
"""

# The JSON license: MIT plus "Good, not Evil", which Depot does not allow.
JSON_NOTICE = RULE + """For lib/json/parse.js:

Copyright (c) 2002 Example Author

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

The Software shall be used for Good, not Evil.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""

# Terms no detector knows, long enough to matter (about a third of the file).
CUSTOM_TERMS = RULE + "For the files in vendor/acme/:\n\n" + (
    "These files are the property of Acme Corporation. You may not copy, modify or "
    "distribute them without a written agreement with Acme Corporation, and you may "
    "use them only together with Acme products. "
) * 12

# The additional patent grant appended to xgb's BSD text, alone.
PATENT_GRANT_ONLY = "\n".join(
    line.removeprefix("//").strip()
    for line in (HERE / "xgb__LICENSE").read_text().splitlines()[28:]
)


def real(name: str) -> bytes:
    return (HERE / name).read_bytes()


@pytest.mark.parametrize("name", sorted(REAL))
def test_the_real_files_are_unchanged(name: str) -> None:
    assert hashlib.sha256(real(name)).hexdigest() == REAL[name][1], f"{name} was edited"
    assert {p.name for p in HERE.iterdir()} == set(REAL)


def test_thrift_v0_12_0_is_apache_and_served() -> None:
    """The regression of issue 18, on the real file."""
    found = classify(real("thrift-v0.12.0__LICENSE"))
    assert [m.spdx_id for m in found] == ["Apache-2.0", "FSFAP-no-warranty-disclaimer"]
    assert found[0].start == 0, "the file's own license comes first"
    verdict = evaluate({"LICENSE": real("thrift-v0.12.0__LICENSE")}, REDISTRIBUTABLE)
    assert verdict.redistributable, verdict.reason
    assert verdict.licenses == [
        FileLicense("LICENSE", ["Apache-2.0", "FSFAP-no-warranty-disclaimer"])
    ]


def test_a_permissive_bundled_notice_passes() -> None:
    text = (APACHE + FSF_NOTICE).encode()
    assert [m.spdx_id for m in classify(text)] == ["Apache-2.0", "FSFAP-no-warranty-disclaimer"]
    assert evaluate({"LICENSE": text}, REDISTRIBUTABLE).redistributable


def test_a_bundled_license_off_the_list_still_blocks() -> None:
    text = (APACHE + FSF_NOTICE + JSON_NOTICE).encode()
    assert [m.spdx_id for m in classify(text)] == [
        "Apache-2.0", "FSFAP-no-warranty-disclaimer", "JSON",
    ]  # fmt: skip
    verdict = evaluate({"LICENSE": text}, REDISTRIBUTABLE)
    assert not verdict.redistributable
    assert verdict.reason == "license not redistributable: JSON is not on the allow-list"


def test_unrecognised_bundled_terms_keep_the_file_unknown() -> None:
    text = (APACHE + CUSTOM_TERMS).encode()
    assert classify(text) == []
    verdict = evaluate({"LICENSE": text}, REDISTRIBUTABLE)
    assert verdict.reason == "license not redistributable: unknown license in LICENSE"


def test_a_narrow_allow_list_must_name_the_bundled_licenses_too() -> None:
    """An approved-only proxy decides on every license it ships, bundled ones included."""
    narrow = allow_list_from_env("MIT,Apache-2.0,BSD-3-Clause")
    verdict = evaluate({"LICENSE": real("thrift-v0.12.0__LICENSE")}, narrow)
    assert verdict.reason == (
        "license not redistributable: FSFAP-no-warranty-disclaimer is not on the allow-list"
    )
    wider = allow_list_from_env("MIT,Apache-2.0,BSD-3-Clause,FSFAP-no-warranty-disclaimer")
    assert evaluate({"LICENSE": real("thrift-v0.12.0__LICENSE")}, wider).redistributable


@pytest.mark.parametrize(
    "spdx_id",
    ["FSFAP", "FSFAP-no-warranty-disclaimer", "FSFUL", "FSFULLR", "FSFULLRWD", "HPND",
     "SSLeay-standalone"],
)  # fmt: skip
def test_bundled_file_notices_are_permissive_and_allowed(spdx_id: str) -> None:
    """The notices seen in the corpus: thrift (FSFAP), apache/arrow (HPND), tmthrgd/chacha20
    (SSLeay, the other half of the OpenSSL license that is already allowed)."""
    assert spdx_id in REDISTRIBUTABLE
    assert category(spdx_id) in PERMISSIVE_KINDS


def test_a_patent_grant_beside_a_license_is_not_reported() -> None:
    """github.com/BurntSushi/xgb: BSD-3-Clause plus Google's patent grant."""
    assert "GooglePatentClause" in GRANTS
    assert [m.spdx_id for m in classify(real("xgb__LICENSE"))] == ["BSD-3-Clause"]
    assert evaluate({"LICENSE": real("xgb__LICENSE")}, REDISTRIBUTABLE).redistributable


def test_a_patent_grant_alone_is_no_license() -> None:
    assert "patent license" in PATENT_GRANT_ONLY
    assert classify(PATENT_GRANT_ONLY) == []
    verdict = evaluate({"LICENSE": PATENT_GRANT_ONLY.encode()}, REDISTRIBUTABLE)
    assert verdict.reason == "license not redistributable: unknown license in LICENSE"
