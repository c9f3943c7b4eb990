"""Version-to-version dependency diffs: on plain dictionaries, then on ingested versions."""

from __future__ import annotations

import pytest
from flask import Flask

from app.catalog.compare import CompareError, compare_versions, diff, pick, previous_version, sides
from app.catalog.modules import module_summary
from tests.fixtures.graph import APP, BASE, EXTRA, LIB, OLD, PING, PONG


def test_each_path_lands_in_one_list():
    old = {"a": ("v1.0.0", False), "b": ("v1.2.0", False), "c": ("v2.0.0", True),
           "d": ("v1.0.0", False), "e": ("v1.0.0", True)}
    new = {"a": ("v1.1.0", False), "b": ("v1.1.9", False), "c": ("v2.0.0", False),
           "f": ("v0.1.0", True), "e": ("v1.0.0", True)}
    d = diff(old, new)
    assert [c.path for c in d.added] == ["f"] and d.added[0].new_indirect
    assert [c.path for c in d.removed] == ["d"]
    assert [(c.path, c.old, c.new) for c in d.upgraded] == [("a", "v1.0.0", "v1.1.0")]
    assert [(c.path, c.old, c.new) for c in d.downgraded] == [("b", "v1.2.0", "v1.1.9")]
    assert [c.path for c in d.unchanged] == ["c", "e"]
    assert d.unchanged[0].old_indirect and not d.unchanged[0].new_indirect
    assert d.changed == 4


def test_semver_order_not_text_order():
    d = diff({"x": ("v1.9.0", False)}, {"x": ("v1.10.0", False)})
    assert [c.path for c in d.upgraded] == ["x"]
    pre = diff({"x": ("v1.0.0", False)}, {"x": ("v1.0.0-rc.1", False)})
    assert [c.path for c in pre.downgraded] == ["x"]


def test_previous_version():
    assert previous_version(["v1.0.0", "v1.2.0", "v1.10.0"], "v1.10.0") == "v1.2.0"
    assert previous_version(["v1.0.0"], "v1.0.0") is None


def test_graph_modules_diffs(graph_app: Flask):
    svc = graph_app.extensions["depot"]
    with svc.db.session() as session:
        module = module_summary(session, APP)
        assert module is not None
        assert pick(module, None, None, "v1.1.0") == ("v1.0.0", "v1.1.0")
        assert pick(module, None, "v1.0.0", "v1.2.0") == (None, "v1.0.0")
        with pytest.raises(CompareError) as bad:
            pick(module, "1.0", None, "v1.2.0")
        assert bad.value.status == 400 and "from" in bad.value.message
        with pytest.raises(CompareError) as unknown:
            pick(module, None, "v9.9.9", "v1.2.0")
        assert unknown.value.status == 404
        rows = sides(session, APP, ["v1.0.0", "v1.1.0", "v1.2.0"])
        first = compare_versions(session, APP, ("v1.0.0", rows["v1.0.0"].version_id),
                                 ("v1.1.0", rows["v1.1.0"].version_id))
        req = first.requirements
        assert [c.path for c in req.added] == [EXTRA, PING, PONG]
        assert [c.path for c in req.removed] == [OLD]
        assert [(c.path, c.old, c.new) for c in req.upgraded] == [
            (BASE, "v1.0.0", "v1.1.0"), (LIB, "v1.0.0", "v1.1.0")]
        assert req.downgraded == [] and len(req.unchanged) == 1  # leaf
        assert first.build_list is not None
        assert [c.path for c in first.build_list.removed] == [OLD]
        second = compare_versions(session, APP, ("v1.1.0", rows["v1.1.0"].version_id),
                                  ("v1.2.0", rows["v1.2.0"].version_id))
        assert [(c.path, c.old, c.new) for c in second.requirements.downgraded] == [
            (LIB, "v1.1.0", "v1.0.0")]
        assert [c.path for c in second.requirements.removed] == [PING, PONG]
        assert second.build_list is not None
        assert [c.path for c in second.build_list.downgraded] == [LIB]
