"""tests/skips.py: a missing service is a skip on a machine, a failure under CI=true."""

from __future__ import annotations

import pytest

from tests.skips import skip_or_fail

REASON = "Debian's redis-server comes with `make test` (DEPOT_TEST_REDIS_URL)"


@pytest.mark.parametrize("ci", [None, "", "false", "1", "TRUE"])
def test_a_missing_service_is_a_skip_outside_ci(monkeypatch: pytest.MonkeyPatch,
                                                ci: str | None) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception) as skipped:
        skip_or_fail(REASON)
    assert skipped.value.msg == REASON


def test_a_missing_service_fails_under_ci_with_the_same_message(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception) as failed:
        skip_or_fail(REASON)
    assert failed.value.msg == REASON
    assert not isinstance(failed.value, pytest.skip.Exception)
