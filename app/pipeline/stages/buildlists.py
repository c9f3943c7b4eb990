"""Build lists: what the go command selects for a version, recorded with a row for
each member, and the ``tidy`` stage that works one out again, tidied, for a version
someone asks for after it was stored as another's member."""

from __future__ import annotations

import logging

from sqlalchemy import select

from app.fetch import handoff
from app.fetch.errors import FetchError
from app.fetch.relay import Relay
from app.models import ArtifactKind, BuildListMember, Module, ModuleVersion, VersionState
from app.pipeline.buildlist import BuildList, build_list, downloaded_go_mods
from app.pipeline.capture import Outcome, capture_graph_mods, get_version, recorded_version
from app.pipeline.stages.base import (
    SMALL_BUILD_LIST,
    STORED,
    PipelineBase,
    TransientError,
    awaited_versions,
)

log = logging.getLogger("depot.pipeline")


class BuildLists(PipelineBase):
    """Build lists, and the ``tidy`` stage."""

    def _build_list(self, module: str, version: str, tidy: bool) -> BuildList:
        """The build list, tidied (buildlist.build_list) for a version someone waits for.

        A crawled member gets the `go get` graph: tidying unpacks every zip of the graph
        in the run's module cache, and a corpus slice's `complete` jobs went from 0.7 to
        9.4 s each with it, so gin's tree, 29 members, waited 20 minutes (2026-12-04)."""
        # What Depot holds, then what another go command of the host fetched (the relay),
        # then the upstream.
        local = self.services.store.goproxy_url()
        sources = [local] if local else []
        with self._workdir("buildlist-") as workdir:
            try:
                with Relay(self.settings) as relay:
                    members = build_list(
                        self.settings, workdir, module, version,
                        ",".join([*sources, relay.goproxy()]),
                        self.known_sums(module, version), tidy=tidy)
            except FetchError as exc:
                if "checksum" not in exc.reason.lower():
                    raise
                # A handed-off file the go command refused, perhaps: the upstream decides.
                log.warning("%s@%s: build list failed (%s); again without handed-off files",
                            module, version, exc.reason)
                handoff.clear(self.settings)
                workdir = workdir / "again"  # a module cache of its own
                workdir.mkdir()
                members = build_list(
                    self.settings, workdir, module, version,
                    ",".join([*sources, self.settings.upstream]),
                    self.known_sums(module, version), tidy=tidy)
            # Each member's process job takes its files from here instead of the upstream.
            others = members.without(module)
            handoff.offer(self.settings, workdir / "modcache",
                          self._unstored([*others.selected, *others.also]))
            # The go.mod files read but not selected (an unpruned graph reads every
            # version any member requires): a consumer through Depot alone reads them
            # too. Selected members are fetched whole by their own process jobs.
            selected = set(members.selected) | set(members.also) | {(module, version)}
            read = downloaded_go_mods(workdir)
            added = capture_graph_mods(
                self.services, {k: p for k, p in read.items() if k not in selected})
            if added:
                log.info("%s@%s: kept %d go.mod files graph loading reads", module, version,
                         added)
        return members.without(module)

    def _unstored(self, keys: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The versions among ``keys`` whose bytes Depot does not hold yet."""
        held = set()
        with self.services.db.session() as session:
            for path, ver, state in session.execute(
                select(Module.path, ModuleVersion.version, ModuleVersion.state)
                .join(ModuleVersion, ModuleVersion.module_id == Module.id)
                .where(Module.path.in_(sorted({p for p, _ in keys})))
            ):
                if state in STORED:
                    held.add((path, ver))
        return [k for k in keys if k not in held]

    def known_sums(self, module: str, version: str) -> list[str]:
        """go.sum lines of the versions Depot holds in module@version's build list.

        Handing these to the toolchain spares checksum-database lookups for bytes
        Depot verified when it captured them.
        """
        lines = []
        with self.services.db.session() as session:
            row = get_version(session, module, version)
            keys = {(module, version)}
            if row is not None:
                keys |= {(m.path, m.member_version) for m in row.build_list}
            for path, ver in sorted(keys):
                held = get_version(session, path, ver)
                if held is None or held.state not in STORED:
                    continue
                for art in held.artifacts:
                    if art.kind == ArtifactKind.zip:
                        lines.append(f"{path} {ver} {art.h1}")
                    elif art.kind == ArtifactKind.mod:
                        lines.append(f"{path} {ver}/go.mod {art.h1}")
        return lines

    def retidy(self, module: str, version: str) -> Outcome:
        """A ``tidy`` job: someone asked for a version published as someone else's
        member, whose build list is the `go get` graph; tidy it and fetch what it adds."""
        with self.services.db.session() as session:
            row = get_version(session, module, version)
            due = (row is not None and row.state == VersionState.published
                   and not row.build_list_tidied)
        if not due:
            return Outcome(module, version, "skipped", "build list tidied, or not published")
        self.tidy_build_list(module, version)
        return Outcome(module, version, "published")

    def tidy_build_list(self, module: str, version: str) -> None:
        """Work out again, tidied, the build list of a version first stored as someone
        else's member (the `go get` graph) and asked for now; members it adds are queued
        and its validation waits for them as for any member. Its consumers' `go mod
        tidy` through Depot alone needs them (viper v1.19.0: gopkg.in/check.v1)."""
        try:
            members = self._build_list(module, version, tidy=True)
        except FetchError as exc:
            if not exc.permanent:
                raise TransientError(exc.reason) from exc
            log.info("%s@%s: build list kept untidied (%s)", module, version, exc.reason)
            with self.services.db.session() as session:  # tried once: not on every go
                recorded_version(session, module, version).build_list_tidied = True
            return
        self._record_build_list(module, version, members, tidied=True)

    def _record_build_list(self, module: str, version: str, members: BuildList,
                           tidied: bool = False) -> None:
        to_process = []
        with self.services.db.session() as session:
            row = recorded_version(session, module, version)
            row.build_list_tidied = tidied
            session.query(BuildListMember).filter_by(version_id=row.id).delete()
            named = [(p, v, True) for p, v in members.selected]
            named += [(p, v, False) for p, v in members.also]
            for path, ver, selected in named:
                session.add(BuildListMember(version_id=row.id, path=path, member_version=ver,
                                            selected=selected))
                _, needs_work = self.ensure_pending(session, path, ver)
                if needs_work:
                    to_process.append((path, ver))
            awaited = bool(awaited_versions(session, [row.id]))
        lanes = getattr(self.dispatcher, "in_lane", None)
        for_members = getattr(self.dispatcher, "for_members", None)
        target = self.dispatcher
        if lanes is not None and len(to_process) > SMALL_BUILD_LIST:
            # Someone waits for this version: its members are stored ahead of every
            # deeper crawl, their own trees after. With 70 big requests open at once, 40
            # were still blocked on members after 70 minutes while the workers crawled
            # and validated members of members (corpus run of 2026-12-03).
            target = for_members() if awaited and for_members is not None else lanes(True)
        for path, ver in to_process:
            target.enqueue("process", path, ver)
