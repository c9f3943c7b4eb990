"""Per-path rules (DEPOT_PATH_RULES): modules under a rule are seen only by callers in
one of its groups (a token's `--group`, a signed-in person's groups claim) and by admins.
To everyone else they are as hidden as a private module is from an anonymous caller: the
GOPROXY and the pages answer 404, lists, counts and search leave them out, the in-memory
hit path does not hand them on, and a request for one is refused whether Depot holds it
or not."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask
from sqlalchemy import select

from app import audit, hidden
from app.auth import tokens
from app.auth.gate import GATE
from app.auth.roles import Role
from app.auth.visibility import HIDDEN, hidden_from
from app.config import Settings
from app.gomod import patterns
from app.models import AuditEvent
from app.search.documents import shown_counts
from app.services import signin
from tests.conftest import make_app

RULED = "depot.test/chain/a"  # requires chain/b, which requires chain/c
CHAIN_B = "depot.test/chain/b"
RULES = f"{RULED}=team-a,platform"
TOKENS = {
    "team": tokens.Caller("team", Role.READER, frozenset({"team-a"})),
    "other": tokens.Caller("other", Role.REQUESTER, frozenset({"team-b"})),
    "admin": tokens.Caller("admin", Role.ADMIN),
}


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer depot_{name:x<43}"}


@pytest.fixture
def ruled_app(catalog_app: Flask) -> Iterator[Flask]:
    settings = catalog_app.extensions["depot"].settings
    app = make_app(replace(settings, private="depot.test/chain", path_rules=RULES,
                           anonymous="public"))
    for name, caller in TOKENS.items():
        app.extensions[GATE].checked.put(f"depot_{name:x<43}", caller)
    yield app
    app.extensions["depot"].db.dispose()


def test_the_rule_s_groups_and_admins_read_a_ruled_module_and_nobody_else(
        ruled_app: Flask) -> None:
    client = ruled_app.test_client()
    for url in (f"/{RULED}/@v/v1.1.0.info", f"/{RULED}/@v/list", f"/{RULED}/@latest",
                f"/{RULED}@v1.1.0", f"/api/v1/modules/{RULED}/versions"):
        for name in ("team", "admin"):
            assert client.get(url, headers=bearer(name)).status_code == 200, (url, name)
        for headers in (bearer("other"), {}):
            denied = client.get(url, headers=headers)
            assert denied.status_code == 404 and HIDDEN in denied.get_data(as_text=True), url
    # The rest of the private modules: every token, as before.
    assert client.get(f"/{CHAIN_B}/@v/v1.0.0.info", headers=bearer("other")).status_code == 200


def test_the_in_memory_hit_path_keeps_to_the_rules(ruled_app: Flask) -> None:
    client = ruled_app.test_client()
    info = f"/{RULED}/@v/v1.1.0.info"
    for _ in range(3):  # the team's hits put the version in memory
        assert client.get(info, headers=bearer("team")).status_code == 200
    assert ruled_app.extensions["depot"].published.cached(RULED, "v1.1.0") is not None
    assert client.get(info, headers=bearer("other")).status_code == 404
    gate = ruled_app.extensions[GATE]
    assert not gate.trusts_to_read(bearer("other")["Authorization"], RULED)
    assert gate.trusts_to_read(bearer("other")["Authorization"], CHAIN_B)
    assert gate.trusts_to_read(bearer("team")["Authorization"], RULED)


def test_lists_counts_and_search_leave_a_ruled_module_out_for_others(ruled_app: Flask) -> None:
    client = ruled_app.test_client()
    for name, sees in (("team", True), ("admin", True), ("other", False)):
        used_by = client.get(f"/{CHAIN_B}@v1.0.0?tab=usedby", headers=bearer(name))
        assert (RULED in used_by.get_data(as_text=True)) == sees, name
        found = client.get("/api/v1/search?q=chain", headers=bearer(name)).get_json()
        assert (RULED in {h["path"] for h in found["results"]}) == sees, name
        count = client.get(f"/api/v1/modules/{CHAIN_B}", headers=bearer(name)).get_json()
        assert count["used_by"] == (1 if sees else 0), name
    # What the team saw is kept per audience: the next caller is not handed it.
    assert RULED not in client.get(f"/{CHAIN_B}@v1.0.0?tab=usedby",
                                   headers=bearer("other")).get_data(as_text=True)


def test_a_request_under_a_rule_is_refused_whether_depot_holds_it_or_not(
        ruled_app: Flask) -> None:
    client = ruled_app.test_client()
    answers = []
    for module in (RULED, f"{RULED}/never-heard-of"):
        resp = client.post("/api/v1/requests", json={"module": module, "version": "latest"},
                           headers=bearer("other"))
        answers.append((resp.status_code, resp.get_json()["error"].replace(module, "M")))
    assert answers[0] == answers[1] and answers[0][0] == 403, answers
    drift = client.post(f"/api/v1/modules/{RULED}@v1.1.0/drift-check", headers=bearer("other"))
    assert drift.status_code == 404
    check = client.post("/api/v1/check", data="module x\n", headers=bearer("other"))
    assert check.status_code == 403 and "DEPOT_PATH_RULES" in check.get_json()["error"]
    with ruled_app.extensions["depot"].db.session() as session:
        refused = session.scalars(select(AuditEvent.target).where(
            AuditEvent.action == audit.ACCESS_REFUSED, AuditEvent.actor == "other")).all()
    assert {RULED, f"{RULED}/never-heard-of", "POST /api/v1/check"} <= set(refused)


def test_who_sees_what() -> None:
    settings = Settings.from_env({"DEPOT_PRIVATE": "corp.test",
                                  "DEPOT_PATH_RULES": "corp.test/a/*=a;corp.test/hr=hr,admins"})
    assert hidden_from(settings, True, Role.ADMIN) == "corp.test,corp.test/a/*,corp.test/hr"
    assert hidden_from(settings, False, Role.READER) == "corp.test/a/*,corp.test/hr"
    assert hidden_from(settings, False, Role.READER, frozenset({"a"})) == "corp.test/hr"
    assert hidden_from(settings, False, Role.REQUESTER, frozenset({"admins", "a"})) == ""
    assert hidden_from(settings, False, Role.ADMIN) == ""


@pytest.mark.parametrize("value", ["corp.test", "corp.test=", "=a", "corp.test,x=a",
                                   "corp.test/[=a"])
def test_a_rule_that_cannot_be_read_stops_start_up(value: str) -> None:
    with pytest.raises(ValueError, match="DEPOT_PATH_RULES"):
        Settings.from_env({"DEPOT_PATH_RULES": value})


def test_a_signed_in_person_s_groups_count_as_a_token_s() -> None:
    kept: dict = {}
    signin.remember(kept, signin.SignedIn("ann@corp.test", "reader", 2e9, ("team-a",)))
    who = signin.signed_in(kept, now=1e9)
    assert who is not None and who.groups == ("team-a",)
    settings = Settings.from_env({"DEPOT_OIDC_GROUPS_CLAIM": "groups"})
    assert signin.groups_in({"groups": ["b", "a", 7, "a"]}, settings) == ("a", "b")
    assert signin.groups_in({"groups": "solo"}, settings) == ("solo",)


def test_a_search_document_counts_the_users_its_least_reader_may_see() -> None:
    """pub is used by another public module, a private one and one under a rule; priv
    (private) by a public one and one under a rule."""
    users = {"pub": {"pub2", "corp.test/x", "corp.test/a/y"}, "corp.test/p": {"pub2",
                                                                          "corp.test/a/y"}}

    def count() -> dict[str, int]:
        hide = hidden.current() or ""
        return {path: sum(not patterns.matches(hide, u) for u in who)
                for path, who in users.items()}

    settings = Settings.from_env({"DEPOT_PRIVATE": "corp.test",
                                  "DEPOT_PATH_RULES": "corp.test/a=a"})
    assert shown_counts(count, settings) == {"pub": 1, "corp.test/p": 1}
    assert shown_counts(count, Settings.from_env({})) == {"pub": 3, "corp.test/p": 2}
