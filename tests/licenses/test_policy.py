"""evaluate(), the allow-list and the reasons: the gate fails closed."""

from __future__ import annotations

import pytest

from app.licenses import (
    REDISTRIBUTABLE,
    FileLicense,
    Verdict,
    allow_list_from_env,
    evaluate,
)
from app.licenses.detect import canonical_id
from app.licenses.policy import ENV_VAR, REASON_PREFIX, is_allowed
from tests.licenses.conftest import SAMPLES, Sample

NOT_LICENSES = [s for s in SAMPLES if not s.spdx]


@pytest.fixture
def text(samples: dict[str, Sample]):
    return lambda name: samples[name].data


def test_no_license_file_is_not_redistributable() -> None:
    verdict = evaluate({}, REDISTRIBUTABLE)
    assert verdict == Verdict([], False, "license not redistributable: no license file")


def test_a_single_allowed_license_is_redistributable(text) -> None:
    verdict = evaluate({"LICENSE": text("testify__LICENSE")}, REDISTRIBUTABLE)
    assert verdict == Verdict([FileLicense("LICENSE", ["MIT"])], True, "")


@pytest.mark.parametrize("sample", NOT_LICENSES, ids=lambda s: s.name)
def test_a_text_that_is_not_a_license_blocks(sample: Sample) -> None:
    verdict = evaluate({"LICENSE": sample.data}, REDISTRIBUTABLE)
    assert not verdict.redistributable
    assert verdict.reason == "license not redistributable: unknown license in LICENSE"
    assert verdict.licenses == [FileLicense("LICENSE", [])]


def test_an_unknown_file_blocks_even_beside_allowed_ones(text) -> None:
    """github.com/libp2p/go-libp2p-pubsub: its LICENSE is only a note about the other two."""
    files = {
        "LICENSE": text("pubsub__LICENSE"),
        "LICENSE-APACHE": text("pubsub__LICENSE-APACHE"),
        "LICENSE-MIT": text("pubsub__LICENSE-MIT"),
    }
    verdict = evaluate(files, REDISTRIBUTABLE)
    assert not verdict.redistributable
    assert verdict.reason == "license not redistributable: unknown license in LICENSE"
    assert verdict.licenses == [
        FileLicense("LICENSE", []),
        FileLicense("LICENSE-APACHE", ["Apache-2.0"]),
        FileLicense("LICENSE-MIT", ["MIT"]),
    ]


def test_a_license_off_the_allow_list_is_named(text) -> None:
    allow = allow_list_from_env("MIT,Apache-2.0,BSD-3-Clause")
    verdict = evaluate({"COPYING": text("go-ethereum__COPYING")}, allow)
    assert not verdict.redistributable
    assert verdict.reason == "license not redistributable: GPL-3.0-only is not on the allow-list"
    assert verdict.licenses == [FileLicense("COPYING", ["GPL-3.0-only"])]


def test_copyleft_is_redistributable_by_default(text) -> None:
    for name in ("go-ethereum__COPYING", "chardet__LICENSE", "madmin-go__LICENSE"):
        assert evaluate({"LICENSE": text(name)}, REDISTRIBUTABLE).redistributable, name


def test_dual_license_files_each_allowed(text) -> None:
    files = {
        "LICENSE-APACHE": text("pubsub__LICENSE-APACHE"),
        "LICENSE-MIT": text("pubsub__LICENSE-MIT"),
    }
    assert evaluate(files, REDISTRIBUTABLE).redistributable
    only_mit = evaluate(files, frozenset({"MIT"}))
    assert only_mit.reason == "license not redistributable: Apache-2.0 is not on the allow-list"


def test_two_licenses_in_one_file_must_both_be_allowed(text) -> None:
    yaml_v3 = {"LICENSE": text("yaml-v3__LICENSE")}
    ok = evaluate(yaml_v3, REDISTRIBUTABLE)
    assert ok.redistributable and ok.licenses == [FileLicense("LICENSE", ["MIT", "Apache-2.0"])]
    assert evaluate(yaml_v3, frozenset({"MIT", "Apache-2.0"})).redistributable
    blocked = evaluate(yaml_v3, frozenset({"MIT"}))
    assert blocked.reason == "license not redistributable: Apache-2.0 is not on the allow-list"


def test_every_blocking_cause_is_named_once(text) -> None:
    files = {
        "COPYING": text("go-ethereum__COPYING"),
        "COPYING.LESSER": text("go-ethereum__COPYING.LESSER"),
        "LICENSE": text("freetype__LICENSE"),
        "NOTICE": text("madmin-go__NOTICE"),
        "LICENSE.md": text("unipdf__LICENSE.md"),
        "LICENSE-GPL": text("snapd__COPYING"),
    }
    verdict = evaluate(files, frozenset({"MIT"}))
    assert verdict.reason == (
        "license not redistributable: unknown license in LICENSE, LICENSE.md, NOTICE; "
        "GPL-3.0-only, LGPL-3.0-only are not on the allow-list"
    )
    assert [f.name for f in verdict.licenses] == sorted(files)


def test_reasons_always_start_with_the_prefix(text) -> None:
    cases = [
        {},
        {"LICENSE": b""},
        {"LICENSE": text("terraform__LICENSE")},
        {"LICENSE": text("go-ethereum__COPYING")},
    ]
    for files in cases:
        verdict = evaluate(files, frozenset({"MIT"}))
        assert not verdict.redistributable
        assert verdict.reason.startswith(REASON_PREFIX)
        assert REASON_PREFIX == "license not redistributable: "


def test_allow_list_from_env() -> None:
    assert allow_list_from_env(None) is REDISTRIBUTABLE
    assert allow_list_from_env("") is REDISTRIBUTABLE
    assert allow_list_from_env(" , ,") is REDISTRIBUTABLE
    assert allow_list_from_env("MIT, Apache-2.0 ,") == frozenset({"MIT", "Apache-2.0"})
    assert allow_list_from_env("GPL-3.0,LGPL-2.1+") == frozenset(
        {"GPL-3.0-only", "LGPL-2.1-or-later"}
    )


def test_allow_list_from_the_environment_variable(monkeypatch, text) -> None:
    import os

    monkeypatch.setenv(ENV_VAR, "MIT")
    allow = allow_list_from_env(os.environ.get(ENV_VAR))
    assert evaluate({"LICENSE": text("testify__LICENSE")}, allow).redistributable
    assert not evaluate({"LICENSE": text("cobra__LICENSE.txt")}, allow).redistributable


def test_gnu_only_and_or_later_are_one_family_on_the_allow_list() -> None:
    assert is_allowed("GPL-3.0-only", frozenset({"GPL-3.0-or-later"}))
    assert is_allowed("GPL-3.0-or-later", frozenset({"GPL-3.0-only"}))
    assert is_allowed("GPL-3.0", frozenset({"GPL-3.0-only"}))
    assert not is_allowed("GPL-2.0-only", frozenset({"GPL-3.0-only"}))
    assert not is_allowed("MIT-0", frozenset({"MIT"}))
    assert not is_allowed("LGPL-3.0-only", frozenset({"GPL-3.0-only"}))


def test_the_default_allow_list() -> None:
    assert all(canonical_id(i) == i for i in REDISTRIBUTABLE)
    for blocked in ("BUSL-1.1", "SSPL-1.0", "Elastic-2.0", "CC-BY-NC-4.0", "JSON"):
        assert not is_allowed(blocked, REDISTRIBUTABLE), blocked
    labeled = {i for s in SAMPLES for i in s.spdx}
    assert {i for i in labeled if not is_allowed(i, REDISTRIBUTABLE)} == {"BUSL-1.1"}
