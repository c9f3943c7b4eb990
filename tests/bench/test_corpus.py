"""The corpus benchmark's bookkeeping: a corpus too big for one sitting is run in slices
(--skip) and reported as one (--merge); what it prints is fit for a committed page."""

from __future__ import annotations

from pathlib import Path

from bench.corpus import (
    Check,
    Outcome,
    Target,
    final_outcomes,
    further_broken,
    keep_so_far,
    load,
    next_slice,
    refused_member,
    run_requests,
    save,
    scrub,
)


def _outcome(label: str, state: str, timed_out: bool = False) -> Outcome:
    module, version = label.split("@")
    return Outcome(Target(module, version, "g"), state=state, timed_out=timed_out,
                   checks={"depot": Check(ok=state == "published", step="go get",
                                          broken={"m/p": "gone"})})


def test_a_saved_run_loads_back_as_it_was(tmp_path: Path) -> None:
    saved = [_outcome("a.test/m@v1.0.0", "published"), _outcome("a.test/n@v1.0.0", "rejected")]
    save(str(tmp_path / "run.json"), saved)
    assert load(str(tmp_path / "run.json")) == saved


def test_a_later_final_outcome_replaces_a_timeout_but_not_the_other_way(tmp_path: Path
                                                                        ) -> None:
    save(str(tmp_path / "1.json"), [_outcome("a.test/m@v1.0.0", "validating", True),
                                    _outcome("a.test/n@v1.0.0", "published")])
    save(str(tmp_path / "2.json"), [_outcome("a.test/m@v1.0.0", "published"),
                                    _outcome("a.test/n@v1.0.0", "validating", True)])
    found = final_outcomes([str(tmp_path / "1.json"), str(tmp_path / "2.json")])
    assert found["a.test/m@v1.0.0"].state == "published"
    assert found["a.test/n@v1.0.0"].state == "published"
    assert not any(o.timed_out for o in found.values())


def test_printed_reasons_hold_no_ports_or_temp_dirs() -> None:
    text = ("go: reading http://127.0.0.1:37693/x/@v/v1.info: 403\n"
            "open file:///tmp/depot-bench-corpus-k2/data/store/x/@v/list")
    out = scrub(text)
    assert "37693" not in out and "/tmp/" not in out and "\n" not in out
    assert "x/@v/v1.info: 403" in out
    fallback = scrub("open /tmp/depot-bench-corpus-k2/check-7-depot+upstream/go.mod: x")
    assert fallback == "open …/check-depot+upstream/go.mod: x"


def test_a_version_published_before_its_tree_counts_as_published_and_says_so() -> None:
    o = _outcome("a.test/m@v1.0.0", "validating", timed_out=True)
    assert o.category == "timed out"
    o.root_published = True
    assert o.category == "published, tree still on its way"


def test_a_next_slice_asks_for_the_rest_of_the_same_selection() -> None:
    """The 2026-12-03 second slice skipped before selecting and so took 300 new versions
    (29 beyond the first slice's 300) instead of the 259 the first one had left."""
    corpus = [Target(f"a.test/{g}{i}", "v1.0.0", g) for g in "xy" for i in range(4)]
    first = next_slice(corpus, None, 4, True, {})
    assert [t.label for t in first] == ["a.test/x0@v1.0.0", "a.test/y0@v1.0.0",
                                        "a.test/x1@v1.0.0", "a.test/y1@v1.0.0"]
    seen = {"a.test/x0@v1.0.0": _outcome("a.test/x0@v1.0.0", "published"),
            "a.test/y0@v1.0.0": _outcome("a.test/y0@v1.0.0", "validating", True)}
    rest = next_slice(corpus, None, 4, True, seen)
    assert [t.label for t in rest] == ["a.test/y0@v1.0.0", "a.test/x1@v1.0.0",
                                       "a.test/y1@v1.0.0"]


class _FakeApi:
    """Depot's request API as the benchmark sees it: each request ends at its first poll."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def submit(self, t: Target) -> dict:
        self.asked.append(t.label)
        return {"id": len(self.asked), "state": "queued"}

    def status(self, request_id: int) -> dict:
        return {"id": request_id, "state": "rejected", "reason": "license"}


def test_every_ended_request_is_kept_on_disk_as_it_ends(tmp_path: Path) -> None:
    """A run stopped by hand (or by a killed Depot) kept nothing until its end."""
    path = str(tmp_path / "run.json")
    sizes: list[int] = []

    def keep(done: list[Outcome]) -> None:
        keep_so_far(path, done)
        sizes.append(len(load(path)))

    targets = [Target(f"a.test/m{i}", "v1.0.0", "g") for i in range(3)]
    run_requests(_FakeApi(), targets, 2, 60, on_done=keep)  # type: ignore[arg-type]
    assert sizes[-1] == 3 and sizes == sorted(sizes)
    assert [o.state for o in load(path)] == ["rejected"] * 3
    assert not list(tmp_path.glob("*.part"))


def test_a_member_depot_holds_is_told_apart_from_a_depot_bug() -> None:
    """filippo.io/age@v1.3.2's consumers read c2sp.org/CCTV/age, which has no license
    file: Depot answers 410 for it, as age's mark says, and the upstream serves it."""
    output = ("go: c2sp.org/CCTV/age@v0.0.0-20260829155415-4448f2097b2d: reading "
              "http://127.0.0.1:1/c2sp.org/%21c%21c%21t%21v/age/@v/"
              "v0.0.0-20260829155415-4448f2097b2d.info: 410 GONE\n"
              "\tserver response: c2sp.org/CCTV/age@v0.0.0-20260829155415-4448f2097b2d: "
              "refused: license not redistributable: no license file")
    assert refused_member(output) == ("c2sp.org/CCTV/age@v0.0.0-20260829155415-4448f2097b2d"
                                      " — license not redistributable: no license file")
    assert refused_member("go: example.test/m@v1.0.0: reading …: 404 Not Found") == ""


def test_a_depot_leg_that_got_further_than_the_upstream_is_no_depot_bug() -> None:
    """k8s.io/client-go@v11.0.0+incompatible: the upstream leg stops at `go list M/...`
    (imdario/mergo's latest declares dario.cat/mergo), Depot's at `go list -deps`:
    its broken packages compare with nothing. docker/distribution v2.8.3: Depot stopped at
    `go get`, the upstream only at `go list -deps`: to look at."""
    deps = Check(ok=False, step="go list -deps", broken={"k8s.io/api/batch/v2alpha1": "gone"})
    assert not further_broken(deps, Check(ok=False, step="go list M/..."))
    assert further_broken(Check(ok=False, step="go get"), deps)
    assert further_broken(deps, Check(ok=False, step="go list -deps", broken={"x/y": "gone"}))
    assert not further_broken(deps, Check(ok=False, step="go list -deps", broken=dict(deps.broken)))
    install = Check(ok=False, step="go install example.test/cmd@v1.0.0")
    assert further_broken(deps, install) and not further_broken(install, deps)
