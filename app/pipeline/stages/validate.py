"""The validator stage: a clean-room consumer builds a version (with a batch of
companions whose build lists agree) through Depot alone, compares every hash with
what Depot stored, and publishes it."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit
from app.models import (
    Artifact,
    ArtifactKind,
    Module,
    ModuleVersion,
    Request,
    RequestSource,
    Requirement,
    VersionState,
)
from app.pipeline.buildlist import CleanRoom, clean_room
from app.pipeline.capture import Outcome, get_version, recorded_version, tagged_published
from app.pipeline.gocache import build_cache
from app.pipeline.lists import sync_list
from app.pipeline.modcache import validation_cache
from app.pipeline.stages.base import (
    PROCESSABLE,
    SMALL_BUILD_LIST,
    STORED,
    awaited_versions,
    now,
    some_of,
)
from app.pipeline.stages.buildlists import BuildLists
from app.store import StoreError

log = logging.getLogger("depot.pipeline")


class Validation(BuildLists):
    """The ``validate`` stage and publishing."""

    def validate(self, module: str, version: str) -> Outcome:
        """Build a clean-room consumer through Depot alone; promote on success.

        The version is validated together with up to ``validate_batch - 1`` other
        versions that are ready and whose build lists agree with its own (one go
        command start and one compile for all of them); when the batch fails, each
        member is validated alone, so a verdict is always about one version.
        """
        ready = self._sources("validate", (VersionState.staged, VersionState.blocked))
        with self.services.db.session() as session:
            row = get_version(session, module, version)
            state = None if row is None else row.state
        if state not in ready:
            if self.reclaim:
                self._resume_after_validate(module, version, state)
            return Outcome(module, version, "skipped", "not waiting for validation")
        with self.services.db.session() as session:
            row = recorded_version(session, module, version)
            if row.redistributable is False:
                return Outcome(module, version, "skipped", row.reason)
            untidied = not row.build_list_tidied
        if untidied and self._asked_for((module, version)):
            self.tidy_build_list(module, version)
        with self.services.db.session() as session:
            row = recorded_version(session, module, version)
            waiting, refused = self._readiness(session, row)
            asked = bool(waiting) and bool(awaited_versions(session, [row.id]))
            members = len(row.build_list)
        if refused:
            reason = "dependency refused: " + "; ".join(refused)
            self._finish(module, version, VersionState.validation_failed, reason)
            return Outcome(module, version, "validation_failed", reason)
        gave_up = self._stalled(waiting)
        if gave_up:
            # Transient, so not final for the version: a new request tries them again.
            reason = ("dependency failed: " + "; ".join(gave_up)
                      + "; request it again to retry")
            self._finish(module, version, VersionState.failed, reason)
            return Outcome(module, version, "failed", reason)
        if waiting:
            self._set(module, version, VersionState.blocked,
                      "blocked: needs " + some_of(waiting, of=members))
            if asked and len(waiting) <= SMALL_BUILD_LIST:
                self._hurry("process", waiting)
            return Outcome(module, version, "blocked", "needs " + ", ".join(waiting))
        if not self._claim(module, version, ready, VersionState.validating):
            return Outcome(module, version, "skipped", "validated elsewhere")
        batch = [(module, version)]
        if self.reclaim:
            batch += self._orphaned_companions(module, version)
        batch += self._companions(module, version, self.settings.validate_batch - len(batch))
        outcomes = self._validate_together(batch)
        return outcomes[(module, version)]

    def _resume_after_validate(self, module: str, version: str,
                               state: VersionState | None) -> None:
        """A retried validate job whose own version is settled: the dead run may have
        been killed after publishing it and before writing its @v/list, or before it
        concluded the companions it had claimed into its batch; finish both."""
        if state == VersionState.published:
            sync_list(self.services, module)
        orphans = self._orphaned_companions(module, version)
        if orphans:
            log.info("taking back %d companions of a dead batch of %s@%s", len(orphans),
                     module, version)
            self._validate_together(orphans)

    def _readiness(self, session: Session, row: ModuleVersion) -> tuple[list[str], list[str]]:
        """(build-list members still missing, members refused) of a version.

        Refused means no consumer can have the member from anywhere (not found upstream,
        a checksum mismatch, broken zip rules). A member Depot holds but does not serve
        (not redistributable, or its own validation failed) does not keep the version
        out: its files are in the store for the clean room, and the version is
        published with a mark naming what its consumers get elsewhere (requests.status).
        """
        waiting, refused = [], []
        for member in row.build_list:
            path, ver = member.path, member.member_version
            dep = get_version(session, path, ver)
            if dep is None:
                # Every member got a row when the build list was recorded: a missing one
                # was forgotten because the upstream does not have it (_forget).
                refused.append(f"{path}@{ver} (the upstream does not have it or withholds it)")
            elif dep.state == VersionState.rejected:
                refused.append(f"{path}@{ver} ({dep.reason})")
            elif dep.state not in STORED and dep.state != VersionState.validation_failed:
                waiting.append(f"{path}@{ver}")
        return waiting, refused

    def _stalled(self, waiting: list[str]) -> list[str]:
        """Members this version waits for that nothing is moving: a pending one with no
        job gets its processing queued (a blocked version queues what it lacks itself);
        a failed one whose retries ran out is returned, with its reason. Without a queue
        that can tell (the in-process one), nothing is stalled."""
        has_job = getattr(self.dispatcher, "has_job", None)
        if has_job is None:
            return []
        gave_up = []
        with self.services.db.session() as session:
            for key in waiting:
                path, _, ver = key.rpartition("@")
                dep = get_version(session, path, ver)
                if dep is None or dep.state not in PROCESSABLE or has_job("process", path, ver):
                    continue
                if dep.state == VersionState.pending:
                    self.dispatcher.enqueue("process", path, ver)
                else:
                    gave_up.append(f"{key} ({dep.reason or 'failed'})")
        return gave_up

    @staticmethod
    def _batch_mark(module: str, version: str) -> str:
        # The reason a companion carries while it is validated in someone else's batch,
        # so a retry of that batch's job can take it back if the worker died.
        return f"validating with {module}@{version}"

    def _companions(self, module: str, version: str, limit: int) -> list[tuple[str, str]]:
        """Claim up to ``limit`` ready versions whose build lists agree with this one's.

        A version someone waits for (an open request from a person or a client, not a
        seed list) takes companions from its own build list only: a small request's
        validation must not carry a crawl's versions along."""
        if limit <= 0:
            return []
        picked: list[tuple[str, str]] = []
        with self.services.db.session() as session:
            owner = recorded_version(session, module, version)
            selected = {m.path: m.member_version for m in owner.selected_members}
            selected[module] = version
            query = (
                select(ModuleVersion)
                .where(ModuleVersion.state.in_((VersionState.staged, VersionState.blocked)),
                       ModuleVersion.redistributable.is_(True), ModuleVersion.id != owner.id)
            )
            awaited = session.scalar(select(Request.id).where(
                Request.version_id == owner.id, Request.is_open.is_(True),
                Request.source != RequestSource.seed).limit(1))
            if awaited is not None:
                query = query.join(Module).where(Module.path.in_(
                    [m.path for m in owner.build_list]))
            candidates = session.scalars(
                query.order_by(ModuleVersion.id).limit(limit * 4)).all()
            for cand in candidates:
                if len(picked) >= limit:
                    break
                closure = {m.path: m.member_version for m in cand.selected_members}
                closure[cand.module.path] = cand.version
                if any(selected.get(p, v) != v for p, v in closure.items()):
                    continue  # one consumer cannot select two versions of a module
                waiting, refused = self._readiness(session, cand)
                if waiting or refused:
                    continue  # its own job will say why
                selected.update(closure)
                picked.append((cand.module.path, cand.version))
        mark = self._batch_mark(module, version)
        claimed = [
            (path, ver) for path, ver in picked
            if self._claim(path, ver, (VersionState.staged, VersionState.blocked),
                           VersionState.validating, reason=mark)
        ]
        withdraw = getattr(self.dispatcher, "withdraw", None)
        if withdraw:
            for path, ver in claimed:
                withdraw("validate", path, ver)  # spare a worker the job that would find it done
        return claimed

    def _orphaned_companions(self, module: str, version: str) -> list[tuple[str, str]]:
        """Versions a dead run of this job had taken into its batch."""
        with self.services.db.session() as session:
            return [
                (path, ver) for path, ver in session.execute(
                    select(Module.path, ModuleVersion.version)
                    .join(ModuleVersion, ModuleVersion.module_id == Module.id)
                    .where(ModuleVersion.state == VersionState.validating,
                           ModuleVersion.reason == self._batch_mark(module, version))
                ).all()
            ]

    def _validate_together(self, batch: list[tuple[str, str]]) -> dict[tuple[str, str], Outcome]:
        """Validate claimed versions in one consumer; alone, each, if that fails."""
        result = self._clean_room(batch)
        if len(batch) > 1:
            expected = self._expected_selection(batch)
            problem = (result.reason or result.note or self._compare_hashes(result.hashes)
                       or ("" if set(result.hashes) == expected
                           else "the batch selected other versions than its members alone"))
            if problem:
                log.info("batch of %d: %s; validating each alone", len(batch),
                         problem.splitlines()[0][:200])
                return {target: self._conclude(target, self._clean_room([target]))
                        for target in batch}
            # Every hash of the batch was compared above.
            return {target: self._conclude(target, result, compared=True) for target in batch}
        return {target: self._conclude(target, result) for target in batch}

    def _clean_room(self, targets: list[tuple[str, str]]) -> CleanRoom:
        staging = self.services.store.goproxy_url()
        if staging is None:  # every store the services open has one (S3's: its cache_dir)
            raise StoreError("the store has no GOPROXY URL for the go command")
        gocache = build_cache(self.settings)
        with self._workdir("validate-") as workdir, validation_cache(self.settings) as cache:
            return clean_room(self.settings, workdir, gocache, staging, targets, cache,
                              tidy_gate=self._asked_for(targets[0]))

    def _expected_selection(self, batch: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """What a consumer of the batch should select: its members and their build lists."""
        expected = set(batch)
        with self.services.db.session() as session:
            for path, ver in batch:
                row = recorded_version(session, path, ver)
                expected |= {(m.path, m.member_version) for m in row.selected_members}
        return expected

    def _conclude(
        self, target: tuple[str, str], result: CleanRoom, compared: bool = False
    ) -> Outcome:
        module, version = target
        reason = result.reason or ("" if compared else self._compare_hashes(result.hashes))
        if reason:
            self._finish(module, version, VersionState.validation_failed, reason)
            return Outcome(module, version, "validation_failed", reason)
        self.promote(module, version, note=result.note)
        return Outcome(module, version, "published")

    def _compare_hashes(self, hashes: dict[tuple[str, str], tuple[str, str]]) -> str:
        """Every hash the fresh cache computed must equal what Depot stored."""
        stored: dict[tuple[str, str], dict[ArtifactKind, str]] = {}
        with self.services.db.session() as session:
            rows = session.execute(
                select(Module.path, ModuleVersion.version, Artifact.kind, Artifact.h1)
                .join(ModuleVersion, ModuleVersion.module_id == Module.id)
                .join(Artifact, Artifact.version_id == ModuleVersion.id)
                .where(Module.path.in_(sorted({path for path, _ in hashes})))
            ).all()
        for path, ver, kind, h1 in rows:
            stored.setdefault((path, ver), {})[kind] = h1
        for (path, ver), (zip_h1, mod_h1) in sorted(hashes.items()):
            held = stored.get((path, ver), {})
            if held.get(ArtifactKind.zip) != zip_h1:
                return (f"hash mismatch for {path}@{ver}: Depot stored "
                        f"{held.get(ArtifactKind.zip)}, the clean room computed {zip_h1}")
            if mod_h1 and held.get(ArtifactKind.mod) != mod_h1:
                return (f"go.mod hash mismatch for {path}@{ver}: Depot stored "
                        f"{held.get(ArtifactKind.mod)}, the clean room computed {mod_h1}")
        return ""

    def promote(self, module: str, version: str, note: str = "") -> None:
        """Publish atomically: list, @latest, portal and index see it from now on."""
        with self.services.db.session() as session:
            row = recorded_version(session, module, version)
            row.state, row.reason, row.published_at = VersionState.published, "", now()
            row.validation_note = note
            self._close_requests(session, row)
            audit.add(session, audit.PUBLISHED, f"{module}@{version}", note)
            # Its search document changes, and so do the used-by counts of what it requires.
            required = session.scalars(
                select(Requirement.path).where(Requirement.version_id == row.id,
                                               Requirement.indirect.is_(False))
            ).all()
        self.services.store.set_list(module, tagged_published(self.services, module))
        self.dispatcher.enqueue("index", module, *sorted(set(required) - {module}))
        # Its README rendered once, here off every request's path (app/catalog/prepared).
        self.dispatcher.enqueue("render", module, version)
        # Its packages documented once, also off the request path (app/pkgdoc).
        self.dispatcher.enqueue("docs", module, version)
        self.notify("version_published", module=module, version=version)
        log.info("published %s@%s", module, version)
