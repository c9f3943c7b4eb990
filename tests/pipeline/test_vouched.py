"""A published version vouches for the stored members of its build list: they are served
by exact version while their own validations go on, so the request ends when its
version is published (issue 18, item 5: the hey request said "published; waiting for
dependencies" for hours, and with 55 big trees open a request's members of members took
longer than the hour of a corpus run)."""

from __future__ import annotations

from pathlib import Path

from app.models import RequestSource, VersionState
from app.pipeline.capture import get_version
from app.pipeline.inline import InlineDispatcher
from app.pipeline.requests import status, submit
from app.pipeline.stages import Pipeline
from app.resources import Services
from tests.conftest import go_client_env, make_app, run_go, services_on, start_server
from tests.fixtures.upstream import fixture_module, upstream_of, write_consumer

DEP = "depot.test/vouched/dep"
TOP = "depot.test/vouched/top"
# Stored the same way but in no published version's build list: nobody vouches for it.
LONE = "depot.test/vouched/lone"


class KeepingBack(InlineDispatcher):
    """The in-process queue, keeping back every job of some modules (their processing,
    and the rest of it after a capture: a crawl that reaches them later)."""

    def __init__(self, services: Services, later: set[str]) -> None:
        super().__init__(services)
        self.later = later

    def enqueue(self, stage: str, *args: str) -> None:
        if stage in ("process", "complete", "validate") and args[0] in self.later:
            return
        super().enqueue(stage, *args)


def test_a_request_ends_when_its_version_is_published_and_its_members_are_served(
    services: Services, tmp_path: Path
) -> None:
    modules = [fixture_module(DEP, "v1.0.0"), fixture_module(LONE, "v1.0.0"),
               fixture_module(TOP, "v1.0.0", {DEP: "v1.0.0"})]
    services = services_on(services, upstream_of(tmp_path / "upstream", modules))
    assert services.settings.on_miss == "404"  # only what Depot vouches for is served
    dispatcher = KeepingBack(services, later={DEP, LONE})
    pipeline = Pipeline(services, dispatcher)
    done = submit(services, dispatcher, TOP, "v1.0.0", RequestSource.api)
    dispatcher.drain(pipeline)
    with services.db.session() as session:
        assert get_version(session, TOP, "v1.0.0").state == VersionState.blocked

    # The member is stored (a `members` job), its own build list not yet worked out.
    pipeline.process(DEP, "v1.0.0", defer=True)
    with services.db.session() as session:
        pipeline.ensure_pending(session, LONE, "v1.0.0")
    pipeline.process(LONE, "v1.0.0", defer=True)
    dispatcher.drain(pipeline)
    with services.db.session() as session:
        assert get_version(session, TOP, "v1.0.0").state == VersionState.published
        assert get_version(session, DEP, "v1.0.0").state == VersionState.captured
    shown = status(services, done.request_id)
    assert shown is not None
    assert shown["state"] == "published" and shown["reason"] == ""
    assert {d["module"]: d["state"] for d in shown["dependencies"]}[DEP] != "published"

    app = make_app(services.settings)
    try:
        client = app.test_client()
        for kind in ("info", "mod", "zip"):
            assert client.get(f"/{DEP}/@v/v1.0.0.{kind}").status_code == 200, kind
            assert client.get(f"/{LONE}/@v/v1.0.0.{kind}").status_code == 404, kind
        # Also while its own build list is worked out (a `complete` job claims it
        # `processing`): the e2e consumer failed on a 404 in that moment.
        with services.db.session() as session:
            get_version(session, DEP, "v1.0.0").state = VersionState.processing
        assert client.get(f"/{DEP}/@v/v1.0.0.zip").status_code == 200
        with services.db.session() as session:
            get_version(session, DEP, "v1.0.0").state = VersionState.captured
        # Served by exact version, never listed: it is not published itself.
        assert "v1.0.0" not in client.get(f"/{DEP}/@v/list").get_data(as_text=True)
        # Its page says so, and by whom; a stored version nobody vouches for does not.
        page = client.get(f"/{DEP}@v1.0.0").get_data(as_text=True)
        assert 'id="served-with"' in page and f"{TOP}@v1.0.0" in page, page
        assert 'id="served-with"' not in client.get(f"/{LONE}@v1.0.0").get_data(as_text=True)
        # So does TOP's Dependencies tab: served, not "not in Depot".
        deps = client.get(f"/{TOP}@v1.0.0?tab=dependencies").get_data(as_text=True)
        assert DEP in deps and "served, validating" in deps and "not in Depot" not in deps
    finally:
        app.extensions["depot"].db.dispose()

    # The real go command, Depot its only GOPROXY, builds a consumer of TOP.
    server = start_server(services.settings, tmp_path, workers=1)
    try:
        home = tmp_path / "client"
        work = write_consumer(home / "work", {TOP: "v1.0.0"})
        env = go_client_env(home, server.url, "off")
        whole = run_go(["mod", "download", "all"], work, env)
        assert whole.returncode == 0, whole.stderr
        built = run_go(["build", "-o", str(home / "consumer"), "."], work, env)
        assert built.returncode == 0, built.stderr
    finally:
        server.stop()
