"""The pure parts of the drift alarm: comparing fingerprints, and the once-per-interval
claim on a real Redis."""

from __future__ import annotations

from redis import Redis

from app.drift.check import CheckResult, FileDrift, Stored, compare, info_facts
from app.drift.cli import exit_code
from app.drift.sweep import CLOCK_KEY, NEXT_SWEEP_KEY, claim_sweep
from app.models import DriftOutcome


def test_compare_names_each_changed_file_with_both_hashes():
    stored = {"info": Stored("i1"), "mod": Stored("m1", "h1:m"), "zip": Stored("z1", "h1:z")}
    offered = {"info": Stored("i1"), "mod": Stored("m1", "h1:m"), "zip": Stored("z2", "h1:y")}
    assert compare(stored, offered) == [FileDrift("zip", "z1", "z2", "h1:z", "h1:y")]
    assert compare(stored, stored) == []
    # A file one side lacks is no evidence either way.
    assert compare(stored, {"zip": Stored("z1")}) == []


def test_info_counts_as_changed_only_when_its_facts_do():
    old = b'{"Version":"v1.0.0","Time":"2024-01-02T03:04:05Z"}'
    rewritten = b'{"Version":"v1.0.0","Time":"2024-01-02T03:04:05Z","Origin":{"VCS":"git"}}'
    moved = b'{"Version":"v1.0.0","Time":"2025-01-02T03:04:05Z"}'
    assert info_facts(old) == info_facts(rewritten) != info_facts(moved)
    assert info_facts(b"not json") == info_facts(b"[]") == ""
    mine = {"info": Stored("a", facts=info_facts(old))}
    assert compare(mine, {"info": Stored("b", facts=info_facts(rewritten))}) == []
    [changed] = compare(mine, {"info": Stored("c", facts=info_facts(moved))})
    assert (changed.kind, changed.upstream_sha256) == ("info", "c")


def test_cli_exit_status_says_drift_before_errors():
    def r(outcome: DriftOutcome) -> CheckResult:
        return CheckResult("m", "v1.0.0", outcome)

    assert exit_code([r(DriftOutcome.same)]) == 0
    assert exit_code([r(DriftOutcome.same), r(DriftOutcome.error)]) == 3
    assert exit_code([r(DriftOutcome.error), r(DriftOutcome.gone)]) == 1
    assert exit_code([r(DriftOutcome.differs)]) == 1
    assert exit_code([]) == 0


def test_one_sweep_per_interval_across_workers(redis_url: str):
    conn = Redis.from_url(redis_url)
    assert not claim_sweep(conn, 0)  # 0 turns the sweep off
    # The very first look anywhere starts the clock instead of sweeping at once.
    assert not claim_sweep(conn, 3600)
    assert conn.exists(CLOCK_KEY) and conn.ttl(NEXT_SWEEP_KEY) > 3500
    # Every other worker, every round, until the interval has run out: no.
    assert not any(claim_sweep(conn, 3600) for _ in range(20))
    conn.delete(NEXT_SWEEP_KEY)  # the interval ran out
    wins = [claim_sweep(conn, 3600) for _ in range(20)]
    assert wins.count(True) == 1 and wins[0]
